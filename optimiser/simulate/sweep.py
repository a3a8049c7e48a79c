"""Capacity sweeps: the simulation at each point of a grid of capacity factors.

``sweep(snapshot, flow, {1: [0.8, 1.0, 1.2]})`` multiplies the ``places`` and the free
capacity of each pathway's services by each factor (every combination when several
pathways vary), simulates every point (runs x policies, all points' tasks on Dask at
once, each point with the same run seeds: common random numbers across points), and
returns a tidy table: one row per point and policy with the mean delayed bed-days, the
community place-days in use, and their costs, acute (``bed_day_cost`` a delayed bed-day)
and community (``community_cost`` a place-day in use, by pathway), and the total. The
cheapest point of each policy is marked: the "false economy" curve of the IPACS papers,
here with optimised placement too.
"""

from __future__ import annotations

import copy
import itertools
import re

import numpy as np
import pandas as pd

from optimiser.data.problems import InputError, ProblemList
from optimiser.data.snapshot import Snapshot
from optimiser.simulate.engine import places_of
from optimiser.simulate.flow import Flow
from optimiser.simulate.results import interval
from optimiser.simulate.runner import run_tasks, tasks_of
from optimiser.simulate.simulation import check_places, gather

VARY = re.compile(r"^pathway([123])=([0-9.]+):([0-9.]+):([0-9.]+)$")


def parse_vary(texts: list[str]) -> dict[int, list[float]]:
    """``pathway1=0.8:1.4:0.1`` (start:stop:step, stop included) for each --vary; InputError lists bad ones."""
    problems = ProblemList()
    grid: dict[int, list[float]] = {}
    for text in texts:
        match = VARY.match(text.strip())
        if not match:
            problems.add("--vary", None, None, text, "write it as pathwayK=START:STOP:STEP, e.g. pathway1=0.8:1.4:0.1")
            continue
        k, start, stop, step = int(match.group(1)), *map(float, match.groups()[1:])
        if step <= 0 or stop < start or start < 0:
            problems.add("--vary", None, None, text, "needs 0 <= START <= STOP and STEP > 0")
            continue
        if k in grid:
            problems.add("--vary", None, None, text, f"pathway {k} is varied twice; give it once")
            continue
        count = int(np.floor((stop - start) / step + 1e-9)) + 1
        grid[k] = [round(start + i * step, 10) for i in range(count)]
    if not texts:
        problems.add("--vary", None, None, None, "is missing; give at least one, e.g. --vary pathway1=0.8:1.4:0.1")
    if problems:
        raise InputError(problems, subject="sweep")
    return grid


def scaled(snapshot: Snapshot, factors: dict[int, float]) -> Snapshot:
    """The snapshot with each pathway's places and free capacity multiplied by its factor."""
    variant = copy.copy(snapshot)
    variant.content_hash = None
    services = snapshot.services.copy()
    capacity = snapshot.capacity.copy()
    pathway_of = dict(zip(services["service_id"], services["pathway"]))
    places, _ = places_of(snapshot)
    for k, factor in factors.items():
        mine = (services["pathway"] == k).to_numpy()
        services.loc[mine, "places"] = places[mine] * factor
        rows = capacity["service_id"].map(pathway_of).to_numpy() == k
        capacity.loc[rows, "amount"] = capacity.loc[rows, "amount"] * factor
    variant.services, variant.capacity = services, capacity
    return variant


def sweep(
    snapshot: Snapshot,
    flow: Flow,
    grid: dict[int, list[float]],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """The sweep's table (module doc): one row per point and policy."""
    check_places(snapshot)
    pathways = sorted(grid)
    points = [dict(zip(pathways, values)) for values in itertools.product(*(grid[k] for k in pathways))]
    snapshots = {i: scaled(snapshot, point) for i, point in enumerate(points)}
    tasks = [task for i in range(len(points)) for task in tasks_of(flow, point=i)]
    results = run_tasks(snapshots, tasks, workers=workers, scheduler=scheduler, progress=progress)
    rows = []
    per_point = len(tasks) // len(points)
    for i, point in enumerate(points):
        mine = tasks[i * per_point : (i + 1) * per_point]
        outcome = gather(flow, mine, results[i * per_point : (i + 1) * per_point])
        daily = outcome.daily
        for policy in flow.policies:
            days = daily[daily["policy"] == policy]
            delayed = days.groupby("run")["delayed_bed_days"].sum().to_numpy(dtype=float)
            in_use = days.groupby(["run", "pathway"])["occupied"].sum().unstack(fill_value=0.0)
            community = sum(in_use.get(k, 0.0) * flow.community_cost[k] for k in (1, 2, 3))
            acute = delayed * flow.bed_day_cost
            total = acute + np.asarray(community, dtype=float)
            row = {f"pathway{k}_factor": point.get(k, 1.0) for k in pathways}
            row.update(
                {
                    "point": i,
                    "policy": policy,
                    "runs": flow.runs,
                    "delayed_bed_days": float(delayed.mean()),
                    "acute_cost": float(acute.mean()),
                    "community_cost": float(np.mean(community)),
                    "total_cost": float(total.mean()),
                    "total_cost_low": interval(total)["low"],
                    "total_cost_high": interval(total)["high"],
                }
            )
            for k in (1, 2, 3):
                row[f"pathway{k}_place_days"] = float(in_use[k].mean()) if k in in_use else 0.0
                row[f"pathway{k}_places"] = float(days.loc[days["pathway"] == k, "places"].max())
            rows.append(row)
    table = pd.DataFrame(rows)
    table["cheapest"] = False
    for policy in flow.policies:
        mine = table[table["policy"] == policy]
        table.loc[mine["total_cost"].idxmin(), "cheapest"] = True
    return table
