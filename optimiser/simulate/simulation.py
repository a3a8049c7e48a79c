"""``simulate(snapshot, flow)``: runs x policies on Dask, gathered into one SimulationResult."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.problems import InputError, ProblemList
from optimiser.data.reading import LINE
from optimiser.data.snapshot import Snapshot
from optimiser.model.loading import load_snapshot
from optimiser.simulate.bound import BoundSettings, RunBound
from optimiser.simulate.engine import DAILY_COLUMNS, PATIENT_COLUMNS, places_of
from optimiser.simulate.flow import Flow, read_flow
from optimiser.simulate.results import SimulationResult, summarise
from optimiser.simulate.runner import bound_tasks, run_tasks, tasks_of


def check_places(snapshot: Snapshot) -> None:
    """``places`` below the capacity free on day 0 is an input error (InputError lists each)."""
    problems = ProblemList()
    places, free = places_of(snapshot)
    given = snapshot.services["places"].notna().to_numpy()
    for s in (given & (places < free - TOLERANCE)).nonzero()[0]:
        services = snapshot.services
        problems.add(
            "services.csv",
            int(services[LINE].iat[s]),
            "places",
            f"{places[s]:g}",
            f"is less than the {free[s]:g} free on day 0 in capacity.csv; places counts free and held places alike",
        )
    if problems:
        raise InputError(problems)


def load_flow(snapshot: Snapshot, flow: Flow | str | Path | None) -> Flow:
    if isinstance(flow, Flow):
        return flow
    if flow is None:
        if snapshot.source is None:
            raise ValueError("give the flow file: the snapshot was not read from a folder")
        flow = Path(snapshot.source) / "flow.toml"
    return read_flow(flow, snapshot)


def simulate(
    snapshot: Snapshot | str | Path,
    flow: Flow | str | Path | None = None,
    days: int | None = None,
    runs: int | None = None,
    seed: int | None = None,
    policies: tuple[str, ...] | None = None,
    time_limit: float | None = None,
    work_limit: int | None = None,
    threads: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    bound: bool | BoundSettings = False,
) -> SimulationResult:
    """Simulate the flow from the snapshot under each policy, ``runs`` times.

    ``flow``: a Flow, a flow file, or None for ``flow.toml`` in the snapshot folder; the
    other options, when given, override the flow file's. ``workers`` Dask worker processes
    on this machine (default one per core; 0: run here, one task after another), or
    ``scheduler``: the address of a running Dask scheduler. Same flow and seed, same results,
    whatever the workers. ``bound``: also each run's perfect-information bound (True, or
    how to compute it: ``bound.BoundSettings``), the floor under every policy's delayed
    bed-days on that run, and each policy's share of the fifo-to-bound gap (``summary["bound"]``).
    """
    if not isinstance(snapshot, Snapshot):
        snapshot = load_snapshot(snapshot)
    check_places(snapshot)
    flow = load_flow(snapshot, flow).with_options(
        days=days,
        runs=runs,
        seed=seed,
        policies=None if policies is None else tuple(policies),
        time_limit=time_limit,
        work_limit=work_limit,
        threads=threads,
    )
    tasks = tasks_of(flow)
    settings = BoundSettings() if bound is True else (bound or None)
    floors = bound_tasks(flow, settings) if settings is not None else []
    # the bounds first: each is one long solve, so the policies' runs fill the other workers
    results = run_tasks({0: snapshot}, floors + tasks, workers=workers, scheduler=scheduler, progress=progress)
    return gather(flow, tasks, results[len(floors) :], results[: len(floors)] if floors else None)


def gather(flow: Flow, tasks, results, bounds: list[RunBound] | None = None) -> SimulationResult:
    """The tasks' records in one result: rows by policy (in the flow's order), run, day,
    pathway; ``bounds``: each run's perfect-information bound, in run order."""
    rank = {policy: i for i, policy in enumerate(flow.policies)}
    daily = pd.concat([r["daily"] for r in results], ignore_index=True) if results else pd.DataFrame(columns=DAILY_COLUMNS)
    patients = (
        pd.concat([r["patients"] for r in results], ignore_index=True) if results else pd.DataFrame(columns=PATIENT_COLUMNS)
    )
    daily = daily.sort_values(
        ["policy", "run", "day", "pathway"], key=lambda c: c.map(rank) if c.name == "policy" else c, kind="stable"
    )
    patients = patients.sort_values(["policy", "run"], key=lambda c: c.map(rank) if c.name == "policy" else c, kind="stable")
    seconds = pd.DataFrame(
        {"policy": [t.policy for t in tasks], "run": [t.run for t in tasks], "seconds": [r["decision_seconds"] for r in results]}
    )
    longest = pd.DataFrame(
        [(t.policy, t.run, k, days) for t, r in zip(tasks, results) for k, days in r.get("longest_waits", {}).items()],
        columns=["policy", "run", "priority", "days"],
    )
    daily, patients = daily.reset_index(drop=True), patients.reset_index(drop=True)
    summary = summarise(daily, patients, flow, seconds, bounds, longest)
    return SimulationResult(daily, patients, flow, seconds, summary, bounds)
