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

from optimiser.constants import TOLERANCE
from optimiser.model.eligibility import eligible_pairs, equipment_ready_day
from optimiser.model.formulation import Formulation
from optimiser.model.rules import (
    cumulative_capacity,
    cumulative_stock,
    equipment_needs,
    reach_table,
    suffix_min,
    unmet_needs,
    with_attributes,
)


def _names(ids, most: int = 3) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


class _Facts:
    """What every reason looks up, computed once (per-patient slices of numpy arrays by
    binary search, so that a national plan's thousands of reasons take well under a second)."""

    def __init__(self, formulation: Formulation, chosen: np.ndarray):
        snapshot = formulation.snapshot
        self.snapshot = snapshot
        self.formulation = formulation
        self.pairs = eligible_pairs(snapshot)
        self.reach = {locality: frame for locality, frame in reach_table(snapshot).groupby("locality")}
        self.equipment_day = equipment_ready_day(snapshot)
        self.needs = equipment_needs(snapshot)
        self.needs_of = {
            p: (frame["key"].to_numpy(), frame["item"].to_numpy()) for p, frame in self.needs.groupby("patient")
        }  # patient -> (stock keys, items); key -1: the store never holds the item
        self.capacity = cumulative_capacity(snapshot)
        self.stock_keys, self.stock = cumulative_stock(snapshot)
        self.usage = room_left(formulation, chosen)
        variables = formulation.variables
        self.variable_patient = variables["patient"].to_numpy()
        self.variable_columns = {name: variables[name].to_numpy() for name in ("service", "day", "use", "cost")}
        self.pair_patient = self.pairs["patient"].to_numpy()
        self.dates = snapshot.date_of(np.arange(snapshot.horizon)).to_numpy()  # ISO date of each day
        self.service_ids = snapshot.services["service_id"].to_numpy()

    def variables_of(self, p: int) -> dict[str, np.ndarray]:
        """Service, day, use and cost of each of the patient's variables."""
        lo, hi = np.searchsorted(self.variable_patient, [p, p + 1])
        return {name: values[lo:hi] for name, values in self.variable_columns.items()}

    def services_of(self, p: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.pair_patient, [p, p + 1])
        return self.pairs["service"].to_numpy()[lo:hi]

    def needs_of_patient(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        """Stock keys and items the patient needs."""
        return self.needs_of.get(p, (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)))


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

    no_service = _no_service_reasons(facts, unplaced[~has_pair[unplaced]])
    causes, reasons = [], []
    for p in unplaced:
        if not has_pair[p]:
            cause, reason = "no_eligible_service", no_service[p]
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


def _no_service_reasons(facts: _Facts, unplaced: np.ndarray) -> dict[int, str]:
    """Why each of these patients (none has an eligible service) has none: which reach and
    need rules (``rules.unmet_needs``) exclude the services of its pathway; one pass for all."""
    snapshot = facts.snapshot
    patients, services = snapshot.patients, snapshot.services
    service_pathway = services["pathway"].to_numpy()
    on_pathway = {pathway: int((service_pathway == pathway).sum()) for pathway in np.unique(patients["pathway"])}
    within = {}
    for p in unplaced:
        reach = facts.reach.get(patients["locality"].iat[p])
        if reach is None:
            within[p] = np.zeros(0, dtype=np.int64)
            continue
        service, minutes = reach["service"].to_numpy(), reach["minutes"].to_numpy()
        near = (service_pathway[service] == patients["pathway"].iat[p]) & (minutes <= patients["max_travel"].iat[p] + TOLERANCE)
        within[p] = service[near]
    lengths = [len(within[p]) for p in unplaced]
    pairs = pd.DataFrame(
        {
            "patient": np.repeat(unplaced, lengths).astype(np.int64),
            "service": np.concatenate([within[p] for p in unplaced] + [np.zeros(0, dtype=np.int64)]),
        }
    )
    position = np.repeat(np.arange(len(unplaced)), lengths)  # each pair's patient, as a position in ``unplaced``
    unmet = unmet_needs(with_attributes(snapshot, pairs))
    counts = {need: np.bincount(position[mask], minlength=len(unplaced)) for need, mask in unmet.items()}
    reasons = {}
    for i, p in enumerate(unplaced):
        pathway = patients["pathway"].iat[p]
        candidates = on_pathway[pathway]
        if candidates == 0:
            reasons[p] = f"no eligible service: the snapshot has no pathway-{pathway} service"
            continue
        out_of_reach = candidates - len(within[p])
        parts = []
        if out_of_reach:
            if pathway == 1:
                parts.append(
                    f"{out_of_reach} of {candidates} pathway-1 services do not cover locality {patients['locality'].iat[p]}"
                )
            else:
                parts.append(
                    f"{out_of_reach} of {candidates} pathway-{pathway} services are beyond reach "
                    f"(over {patients['max_travel'].iat[p]:g} min or no travel time)"
                )
        if len(within[p]):
            lacking = [f"{int(count[i])} lack {need.replace('_', '-')}" for need, count in counts.items() if count[i]]
            nearby = "covering it" if pathway == 1 else "within reach"
            parts.append(f"of the {len(within[p])} {nearby}, " + ", ".join(lacking))
        reasons[p] = "no eligible service: " + "; ".join(parts)
    return reasons


def _missing_equipment_reason(facts: _Facts, p: int) -> str:
    snapshot = facts.snapshot
    store = snapshot.patients["store"].iat[p]
    keys, items = facts.needs_of_patient(p)
    if store == "":
        return f"equipment: needs {_names(items)} but locality {snapshot.patients['locality'].iat[p]} has no equipment store"
    stock = facts.stock
    missing = [item for item, key in zip(items, keys) if key < 0 or stock[key, -1] < 1 - TOLERANCE]
    last = facts.dates[-1]
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
    s, d, use, cost = mine["service"], mine["day"], mine["use"], mine["cost"]
    fits = usage["capacity_floor"][s, d] >= use - TOLERANCE
    admits = usage["admissions_left"][s, d] >= 1 - TOLERANCE
    keys, items = facts.needs_of_patient(p)
    stocked = np.ones(len(s), dtype=bool)
    short_items = []
    for key, item in zip(keys[keys >= 0], items[keys >= 0]):
        ok = usage["stock_floor"][key, d] >= 1 - TOLERANCE
        if not ok.all():
            short_items.append(item)
        stocked &= ok
    ids, last = facts.service_ids, facts.dates[-1]
    open_now = fits & admits & stocked
    if open_now.any():
        cheapest = int(np.argmin(np.where(open_now, cost, np.inf)))
        if cost[cheapest] < formulation.unplaced_cost[p] - TOLERANCE:
            date = facts.dates[d[cheapest]]
            return "solver_limit", (
                f"solver limit: {ids[s[cheapest]]} has room on {date}, but the solver stopped before "
                "placing this patient; allow more time"
            )
        return "cost", "cost: placing this patient would cost more than waiting past the horizon (travel and preference weights)"
    if (fits & admits).any():
        store = snapshot.patients["store"].iat[p]
        return (
            "equipment",
            f"equipment: every {_names(short_items)} at store {store} is taken by other placements through {last}",
        )
    if fits.any():
        return (
            "admissions",
            f"admissions: daily admission limits of {_names(np.unique(ids[s[fits]]))} are reached on the days there is room",
        )
    if snapshot.patients["pathway"].iat[p] != 1:
        return "capacity", f"capacity: no bed free at {_names(np.unique(ids[s]))} through {last} after the plan's placements"
    order = np.argsort(s, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(s[order]) != 0])
    most = np.maximum.reduceat(usage["capacity_floor"][s, d][order], starts)  # per service, in service order
    room = [f"{ids[service]} {max(free, 0):g}" for service, free in zip(s[order][starts], most)]
    return "capacity", (
        f"capacity: needs {use[0]:g} carer-hours a day; the most free through {last} after the plan's placements: {_names(room)}"
    )
