"""Replications on Dask: runs x policies (x sweep points) as independent tasks.

Each task is a plain function of plain data (``engine.simulate_run``), submitted with
``client.map`` and gathered in task order, so results do not depend on the number of
workers or the order they finish in: every run's randomness comes from its own
``SeedSequence`` spawned from the flow's seed. The default is a ``distributed.LocalCluster``
with one single-threaded worker process per core; ``scheduler`` ("tcp://HOST:PORT") uses a
cluster started elsewhere (``dask scheduler`` and ``dask worker``); ``workers=0`` runs the
tasks here, in this process, one after another.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from optimiser.data.snapshot import Snapshot
from optimiser.simulate.bound import BoundSettings, RunBound, perfect_information_bound
from optimiser.simulate.engine import draw_run, simulate_run
from optimiser.simulate.flow import Flow


@dataclass(frozen=True)
class Task:
    """One run of one policy (at one sweep point): what a worker needs besides the snapshot."""

    key: tuple  # sorts the results: (point, run, policy position)
    flow: Flow
    policy: str
    run: int
    seed: np.random.SeedSequence


@dataclass(frozen=True)
class BoundTask:
    """The perfect-information bound of one run (``bound.py``): its draws are the policies'."""

    key: tuple
    flow: Flow
    run: int
    seed: np.random.SeedSequence
    settings: BoundSettings


def run_seeds(flow: Flow) -> list[np.random.SeedSequence]:
    """One independent stream per run, spawned from the flow's seed."""
    return np.random.SeedSequence(flow.seed).spawn(flow.runs)


def tasks_of(flow: Flow, point: int = 0) -> list[Task]:
    """Every (run, policy) of a flow; the runs' seeds do not depend on the policies."""
    return [
        Task((point, run, i), flow, policy, run, seed)
        for run, seed in enumerate(run_seeds(flow))
        for i, policy in enumerate(flow.policies)
    ]


def bound_tasks(flow: Flow, settings: BoundSettings, point: int = 0) -> list[BoundTask]:
    """The bound of every run of a flow, on the runs' own seeds."""
    return [BoundTask((point, run, -1), flow, run, seed, settings) for run, seed in enumerate(run_seeds(flow))]


@dataclass(frozen=True)
class Snapshots:
    """The snapshot of each sweep point (one object, so that Dask sends it to each worker once)."""

    by_point: dict[int, Snapshot]


def _execute(snapshots: Snapshots, task: Task | BoundTask) -> dict | RunBound:
    snapshot = snapshots.by_point[task.key[0]]
    if isinstance(task, BoundTask):
        draws = draw_run(snapshot, task.flow, task.seed)
        return perfect_information_bound(snapshot, task.flow, draws, task.run, task.settings)
    return simulate_run(snapshot, task.flow, task.policy, task.run, task.seed)


@contextlib.contextmanager
def client_for(workers: int | None, scheduler: str | None) -> Iterator[object | None]:
    """A Dask client: to ``scheduler`` if given, else to a new LocalCluster of ``workers``
    single-threaded worker processes (default: one per core); None for ``workers=0``."""
    if scheduler is None and workers == 0:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler, timeout="20s") as client:
            yield client
        return
    count = workers or os.cpu_count() or 1
    with (
        LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_tasks(
    snapshots: dict[int, Snapshot],
    tasks: list[Task | BoundTask],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Run the tasks (``snapshots``: one snapshot, or one per sweep point) and return their
    results in task order (a policy's run: its records; a bound: its RunBound). ``progress``: a bar on stderr (default: when stderr is a terminal)."""
    return map_tasks(_execute, Snapshots(dict(snapshots)), tasks, workers, scheduler, progress, on_done)


def map_tasks(
    function: Callable,
    shared: object,
    tasks: list,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    on_done: Callable[[int, int], None] | None = None,
    unit: str = "run",
    label: str = "simulating",
) -> list:
    """``[function(shared, task) for task in tasks]`` on Dask (``client_for``), in task order
    whatever order they finish in; ``shared`` is sent to each worker once."""
    show = sys.stderr.isatty() if progress is None else progress
    bar = _bar(len(tasks), unit, label) if show else None
    results: list = [None] * len(tasks)
    try:
        with client_for(workers, scheduler) as client:
            if client is None:
                for i, task in enumerate(tasks):
                    results[i] = function(shared, task)
                    _tick(bar, on_done, i + 1, len(tasks))
            else:
                from distributed import as_completed

                scattered = client.scatter(shared, broadcast=True)
                futures = client.map(function, [scattered] * len(tasks), tasks, pure=False)
                position = {future.key: i for i, future in enumerate(futures)}
                done = 0
                for future in as_completed(futures):
                    results[position[future.key]] = future.result()
                    done += 1
                    _tick(bar, on_done, done, len(tasks))
    finally:
        if bar is not None:
            bar.close()
    return results


def _bar(total: int, unit: str = "run", label: str = "simulating"):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=label, file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def _tick(bar, on_done, done: int, total: int) -> None:
    if bar is not None:
        bar.update(1)
    if on_done is not None:
        on_done(done, total)
