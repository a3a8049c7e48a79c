"""Explain one patient's placement: the plan's choice, every alternative, and what binds.

For patient p and every service s of p's pathway:

- if rules 1-3 exclude s, which rule (a need s lacks, no coverage, too far);
- otherwise, day by day, whether p could start at s on day d *with everyone
  else's placements as the plan has them*: before e(p), no weekend
  admissions, capacity (the least room from d on, after the others, is below
  use(p): starting on d holds a place every later day), the admission limit,
  or an item out at p's store; else there is room, at cost(p, s, d).

An alternative with room that costs less than the plan's choice can only be
blocked by another placement the optimum prefers (or the solve stopped early);
alternatives that are blocked name the row that binds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimiser.analysis.plan import row_stages
from optimiser.analysis.reasons import unplaced_reasons
from optimiser.model.costs import interim_cost, placement_cost
from optimiser.model.eligibility import eligible_pairs, off_preference
from optimiser.model.families import Room
from optimiser.model.families.base import INTERIM, moves, stage_of
from optimiser.model.families.interim import complete_stays, entry_pairs
from optimiser.model.formulation import Formulation, build_formulation
from optimiser.model.previous import columns_of, placement_triples
from optimiser.model.rules import admits_on_day, exclusions, patient_needs


@dataclass
class ServiceOption:
    """One service of the patient's pathway, as the plan leaves it for this patient."""

    service_id: str
    eligible: bool
    excluded_by: str = ""  # why rules 1-3 exclude it
    days: list[dict] = field(default_factory=list)  # date, status ("room" or what blocks), cost
    interim: bool = False  # v2: an interim bed to wait in (cost: staying to the end, no onward start)

    @property
    def best(self) -> dict | None:
        """The cheapest day with room, if any."""
        open_days = [day for day in self.days if day["status"] == "room"]
        return min(open_days, key=lambda day: day["cost"]) if open_days else None


@dataclass
class Explanation:
    patient_id: str
    facts: dict
    choice: dict | None  # service_id, date, cost; None if unplaced
    reason: str  # why unplaced ("" if placed)
    unplaced_cost: float
    options: list[ServiceOption]

    def to_dict(self) -> dict:
        return {
            "patient_id": self.patient_id,
            "facts": self.facts,
            "choice": self.choice,
            "reason": self.reason,
            "unplaced_cost": self.unplaced_cost,
            "options": [
                {
                    "service_id": o.service_id,
                    "eligible": o.eligible,
                    "excluded_by": o.excluded_by,
                    "days": o.days,
                    **({"interim": True} if o.interim else {}),
                }
                for o in self.options
            ],
        }

    def to_text(self) -> str:
        facts = self.facts
        lines = [
            f"Patient {self.patient_id}: pathway {facts['pathway']}, priority {facts['priority']}, "
            f"ready {facts['ready_date']}, earliest start {facts['earliest_start']}, needs {facts['needs'] or 'none'}, "
            f"uses {facts['use']:g} {facts['unit']}.",
        ]
        if self.choice is None:
            lines.append(f"Plan: unplaced (cost {self.unplaced_cost:.2f}). {self.reason}")
            reference = self.unplaced_cost
        elif self.choice.get("stage") == "interim":
            choice = self.choice
            onward = choice.get("onward")
            then = f", then {onward['service_id']} from {onward['date']}" if onward else ", with no onward start in the horizon"
            lines.append(
                f"Plan: interim bed at {choice['service_id']} from {choice['date']}{then} (cost {choice['cost']:.2f} in all)."
            )
            reference = choice["cost"]
        else:
            choice = self.choice
            lines.append(f"Plan: {choice['service_id']} from {choice['date']} (cost {choice['cost']:.2f}).")
            if facts.get("pinned"):
                lines.append("Pinned (pinned.csv): the plan must keep it; the alternatives are what would be open otherwise.")
            reference = choice["cost"]
        lines.append("Alternatives, with everyone else placed as planned:")
        for option in self.options:
            name = option.service_id + (" (interim bed)" if option.interim else "")
            if not option.eligible:
                lines.append(f"  {name}: not eligible: {option.excluded_by}")
                continue
            best = option.best
            if best is None:
                lines.append(f"  {name}: no room in the horizon" + (" for a stay to its end" if option.interim else ""))
            elif option.interim:
                delta = best["cost"] - reference
                lines.append(
                    f"  {name}: room from {best['date']} at cost {best['cost']:.2f} staying to the end ({delta:+.2f} vs plan; "
                    "an onward start lowers it)"
                )
            elif self.choice is not None and (self.choice["service_id"], self.choice["date"]) == (
                option.service_id,
                best["date"],
            ):
                lines.append(f"  {option.service_id}: the plan's choice, the first day with room")
            else:
                delta = best["cost"] - reference
                lines.append(f"  {option.service_id}: room from {best['date']} at cost {best['cost']:.2f} ({delta:+.2f} vs plan)")
            for first, last, status in _blocked_spans(option, best):
                span = first if first == last else f"{first} to {last}"
                lines.append(f"      {span:<26} {status}")
        return "\n".join(lines)


def _blocked_spans(option: ServiceOption, best: dict | None) -> list[tuple[str, str, str]]:
    """Runs of days before the best one (or all days) with the same blocking cause."""
    spans: list[tuple[str, str, str]] = []
    for day in option.days:
        if best is not None and day["date"] >= best["date"]:
            break
        if spans and spans[-1][2] == day["status"]:
            spans[-1] = (spans[-1][0], day["date"], day["status"])
        else:
            spans.append((day["date"], day["date"], day["status"]))
    return spans


def explain_patient(formulation: Formulation, x: np.ndarray, patient_id: str) -> Explanation:
    """Explain one patient of a plan (x over ``formulation``'s variables)."""
    snapshot = formulation.snapshot
    patients, services = snapshot.patients, snapshot.services
    matches = np.flatnonzero(patients["patient_id"].to_numpy() == patient_id)
    if len(matches) == 0:
        raise KeyError(patient_id)
    p = int(matches[0])
    variables = formulation.variables
    chosen = (x > 0.5) & moves(variables)  # starts and entries (v2), not days in a bed
    mine = chosen & (variables["patient"].to_numpy() == p)
    others = chosen & ~mine
    pathway = int(patients["pathway"].iat[p])
    use = float(patients["use"].iat[p])
    needs = patient_needs(snapshot, p)
    facts = {
        "pathway": pathway,
        "priority": int(patients["priority"].iat[p]),
        "ready_date": snapshot.date_of([int(patients["ready_day"].iat[p])])[0],
        "earliest_start": snapshot.date_of([int(patients["earliest_day"].iat[p])])[0],
        "needs": ", ".join(needs),
        "equipment": list(patients["equipment"].iat[p]) if pathway == 1 else [],
        "use": use,
        "unit": "carer-hours a day" if pathway == 1 else "bed",
        "pinned": bool(snapshot.pinned["patient_id"].eq(patient_id).any()),
    }
    choice, reason = None, ""
    if mine.any():
        journey = variables[mine]
        entry = stage_of(journey) == INTERIM
        row = journey[entry].iloc[0] if entry.any() else journey.iloc[0]  # what leaves the acute bed
        choice = {
            "service_id": services["service_id"].iat[int(row["service"])],
            "date": snapshot.date_of([int(row["day"])])[0],
            "cost": float(row_stages(snapshot, journey)[1].sum()),
        }
        if entry.any():
            choice["stage"] = "interim"
            if (~entry).any():
                onward = journey[~entry].iloc[0]
                choice["onward"] = {
                    "service_id": services["service_id"].iat[int(onward["service"])],
                    "date": snapshot.date_of([int(onward["day"])])[0],
                }
    else:
        reasons = unplaced_reasons(formulation, x)
        reason = reasons.loc[reasons["patient"] == p, "reason"].iat[0]

    rooms = [family.room(snapshot, variables[others]) for family in formulation.families]
    pairs = eligible_pairs(snapshot)
    pairs = pairs[pairs["patient"] == p]
    options = _excluded(snapshot, p, set(pairs["service"]))
    for service, minutes in zip(pairs["service"], pairs["minutes"]):
        options.append(_days_at(snapshot, p, int(service), float(minutes), rooms))
    entry = entry_pairs(snapshot)
    entry = entry[entry["patient"] == p]
    for service, minutes in zip(entry["service"], entry["minutes"]):  # v2: the interim beds the patient may wait in
        options.append(_days_at(snapshot, p, int(service), float(minutes), rooms, interim=True))
    options.sort(key=lambda option: (not option.eligible, option.interim, option.service_id))
    return Explanation(patient_id, facts, choice, reason, float(formulation.unplaced_cost[p]), options)


def _days_at(snapshot, p: int, service: int, minutes: float, rooms: list[Room], interim: bool = False) -> ServiceOption:
    """Day by day, whether p could start at the service given ``rooms`` (each constraint
    family's room after the others' placements): timing (rule 4) first, then the first
    family that blocks, in row order. ``interim`` (v2): entering it as an interim bed
    instead, at the cost of the whole stay with no onward start (``costs.interim_cost``)."""
    patients = snapshot.patients
    horizon = snapshot.horizon
    days = np.arange(horizon)
    services = np.full(horizon, service)
    priority, ready = np.full(horizon, patients["priority"].iat[p]), np.full(horizon, patients["ready_day"].iat[p])
    if interim:
        costs = interim_cost(priority, ready, days, np.full(horizon, minutes), horizon, snapshot.weights)
    else:
        costs = placement_cost(
            priority,
            ready,
            days,
            np.full(horizon, minutes),
            np.full(horizon, patients["pathway"].iat[p]),
            off_preference(snapshot, np.full(horizon, p), services),
            snapshot.weights,
        )
    weekend_ok = admits_on_day(snapshot, services, days)
    earliest = int(patients["earliest_day"].iat[p])
    status = np.where(days < earliest, "before the earliest start", np.where(weekend_ok, "", "no weekend admissions")).astype(
        object
    )
    for room in rooms:
        blocked = np.asarray((room.why_entry if interim else room.why)(p, services, days), dtype=object)
        status = np.where((status == "") & (blocked != ""), blocked, status)
    status = np.where(status == "", "room", status)
    dates = snapshot.date_of(days)
    result = [{"date": date, "status": str(why), "cost": float(cost)} for date, why, cost in zip(dates, status, costs)]
    return ServiceOption(snapshot.services["service_id"].iat[service], True, days=result, interim=interim)


def _excluded(snapshot, p: int, eligible: set) -> list[ServiceOption]:
    """Services of the patient's pathway that rules 1-3 exclude (those not in ``eligible``), with the rule."""
    patients, services = snapshot.patients, snapshot.services
    same = np.flatnonzero(services["pathway"].to_numpy() == patients["pathway"].iat[p])
    excluded = np.array([s for s in same if s not in eligible], dtype=np.int64)
    if not len(excluded):
        return []
    lacking, reach = exclusions(snapshot, np.full(len(excluded), p), excluded)
    return [
        ServiceOption(
            services["service_id"].iat[s], False, "; ".join([f"lacks {need}" for need in lacks] + ([why] if why else []))
        )
        for s, lacks, why in zip(excluded, lacking, reach)
    ]


def explain(snapshot, placements: pd.DataFrame, patient_id: str) -> Explanation:
    """Explain ``patient_id`` in a plan given as placements (patient_id, service_id, start_date)."""
    triples = placement_triples(snapshot, placements)
    if len(triples) != len(placements):
        raise ValueError(
            "the plan names patients, services or dates this snapshot does not have; was it made from another snapshot?"
        )
    formulation = build_formulation(snapshot, protect=triples)
    columns = columns_of(formulation, triples)
    if (columns < 0).any():
        raise ValueError("the plan has placements this snapshot does not allow; was it made from another snapshot?")
    x = np.zeros(formulation.num_variables)
    x[columns] = 1.0
    return explain_patient(formulation, complete_stays(formulation.variables, x), patient_id)
