"""Greedy baseline: what hubs do today, first come first served.

Pinned placements first; then patients in order of longest wait (earliest
ready date), higher priority first among equals, then patient_id order. Each takes
the earliest feasible day, and on that day the nearest eligible service
(fewest travel minutes, then a preferred service, then service_id order). The plan
is feasible by construction (each start is one every constraint family's room
allows: ``Family.room``) and serves as a baseline and a MILP warm start.

v2 (interim stays): a patient who may bridge, and for whom an interim bed is free before
any place, takes the nearest interim bed with room on the first day one is, then the
first onward start its turn leaves room for (a hub's first come first served: the
interim queue moves on in the same order).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from optimiser.model.eligibility import off_preference
from optimiser.model.families.base import DIRECT, INTERIM, stage_of
from optimiser.model.families.interim import complete_stays
from optimiser.model.formulation import Formulation
from optimiser.solve.result import SolveResult, Status


def greedy_plan(formulation: Formulation, order: str = "wait", keep: np.ndarray | None = None) -> np.ndarray:
    """A feasible 0/1 vector over the formulation's variables.

    ``order="wait"`` is first come first served (the hub's way, the baseline);
    ``order="value"`` takes patients by unplaced cost per unit of capacity
    used (the knapsack rule), which usually leaves less value unplaced.
    ``keep``: a feasible plan whose placements stay as they are (yesterday's plan in the
    simulation); the greedy rule then places the patients it leaves out in the room left.
    """
    snapshot = formulation.snapshot
    variables = formulation.variables
    patients = snapshot.patients
    x = np.zeros(len(variables))
    if len(variables) == 0:
        return x

    placed = pd.DataFrame({"patient": np.zeros(0, dtype=np.int64), "service": 0, "day": 0})
    kept = np.zeros(len(patients), dtype=bool)
    if keep is not None:
        chosen = (np.asarray(keep) > 0.5) & (stage_of(variables) <= INTERIM)  # starts and entries
        x[chosen] = 1.0
        placed = variables.loc[chosen, ["patient", "service", "day", *(["stage"] if "stage" in variables else [])]]
        placed = placed.reset_index(drop=True)
        kept[placed["patient"].to_numpy()] = True
    rooms = [family.room(snapshot, placed) for family in formulation.families]

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
    stage_all = stage_of(variables)

    def first(candidates: np.ndarray, entry: bool = False) -> int | None:
        """The first candidate every room allows (they are in the order the hub tries them)."""
        if len(candidates) == 0:
            return None
        s, d = service_all[candidates], day_all[candidates]
        feasible = np.ones(len(candidates), dtype=bool)
        for room in rooms:
            feasible &= room.fits_entry(patient, s, d) if entry else room.fits(patient, s, d)
        return int(candidates[int(np.argmax(feasible))]) if feasible.any() else None

    for patient in queue:
        if kept[patient]:
            continue
        candidates = columns[starts[patient] : ends[patient]]
        kind = stage_all[candidates]
        direct = first(candidates[kind == DIRECT])
        bridge = first(candidates[kind == INTERIM], entry=True)  # v2: the nearest interim bed with room, soonest
        if bridge is not None and (direct is None or day_all[bridge] < day_all[direct]):
            x[bridge] = 1.0
            v, entered = int(service_all[bridge]), int(day_all[bridge])
            for room in rooms:
                room.enter(patient, v, entered)
            pick = first(candidates[kind == DIRECT])  # then moves on when a place is free, first come first served
            if pick is not None:
                x[pick] = 1.0
                for room in rooms:
                    room.take(patient, int(service_all[pick]), int(day_all[pick]))
                    room.leave(patient, v, int(day_all[pick]))
            continue
        if direct is None:
            continue
        x[direct] = 1.0
        for room in rooms:
            room.take(patient, int(service_all[direct]), int(day_all[direct]))
    return complete_stays(variables, x)


def warm_start_plan(formulation: Formulation, keep: np.ndarray | None = None) -> np.ndarray:
    """The best of the first-come-first-served and the value-density greedy plans; with
    ``keep`` (a feasible plan: yesterday's, in the simulation), also of ``keep`` itself and of
    ``keep`` with the patients it leaves out placed by either rule in the room left (a
    simulated day of ics-v2: 5,778 against 6,072 greedy and 6,945 kept as it was)."""
    plans = [greedy_plan(formulation, order) for order in ("wait", "value")]
    if keep is not None:
        plans += [np.round(np.asarray(keep, dtype=float))]
        plans += [greedy_plan(formulation, order, keep=keep) for order in ("wait", "value")]
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
