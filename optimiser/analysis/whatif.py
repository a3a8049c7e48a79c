"""What-if runs: change a snapshot's capacity, solve base and variant, compare.

A change is one of

- ``AddCapacity(service_id, date, amount)``: ``amount`` more beds or
  carer-hours free at the service from ``date`` on (a capacity.csv row);
- ``Close(service_id)``: the service takes no new patients (its capacity
  rows are dropped; a pinned placement there is an input error);
- ``AddStock(store_id, item, date, quantity)``: units arriving at a store
  (an equipment.csv row);
- ``MakeInterim(service_id)`` (v2): the pathway-2 service also takes patients waiting
  for pathway 1 or 3 as interim (bridging) stays.

``apply_changes`` returns a new snapshot, checked like a loaded one;
``whatif`` solves both and ``compare`` lists what differs: placed patients,
delayed bed-days, objective, and the patients whose placement changes.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.analysis.allocate import allocate
from optimiser.analysis.plan import Plan
from optimiser.data.problems import InputError, ProblemList
from optimiser.data.schema import ONWARD
from optimiser.data.snapshot import Snapshot
from optimiser.model.families.interim import uses_interim
from optimiser.model.validation import check_snapshot

CHANGE_SOURCE = "what-if change"


@dataclass(frozen=True)
class AddCapacity:
    service_id: str
    date: dt.date
    amount: float
    band: str = ""  # v2: carer-hours of one time-of-day band; "" for the all-day pool (or beds)

    def __str__(self) -> str:
        where = f" in the {self.band} band" if self.band else ""
        return f"add {self.amount:g} capacity{where} at {self.service_id} from {self.date.isoformat()}"


@dataclass(frozen=True)
class Close:
    service_id: str

    def __str__(self) -> str:
        return f"close {self.service_id}"


@dataclass(frozen=True)
class AddStock:
    store_id: str
    item: str
    date: dt.date
    quantity: float

    def __str__(self) -> str:
        return f"add {self.quantity:g} {self.item} at store {self.store_id} from {self.date.isoformat()}"


@dataclass(frozen=True)
class MakeInterim:
    """v2: the pathway-2 service also takes patients waiting for pathway 1 or 3, as a bridge."""

    service_id: str

    def __str__(self) -> str:
        return f"make {self.service_id} an interim service"


Change = AddCapacity | Close | AddStock | MakeInterim


def parse_change(option: str, text: str) -> Change:
    """Parse a command-line change; ValueError says what is wrong and what to write."""
    parts = text.split(":")
    try:
        if option == "add-capacity":
            if len(parts) == 4:
                service, date, amount, band = _exactly(parts, 4, "SERVICE:DATE:AMOUNT[:BAND]")
            else:
                service, date, amount = _exactly(parts, 3, "SERVICE:DATE:AMOUNT[:BAND]")
                band = ""
            return AddCapacity(service, dt.date.fromisoformat(date), _non_negative(amount), band)
        if option == "close":
            (service,) = _exactly(parts, 1, "SERVICE")
            return Close(service)
        if option == "add-stock":
            store, item, date, quantity = _exactly(parts, 4, "STORE:ITEM:DATE:QTY")
            return AddStock(store, item, dt.date.fromisoformat(date), _non_negative(quantity))
        if option == "make-interim":
            (service,) = _exactly(parts, 1, "SERVICE")
            return MakeInterim(service)
    except ValueError as error:
        raise ValueError(f"--{option} {text!r}: {error}") from None
    raise ValueError(f"unknown change --{option}")


def _exactly(parts: list[str], count: int, form: str) -> list[str]:
    if len(parts) != count or any(part.strip() == "" for part in parts):
        raise ValueError(f"write it as {form}")
    return [part.strip() for part in parts]


def _non_negative(text: str) -> float:
    value = float(text)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{text} is not a number >= 0")
    return value


def apply_changes(snapshot: Snapshot, changes: list[Change]) -> Snapshot:
    """A new snapshot with the changes made; InputError lists every change that cannot apply."""
    problems = ProblemList()
    services = set(snapshot.services["service_id"])
    stores = set(snapshot.localities["equipment_store"]) - {""}
    capacity = snapshot.capacity.copy()
    equipment = snapshot.equipment.copy()
    closing, interim = [], []
    notes = []
    last = snapshot.snapshot_date + dt.timedelta(days=snapshot.horizon - 1)
    for change in changes:
        if isinstance(change, (AddCapacity, AddStock)) and change.date > last:
            notes.append(f"{change} is dated after the horizon's last day ({last.isoformat()}); it changes nothing")
        if isinstance(change, AddStock):
            wanted = snapshot.patients["equipment"].map(lambda items, item=change.item: item in items)
            if not (wanted & (snapshot.patients["store"] == change.store_id)).any():
                notes.append(f"{change}: no patient of store {change.store_id} needs {change.item}; it changes nothing")
        if isinstance(change, (AddCapacity, Close, MakeInterim)) and change.service_id not in services:
            problems.add(CHANGE_SOURCE, None, "service", change.service_id, "is not a service_id in services.csv")
            continue
        if isinstance(change, AddStock) and change.store_id not in stores:
            problems.add(CHANGE_SOURCE, None, "store", change.store_id, "is not an equipment_store in localities.csv")
            continue
        if isinstance(change, AddCapacity) and change.band and change.band not in snapshot.settings.bands:
            known = ", ".join(snapshot.settings.bands) or "none: snapshot.toml sets no bands"
            problems.add(CHANGE_SOURCE, None, "band", change.band, f"is not a band of the snapshot ({known})")
            continue
        if isinstance(change, AddCapacity):
            row = {
                "line": 0,
                "service_id": change.service_id,
                "date": pd.Timestamp(change.date),
                "amount": change.amount,
                "band": change.band,
            }
            capacity = pd.concat([capacity, pd.DataFrame([row])], ignore_index=True)
        elif isinstance(change, MakeInterim):
            interim.append(change.service_id)
        elif isinstance(change, AddStock):
            row = {
                "line": 0,
                "store_id": change.store_id,
                "item": change.item,
                "date": pd.Timestamp(change.date),
                "quantity": change.quantity,
            }
            equipment = pd.concat([equipment, pd.DataFrame([row])], ignore_index=True)
        else:
            closing.append(change.service_id)
    capacity = capacity[~capacity["service_id"].isin(closing)].reset_index(drop=True)
    pinned_there = snapshot.pinned[snapshot.pinned["service_id"].isin(closing)]
    for line, service in zip(pinned_there["line"], pinned_there["service_id"]):
        problems.add(
            "pinned.csv", int(line), "service_id", service, "is pinned to a service the what-if closes; unpin it or keep it open"
        )
    if problems:
        raise InputError(problems)
    changed = copy.copy(snapshot)
    changed.content_hash = None  # not the folder's content any more
    changed.patients = snapshot.patients.copy()
    changed.services = snapshot.services.copy()
    if interim:
        made = changed.services["service_id"].isin(interim).to_numpy()
        before = changed.services["interim"] if "interim" in changed.services else False
        changed.services["interim"] = made | np.asarray(before, dtype=bool)
        pathway_of = dict(zip(changed.services["service_id"], changed.services["pathway"]))
        for service_id in interim:
            if pathway_of[service_id] != 2:
                problems.add(
                    CHANGE_SOURCE,
                    None,
                    "make-interim",
                    service_id,
                    f"is a pathway-{int(pathway_of[service_id])} service; only pathway-2 services can be interim",
                )
        if problems:
            raise InputError(problems)
    changed.capacity = capacity.astype({"date": snapshot.capacity["date"].dtype}) if len(capacity) else capacity
    changed.equipment = equipment.astype({"date": snapshot.equipment["date"].dtype}) if len(equipment) else equipment
    check_snapshot(changed, problems)
    if problems:
        raise InputError(problems)
    changed.notes = notes
    return changed


@dataclass
class Comparison:
    """Base and variant plans side by side."""

    changes: list[Change]
    base: Plan
    variant: Plan
    figures: pd.DataFrame  # measure, base, variant, difference
    moved: pd.DataFrame  # patient_id, base_service, base_date, variant_service, variant_date

    def to_text(self) -> str:
        lines = ["What-if: " + "; ".join(str(change) for change in self.changes), ""]
        lines.append(f"{'':<22}{'base':>12}{'variant':>12}{'difference':>12}")
        for row in self.figures.itertuples(index=False):
            lines.append(f"{row.measure:<22}{row.base:>12,.6g}{row.variant:>12,.6g}{row.difference:>+12,.6g}")
        statuses = f"base {self.base.status}, variant {self.variant.status}"
        lines += ["", f"Solves: {statuses}."]
        if "optimal" not in (self.base.status, self.variant.status) or self.base.status != self.variant.status:
            gaps = [_gap_text(plan) for plan in (self.base, self.variant)]
            lines.append(
                f"A solve stopped at its limit (gaps: base {gaps[0]}, variant {gaps[1]}): the difference is not exact; "
                "allow more time."
            )
        lines.append(f"Patients whose placement changes: {len(self.moved)}")
        return "\n".join(lines)


def _gap_text(plan: Plan) -> str:
    gap = plan.summary.get("gap")
    if (gap is None or not np.isfinite(gap)) and "keep" in plan.summary:
        gap = plan.summary["keep"].get("penalised_gap")
    return "n/a" if gap is None or not np.isfinite(gap) else f"{100 * gap:.2g}%"


def compare(changes: list[Change], base: Plan, variant: Plan) -> Comparison:
    measures = {
        "placed": lambda plan: plan.summary["placed"],
        "unplaced": lambda plan: plan.summary["unplaced"],
        "delayed bed-days": lambda plan: float(plan.summary["delayed_bed_days"]),  # plan.delayed_bed_days
        "objective": lambda plan: plan.summary["objective"],
    }
    figures = pd.DataFrame(
        [(name, float(get(base)), float(get(variant))) for name, get in measures.items()],
        columns=["measure", "base", "variant"],
    )
    figures["difference"] = figures["variant"] - figures["base"]
    return Comparison(changes, base, variant, figures, placement_changes(base, variant))


def placement_changes(base: Plan, variant: Plan) -> pd.DataFrame:
    """Patients placed differently (other service, other date, or placed in one plan only)."""
    ids = base.formulation.snapshot.patients[["patient_id"]]
    both = ids.merge(journeys(base.placements), on="patient_id", how="left").merge(
        journeys(variant.placements), on="patient_id", how="left", suffixes=("_base", "_variant")
    )
    both = both.fillna("")
    differs = (both["service_id_base"] != both["service_id_variant"]) | (both["start_date_base"] != both["start_date_variant"])
    return (
        both[differs]
        .rename(
            columns={
                "service_id_base": "base_service",
                "start_date_base": "base_date",
                "service_id_variant": "variant_service",
                "start_date_variant": "variant_date",
            }
        )
        .reset_index(drop=True)
    )


def journeys(placements: pd.DataFrame) -> pd.DataFrame:
    """One row per placed patient: patient_id, service_id, start_date of the day the acute bed
    is left; v2: an interim stay's service reads "I then C on 2026-12-01" when it moves on."""
    columns = ["patient_id", "service_id", "start_date"]
    if "stage" not in placements.columns or not (placements["stage"] == ONWARD).any():
        return placements[columns]
    first = placements[placements["stage"] != ONWARD][columns].reset_index(drop=True)
    onward = placements[placements["stage"] == ONWARD].set_index("patient_id")
    then = first["patient_id"].map(onward["service_id"] + " on " + onward["start_date"].astype(str))
    first["service_id"] = np.where(then.notna(), first["service_id"] + " then " + then.fillna(""), first["service_id"])
    return first


def touched_pathways(snapshot: Snapshot, changes: list[Change]) -> set[int]:
    """Pathways whose rows a change alters (equipment counts for pathway 1 only); with
    interim beds (v2, before or after the change) the pathways are one problem: all."""
    if uses_interim(snapshot) or any(isinstance(change, MakeInterim) for change in changes):
        return {1, 2, 3}
    pathway_of = dict(zip(snapshot.services["service_id"], snapshot.services["pathway"]))
    return {1 if isinstance(change, AddStock) else int(pathway_of[change.service_id]) for change in changes}


def whatif(snapshot: Snapshot, changes: list[Change], on_step: Callable[[int, int], None] | None = None, **options) -> Comparison:
    """Solve the snapshot as it is and with the changes; options go to ``allocate``
    (a ``time_limit`` is for both solves: each gets half). ``on_step(done, 2)`` after each
    solve (a progress bar).

    Pathways share no row, so on a pathway no change touches the base plan is
    still optimal in the variant: the variant keeps it there (``keep`` with a
    penalty of 1 per move, which costs nothing when the base was optimal), and
    only the changed pathways' patients are listed as moving when they must.
    """
    variant_snapshot = apply_changes(snapshot, changes)
    if options.get("time_limit") is not None:
        options = {**options, "time_limit": options["time_limit"] / 2}
    base = allocate(snapshot, **options)
    if on_step is not None:
        on_step(1, 2)
    touched = touched_pathways(snapshot, changes)
    untouched = base.placements[~base.placements["pathway"].isin(touched)]
    keep = untouched[["patient_id", "service_id", "start_date"]]
    variant = allocate(variant_snapshot, keep=keep, disruption_penalty=1.0, **options)
    if on_step is not None:
        on_step(2, 2)
    return compare(changes, base, variant)
