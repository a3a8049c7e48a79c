"""Run IPACS's scenarios: every scenario x run, on Dask, in either mode.

Runs are numbered 1 .. N as IPACS's seeds are; each (run, node, arrival scenario) has its
own streams (``streams.py``), so a result does not depend on how many workers ran it, and
``compat`` and ``textbook`` runs of the same seed see the same patients. A task is one
scenario and a block of runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimiser.ipacs.beds import run_beds
from optimiser.ipacs.streams import BedStreams, VisitStreams
from optimiser.ipacs.visits import run_visits
from optimiser.ipacs.workbook import Scenario, Workbook
from optimiser.simulate.runner import map_tasks

MODES = ("textbook", "compat")
RUNS_PER_TASK = 25


@dataclass(frozen=True)
class Task:
    scenario: Scenario
    runs: tuple[int, ...]
    mode: str
    seed: int
    capacity: float | None = None  # beds (or patients on pathway 1) in place of the scenario's


@dataclass
class ScenarioRuns:
    """One scenario's runs: arrays of runs x report times. Beds: times 0 .. days (occupied,
    queued, wait). Visits: days 1 .. days (queued, used slots, occupied), and ``leavers``,
    one array per run of (day left, days waited)."""

    scenario: Scenario
    series: dict[str, np.ndarray]
    capacity: float | None = None  # the capacity run, when not the scenario's own


def _indices(workbook: Workbook, scenario: Scenario) -> tuple[int, int]:
    nodes = sorted({s.node for s in workbook.scenarios})
    arrivals = sorted({s.arrival_scenario for s in workbook.scenarios})
    return nodes.index(scenario.node), arrivals.index(scenario.arrival_scenario)


def run_task(workbook: Workbook, task: Task) -> dict[str, np.ndarray]:
    """The task's runs of its scenario, stacked."""
    s = task.scenario
    node, arrival = _indices(workbook, s)
    rates = workbook.arrivals[(s.node, s.arrival_scenario)]
    stay = workbook.stays[(s.node, s.los_scenario)]
    queue, occupants = workbook.queue[s.node], workbook.occupants[s.node]
    out: dict[str, list] = {}
    for run in task.runs:
        if s.model == "bed":
            streams = BedStreams.draw(rates, occupants, queue, task.seed, run, node, arrival)
            beds = workbook.capacity[(s.node, s.capacity_scenario)] if task.capacity is None else task.capacity
            result = run_beds(workbook.days, beds, stay, queue, occupants, streams, task.mode)
            values = {"occupied": result.occupied, "queued": result.queued, "wait": result.wait}
        else:
            streams = VisitStreams.draw(rates, task.seed, run, node, arrival)
            slots = workbook.slots(s) if task.capacity is None else task.capacity * workbook.visits_a_day()
            result = run_visits(workbook.days, slots, stay, queue, occupants, streams, task.mode)
            values = {"queued": result.queued, "used": result.used, "occupied": result.occupied}
            out.setdefault("leavers", []).append(result.leavers)
        for name, array in values.items():
            out.setdefault(name, []).append(array)
    return {name: arrays if name == "leavers" else np.vstack(arrays) for name, arrays in out.items()}


def run_scenarios(
    workbook: Workbook,
    runs: int = 50,
    seed: int = 1,
    mode: str = "textbook",
    scenarios: list[Scenario] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    capacities: list[float | None] | None = None,
) -> list[ScenarioRuns]:
    """Every scenario (default: all of the workbook's) x runs 1 .. ``runs``; ``capacities``:
    one per scenario, in place of the scenario's own (None keeps it)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    chosen = workbook.scenarios if scenarios is None else scenarios
    capacities = [None] * len(chosen) if capacities is None else capacities
    blocks = [tuple(range(first, min(first + RUNS_PER_TASK, runs + 1))) for first in range(1, runs + 1, RUNS_PER_TASK)]
    tasks = [Task(s, block, mode, seed, c) for s, c in zip(chosen, capacities) for block in blocks]
    results = map_tasks(run_task, workbook, tasks, workers, scheduler, progress, unit="task", label=f"IPACS {mode}")
    out = []
    for k, scenario in enumerate(chosen):
        parts = results[k * len(blocks) : (k + 1) * len(blocks)]
        series = {
            name: [a for part in parts for a in part[name]] if name == "leavers" else np.vstack([part[name] for part in parts])
            for name in parts[0]
        }
        out.append(ScenarioRuns(scenario, series, capacities[k]))
    return out
