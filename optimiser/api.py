"""The Python API: load a snapshot, allocate, get a Plan. The CLI is a thin layer over this."""

from __future__ import annotations

from pathlib import Path

from .formulation import Formulation, build_formulation
from .greedy import greedy_plan, solve_greedy
from .plan import Plan, make_plan
from .snapshot import Snapshot, load_snapshot
from .solvers.highs import solve_highs

SOLVERS = ("highs", "greedy")


def allocate(
    snapshot: Snapshot | str | Path,
    solver: str = "highs",
    time_limit: float | None = None,
    threads: int = 1,
    mip_gap: float = 1e-6,
    seed: int = 0,
    warm_start: bool = True,
    log: bool = False,
) -> Plan:
    """Match patients to places over the horizon; return the Plan.

    ``solver``: ``highs`` (exact MILP, default) or ``greedy`` (first come
    first served baseline). ``time_limit`` in seconds stops the MILP with the
    best plan found (status ``feasible``); ``mip_gap`` is the relative gap at
    which a plan counts as optimal.
    """
    if not isinstance(snapshot, Snapshot):
        snapshot = load_snapshot(snapshot)
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")
    formulation = build_formulation(snapshot)
    options = {"solver": solver, "time_limit": time_limit, "threads": threads, "mip_gap": mip_gap, "seed": seed}
    result = solve(
        formulation, solver, time_limit=time_limit, threads=threads, mip_gap=mip_gap, seed=seed, warm_start=warm_start, log=log
    )
    return make_plan(formulation, result, options)


def solve(formulation: Formulation, solver: str = "highs", warm_start: bool = True, **options):
    """Solve a built formulation with one route; returns a SolveResult."""
    if solver == "greedy":
        return solve_greedy(formulation)
    start = greedy_plan(formulation) if warm_start else None
    return solve_highs(formulation, warm_start=start, **options)
