"""What changed between two recorded plans: who moved, who was newly placed or left out.

A patient's row in a plan is its first move out of the acute bed (the direct start, or v2
the interim entry) and, for a journey, its onward start; two plans are compared patient by
patient on those rows:

- ``moved``: placed in both, at another service or on another date (any row differs);
- ``newly_placed``: placed in B, and unplaced in A or not in A at all;
- ``left_out``: placed in A, unplaced in B (with B's reason);
- ``newly_listed_unplaced``: unplaced in B and in neither list of A (a new patient not placed);
- ``no_longer_listed``: in A (placed or not) and in neither list of B (discharged, or gone
  from the snapshot);
- ``unchanged``: placed in both at the same rows;
- ``objective_change``: B's objective minus A's.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from optimiser.history.store import History, Run


@dataclass(frozen=True)
class Move:
    patient_id: str
    before: tuple[tuple[str, str, str], ...]  # (stage, service_id, start_date) rows in A
    after: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class PlanDiff:
    first: Run
    second: Run
    moved: tuple[Move, ...]
    newly_placed: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...]
    left_out: tuple[tuple[str, str | None], ...]
    newly_listed_unplaced: tuple[str, ...]
    no_longer_listed: tuple[str, ...]
    unchanged: int

    @property
    def objective_change(self) -> float | None:
        if self.first.objective is None or self.second.objective is None:
            return None
        return self.second.objective - self.first.objective

    def as_dict(self) -> dict:
        """The JSON of ``history diff --json``: one place a row (the first move's service and
        date; a journey also under ``journey``)."""

        def place(rows) -> dict:
            stage, service_id, start_date = rows[0]
            found = {"service_id": service_id, "start_date": start_date}
            if len(rows) > 1 or stage != "direct":
                found["journey"] = [{"stage": s, "service_id": v, "start_date": d} for s, v, d in rows]
            return found

        return {
            "first": self.first.run_id,
            "second": self.second.run_id,
            "moved": [{"patient_id": m.patient_id, "from": place(m.before), "to": place(m.after)} for m in self.moved],
            "newly_placed": [{"patient_id": p, **place(rows)} for p, rows in self.newly_placed],
            "left_out": [{"patient_id": p, "reason": reason} for p, reason in self.left_out],
            "newly_listed_unplaced": list(self.newly_listed_unplaced),
            "no_longer_listed": list(self.no_longer_listed),
            "unchanged": self.unchanged,
            "objective_change": self.objective_change,
        }

    def to_text(self) -> str:
        def place(rows) -> str:
            return " then ".join(
                f"{service_id} {start_date}" + ("" if stage == "direct" else f" ({stage})")
                for stage, service_id, start_date in rows
            )

        first, second = self.first, self.second
        lines = [f"{first.run_id} ({first.started_at}) -> {second.run_id} ({second.started_at})"]
        if self.objective_change is not None:
            lines.append(f"objective {first.objective:,.6g} -> {second.objective:,.6g} ({self.objective_change:+,.6g})")
        lines.append(
            f"{len(self.moved)} moved, {len(self.newly_placed)} newly placed, {len(self.left_out)} left out, "
            f"{self.unchanged} unchanged"
        )
        lines += [f"  moved {m.patient_id}: {place(m.before)} -> {place(m.after)}" for m in self.moved]
        lines += [f"  newly placed {p}: {place(rows)}" for p, rows in self.newly_placed]
        lines += [f"  left out {p}: {reason or ''}" for p, reason in self.left_out]
        if self.newly_listed_unplaced:
            lines.append(f"  new and unplaced: {', '.join(self.newly_listed_unplaced)}")
        if self.no_longer_listed:
            lines.append(f"  no longer listed: {', '.join(self.no_longer_listed)}")
        return "\n".join(lines)


STAGE_ORDER = {"direct": 0, "interim": 0, "onward": 1}


def _journeys(placements: pd.DataFrame) -> dict[str, tuple[tuple[str, str, str], ...]]:
    rows = placements.assign(order=placements["stage"].map(STAGE_ORDER).fillna(0)).sort_values(["patient_id", "order"])
    return {
        patient: tuple(zip(group["stage"], group["service_id"], group["start_date"]))
        for patient, group in rows.groupby("patient_id", sort=True)
    }


def diff_runs(history: History, first: Run, second: Run) -> PlanDiff:
    """B (``second``) against A (``first``), patient by patient (module doc)."""
    a, b = _journeys(history.placements(first.run_id)), _journeys(history.placements(second.run_id))
    a_out = dict(history.unplaced(first.run_id).itertuples(index=False, name=None))
    b_out = dict(history.unplaced(second.run_id).itertuples(index=False, name=None))
    moved = tuple(Move(p, a[p], b[p]) for p in sorted(set(a) & set(b)) if a[p] != b[p])
    unchanged = sum(1 for p in set(a) & set(b) if a[p] == b[p])
    newly_placed = tuple((p, b[p]) for p in sorted(set(b) - set(a)))
    left_out = tuple((p, b_out[p]) for p in sorted(set(a) & set(b_out)))
    newly_listed = tuple(sorted(set(b_out) - set(a) - set(a_out)))
    gone = tuple(sorted((set(a) | set(a_out)) - set(b) - set(b_out)))
    return PlanDiff(first, second, moved, newly_placed, left_out, newly_listed, gone, unchanged)
