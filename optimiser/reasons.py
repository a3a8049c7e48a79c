"""Why each unplaced patient is unplaced, in plain words.

The first cause that applies, in this order:
``no_eligible_service`` (rules 1-3 leave no service; which need or reach rule
excludes the candidates), ``horizon`` (earliest start past the horizon),
``equipment`` (an item is never in stock, or all units are taken),
``capacity`` (every eligible service is full), ``admissions`` (daily
admission limits), ``cost`` (placing would cost more than waiting), or
``solver_limit`` (a place is free, but the solve stopped at a limit first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .eligibility import eligible_pairs, equipment_ready_day
from .formulation import Formulation
from .rules import (
    cumulative_capacity,
    cumulative_stock,
    equipment_needs,
    reach_table,
    suffix_min,
    unmet_needs,
    with_attributes,
)

TOLERANCE = 1e-9


def _names(ids, most: int = 3) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


class _Facts:
    """What every reason looks up, computed once (per-patient slices by binary search)."""

    def __init__(self, formulation: Formulation, chosen: np.ndarray):
        snapshot = formulation.snapshot
        self.snapshot = snapshot
        self.formulation = formulation
        self.pairs = eligible_pairs(snapshot)
        self.reach = {locality: frame for locality, frame in reach_table(snapshot).groupby("locality")}
        self.equipment_day = equipment_ready_day(snapshot)
        self.needs = equipment_needs(snapshot)
        self.needs_of = {p: frame for p, frame in self.needs.groupby("patient")}
        self.capacity = cumulative_capacity(snapshot)
        self.stock_keys, self.stock = cumulative_stock(snapshot)
        self.usage = room_left(formulation, chosen)
        self.variable_patient = formulation.variables["patient"].to_numpy()
        self.pair_patient = self.pairs["patient"].to_numpy()

    def variables_of(self, p: int) -> pd.DataFrame:
        lo, hi = np.searchsorted(self.variable_patient, [p, p + 1])
        return self.formulation.variables.iloc[lo:hi]

    def services_of(self, p: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.pair_patient, [p, p + 1])
        return self.pairs["service"].to_numpy()[lo:hi]

    def needs_of_patient(self, p: int) -> pd.DataFrame:
        return self.needs_of.get(p, self.needs.iloc[0:0])


def unplaced_reasons(formulation: Formulation, x: np.ndarray) -> pd.DataFrame:
    """One row per unplaced patient: ``patient`` (index), ``patient_id``, ``cause``, ``reason``."""
    snapshot = formulation.snapshot
    patients = snapshot.patients
    variables = formulation.variables
    chosen = x > 0.5
    placed = np.zeros(len(patients), dtype=bool)
    placed[variables["patient"].to_numpy()[chosen]] = True
    unplaced = np.flatnonzero(~placed)
    if len(unplaced) == 0:
        return pd.DataFrame({"patient": [], "patient_id": [], "cause": [], "reason": []})

    facts = _Facts(formulation, chosen)
    has_pair = np.zeros(len(patients), dtype=bool)
    has_pair[facts.pair_patient] = True
    has_triple = np.zeros(len(patients), dtype=bool)
    has_triple[facts.variable_patient] = True
    horizon = snapshot.horizon
    earliest = patients["earliest_day"].to_numpy()

    causes, reasons = [], []
    for p in unplaced:
        if not has_pair[p]:
            cause, reason = "no_eligible_service", _no_service_reason(facts, p)
        elif earliest[p] >= horizon:
            start = snapshot.date_of([earliest[p]])[0]
            cause, reason = "horizon", f"horizon: earliest start {start} is past the horizon ({horizon} days)"
        elif facts.equipment_day[p] >= horizon:
            cause, reason = "equipment", _missing_equipment_reason(facts, p)
        elif not has_triple[p]:
            cause, reason = _no_triple_reason(facts, p)
        else:
            cause, reason = _crowded_out_reason(facts, p)
        causes.append(cause)
        reasons.append(reason)
    return pd.DataFrame(
        {"patient": unplaced, "patient_id": patients["patient_id"].to_numpy()[unplaced], "cause": causes, "reason": reasons}
    )


def _no_service_reason(facts: _Facts, p: int) -> str:
    snapshot = facts.snapshot
    patients, services = snapshot.patients, snapshot.services
    pathway = patients["pathway"].iat[p]
    candidates = np.flatnonzero(services["pathway"].to_numpy() == pathway)
    if len(candidates) == 0:
        return f"no eligible service: the snapshot has no pathway-{pathway} service"
    reach = facts.reach.get(patients["locality"].iat[p])
    if reach is None:
        within = np.zeros(0, dtype=np.int64)
    else:
        reach = reach[reach["service"].isin(candidates)]
        within = reach[reach["minutes"] <= patients["max_travel"].iat[p] + TOLERANCE]["service"].to_numpy()
    out_of_reach = len(candidates) - len(within)
    parts = []
    if out_of_reach:
        if pathway == 1:
            parts.append(
                f"{out_of_reach} of {len(candidates)} pathway-1 services do not cover locality {patients['locality'].iat[p]}"
            )
        else:
            parts.append(
                f"{out_of_reach} of {len(candidates)} pathway-{pathway} services are beyond reach "
                f"(over {patients['max_travel'].iat[p]:g} min or no travel time)"
            )
    if len(within):
        pairs = with_attributes(snapshot, pd.DataFrame({"patient": np.full(len(within), p), "service": within}))
        lacking = [f"{int(mask.sum())} lack {need.replace('_', '-')}" for need, mask in unmet_needs(pairs).items() if mask.any()]
        nearby = "covering it" if pathway == 1 else "within reach"
        parts.append(f"of the {len(within)} {nearby}, " + ", ".join(lacking))
    return "no eligible service: " + "; ".join(parts)


def _missing_equipment_reason(facts: _Facts, p: int) -> str:
    snapshot = facts.snapshot
    store = snapshot.patients["store"].iat[p]
    mine = facts.needs_of_patient(p)
    if store == "":
        return (
            f"equipment: needs {_names(mine['item'])} but locality {snapshot.patients['locality'].iat[p]} has no equipment store"
        )
    stock = facts.stock
    missing = [item for item, key in zip(mine["item"], mine["key"]) if key < 0 or stock[key, -1] < 1 - TOLERANCE]
    last = snapshot.date_of([snapshot.horizon - 1])[0]
    later = snapshot.equipment[
        (snapshot.equipment["store_id"] == store)
        & snapshot.equipment["item"].isin(missing)
        & (snapshot.equipment["quantity"] > 0)
        & (snapshot.day_of(snapshot.equipment["date"]) >= snapshot.horizon)
    ]
    arrivals = "" if later.empty else f"; first arrives {later['date'].min().date().isoformat()}, past the horizon"
    return f"equipment: {_names(missing)} out of stock at store {store} through {last}{arrivals}"


def _no_triple_reason(facts: _Facts, p: int) -> tuple[str, str]:
    snapshot = facts.snapshot
    services = facts.services_of(p)
    use = snapshot.patients["use"].iat[p]
    most = facts.capacity[services, -1]
    ids = snapshot.services["service_id"].to_numpy()[services]
    if (most < use - TOLERANCE).all():
        unit = "carer-hours a day" if snapshot.patients["pathway"].iat[p] == 1 else "bed"
        return "capacity", (
            f"capacity: needs {use:g} {unit}; eligible services {_names(ids)} have at most {most.max():g} free in the horizon"
        )
    return "horizon", "horizon: no eligible service admits on a day the patient can start within the horizon"


def room_left(formulation: Formulation, chosen: np.ndarray) -> dict:
    """Room the chosen placements leave: ``capacity_floor`` (least capacity free from each day on),
    ``admissions_left`` per day, ``stock_floor`` (least stock left from each day on)."""
    snapshot = formulation.snapshot
    variables = formulation.variables[chosen]
    s, d, use = variables["service"].to_numpy(), variables["day"].to_numpy(), variables["use"].to_numpy()
    used = np.zeros((len(snapshot.services), snapshot.horizon))
    np.add.at(used, (s, d), use)
    admitted = np.zeros_like(used)
    np.add.at(admitted, (s, d), 1)
    _, stock = cumulative_stock(snapshot)
    taken = np.zeros_like(stock)
    needs = equipment_needs(snapshot)
    needs = needs[needs["key"] >= 0]
    start = pd.DataFrame({"patient": variables["patient"].to_numpy(), "day": d}).merge(needs, on="patient")
    np.add.at(taken, (start["key"].to_numpy(), start["day"].to_numpy()), 1)
    limit = np.nan_to_num(snapshot.services["max_admissions_per_day"].to_numpy(dtype=float), nan=np.inf)
    return {
        "capacity_floor": suffix_min(cumulative_capacity(snapshot) - np.cumsum(used, axis=1)),
        "admissions_left": limit[:, None] - admitted,
        "stock_floor": suffix_min(stock - np.cumsum(taken, axis=1)),
    }


def _crowded_out_reason(facts: _Facts, p: int) -> tuple[str, str]:
    snapshot, formulation, usage = facts.snapshot, facts.formulation, facts.usage
    mine = facts.variables_of(p)
    s, d, use = mine["service"].to_numpy(), mine["day"].to_numpy(), mine["use"].to_numpy()
    fits = usage["capacity_floor"][s, d] >= use - TOLERANCE
    admits = usage["admissions_left"][s, d] >= 1 - TOLERANCE
    keys = facts.needs_of_patient(p)
    keys = keys[keys["key"] >= 0]
    stocked = np.ones(len(mine), dtype=bool)
    short_items = []
    for key, item in zip(keys["key"], keys["item"]):
        ok = usage["stock_floor"][key, d] >= 1 - TOLERANCE
        if not ok.all():
            short_items.append(item)
        stocked &= ok
    ids = snapshot.services["service_id"].to_numpy()
    open_now = fits & admits & stocked
    if open_now.any():
        cheapest = int(np.argmin(np.where(open_now, mine["cost"].to_numpy(), np.inf)))
        if mine["cost"].to_numpy()[cheapest] < formulation.unplaced_cost[p] - TOLERANCE:
            date = snapshot.date_of([d[cheapest]])[0]
            return "solver_limit", (
                f"solver limit: {ids[s[cheapest]]} has room on {date}, but the solver stopped before "
                "placing this patient; allow more time"
            )
        return "cost", "cost: placing this patient would cost more than waiting past the horizon (travel and preference weights)"
    if (fits & admits).any():
        store = snapshot.patients["store"].iat[p]
        return (
            "equipment",
            f"equipment: every {_names(short_items)} at store {store} is taken by other placements through "
            f"{snapshot.date_of([snapshot.horizon - 1])[0]}",
        )
    if fits.any():
        return (
            "admissions",
            f"admissions: daily admission limits of {_names(np.unique(ids[s[fits]]))} are reached on the days there is room",
        )
    last = snapshot.date_of([snapshot.horizon - 1])[0]
    if snapshot.patients["pathway"].iat[p] != 1:
        return "capacity", f"capacity: no bed free at {_names(np.unique(ids[s]))} through {last} after the plan's placements"
    most = pd.Series(usage["capacity_floor"][s, d]).groupby(s).max()
    room = [f"{ids[service]} {max(free, 0):g}" for service, free in most.items()]
    return "capacity", (
        f"capacity: needs {use[0]:g} carer-hours a day; the most free through {last} after the plan's placements: {_names(room)}"
    )
