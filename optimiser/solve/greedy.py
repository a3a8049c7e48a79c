"""Greedy baseline: what hubs do today, first come first served.

Pinned placements first; then patients in order of longest wait (earliest
ready date), higher priority first among equals, then patient_id order. Each takes
the earliest feasible day, and on that day the nearest eligible service
(fewest travel minutes, then a preferred service, then service_id order). The plan
is feasible by construction and serves as a baseline and a MILP warm start.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.model.eligibility import off_preference
from optimiser.model.formulation import Formulation
from optimiser.model.rules import cumulative_capacity, cumulative_stock, equipment_needs, suffix_min
from optimiser.solve.result import SolveResult, Status


def greedy_plan(formulation: Formulation, order: str = "wait") -> np.ndarray:
    """A feasible 0/1 vector over the formulation's variables.

    ``order="wait"`` is first come first served (the hub's way, the baseline);
    ``order="value"`` takes patients by unplaced cost per unit of capacity
    used (the knapsack rule), which usually leaves less value unplaced.
    """
    snapshot = formulation.snapshot
    variables = formulation.variables
    patients = snapshot.patients
    horizon = snapshot.horizon
    x = np.zeros(len(variables))
    if len(variables) == 0:
        return x

    capacity_slack = cumulative_capacity(snapshot).copy()
    capacity_floor = suffix_min(capacity_slack)
    limit = np.nan_to_num(snapshot.services["max_admissions_per_day"].to_numpy(dtype=float), nan=np.inf)
    admitted = np.zeros((len(snapshot.services), horizon))
    _, stock = cumulative_stock(snapshot)
    stock_slack = stock.copy()
    needs = equipment_needs(snapshot)
    needs = needs[needs["key"] >= 0]
    keys_of = needs.groupby("patient")["key"].agg(list).to_dict()

    ranked = variables.assign(
        off_preference=off_preference(snapshot, variables["patient"].to_numpy(), variables["service"].to_numpy()),
        column=np.arange(len(variables)),
    ).sort_values(["patient", "day", "minutes", "off_preference", "service"], kind="stable")
    columns = ranked["column"].to_numpy()
    patient_of = ranked["patient"].to_numpy()
    starts = np.searchsorted(patient_of, np.arange(len(patients)))
    ends = np.searchsorted(patient_of, np.arange(len(patients)), side="right")

    pinned = formulation.lower[columns] > 0.5
    is_pinned = np.zeros(len(patients), dtype=bool)
    is_pinned[patient_of[pinned]] = True
    queue = (
        pd.DataFrame(
            {
                "pinned": ~is_pinned,  # False sorts first
                "ready": patients["ready_day"].to_numpy(),
                "priority": -patients["priority"].to_numpy(),
                "density": -formulation.unplaced_cost / patients["use"].to_numpy(),
                "order": np.arange(len(patients)),
            }
        )
        .sort_values(
            ["pinned", "ready", "priority", "order"] if order == "wait" else ["pinned", "density", "ready", "order"],
            kind="stable",
        )["order"]
        .to_numpy()
    )

    service_all = variables["service"].to_numpy()
    day_all = variables["day"].to_numpy()
    use_all = variables["use"].to_numpy()
    for patient in queue:
        candidates = columns[starts[patient] : ends[patient]]
        if len(candidates) == 0:
            continue
        s, d, use = service_all[candidates], day_all[candidates], use_all[candidates]
        feasible = (capacity_floor[s, d] >= use - TOLERANCE) & (admitted[s, d] < limit[s])
        keys = keys_of.get(patient, [])
        if keys:
            stock_floor = suffix_min(stock_slack[keys]).min(axis=0)
            feasible &= stock_floor[d] >= 1 - TOLERANCE
        if not feasible.any():
            continue
        pick = int(np.argmax(feasible))
        column, service, day = candidates[pick], s[pick], d[pick]
        x[column] = 1.0
        capacity_slack[service, day:] -= use[pick]
        capacity_floor[service] = suffix_min(capacity_slack[service])
        admitted[service, day] += 1
        for key in keys:
            stock_slack[key, day:] -= 1
    return x


def warm_start_plan(formulation: Formulation) -> np.ndarray:
    """The better of the first-come-first-served and the value-density greedy plans."""
    plans = [greedy_plan(formulation, order) for order in ("wait", "value")]
    return min(plans, key=formulation.value)


def solve_greedy(formulation: Formulation) -> SolveResult:
    """The greedy plan as a SolveResult (status feasible; no bound)."""
    started = time.perf_counter()
    x = greedy_plan(formulation)
    return SolveResult(
        Status.FEASIBLE,
        x,
        formulation.value(x),
        float("-inf"),
        "greedy",
        time.perf_counter() - started,
        "first come first served",
    )
