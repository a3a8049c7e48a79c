"""The Python API: load a snapshot, allocate, get a Plan. The CLI is a thin layer over this."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from .formulation import Formulation, build_formulation
from .greedy import solve_greedy, warm_start_plan
from .plan import Plan, make_plan
from .snapshot import Snapshot, load_snapshot
from .solvers import interrupt
from .solvers.cpsat import solve_cpsat
from .solvers.decomposed import solve_decomposed
from .solvers.highs import solve_highs
from .solvers.pyomo_route import solve_pyomo
from .solvers.result import SolveResult

ROUTES = {"highs": solve_highs, "cpsat": solve_cpsat, "pyomo": solve_pyomo}
SOLVERS = (*ROUTES, "greedy")


def allocate(
    snapshot: Snapshot | str | Path,
    solver: str = "highs",
    time_limit: float | None = None,
    threads: int = 1,
    mip_gap: float = 1e-6,
    seed: int = 0,
    warm_start: bool = True,
    decompose: bool = True,
    naive: bool = False,
    log: bool = False,
) -> Plan:
    """Match patients to places over the horizon; return the Plan.

    ``solver``: ``highs`` (exact MILP through highspy, default), ``cpsat``
    (OR-Tools CP-SAT), ``pyomo`` (Pyomo model solved by HiGHS) or ``greedy``
    (first come first served baseline). ``time_limit`` in seconds stops with
    the best plan found (status ``feasible``); ``mip_gap`` is the relative gap
    at which a plan counts as optimal. ``decompose`` solves independent parts
    apart (exact); ``naive`` builds the contract's rows literally and solves
    one MILP (the benchmark baseline).
    """
    if not isinstance(snapshot, Snapshot):
        snapshot = load_snapshot(snapshot)
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")
    with interrupt.session():
        return _allocate(snapshot, solver, time_limit, threads, mip_gap, seed, warm_start, decompose, naive, log)


def _allocate(snapshot, solver, time_limit, threads, mip_gap, seed, warm_start, decompose, naive, log) -> Plan:
    formulation = build_formulation(snapshot, naive=naive)
    options = {
        "solver": solver,
        "time_limit": time_limit,
        "threads": threads,
        "mip_gap": mip_gap,
        "seed": seed,
        "decompose": decompose and not naive,
        "naive": naive,
    }
    result = solve(
        formulation,
        solver,
        time_limit=time_limit,
        threads=threads,
        mip_gap=mip_gap,
        seed=seed,
        warm_start=warm_start,
        decompose=decompose and not naive,
        log=log,
    )
    return make_plan(formulation, result, options)


def solve(
    formulation: Formulation, solver: str = "highs", warm_start: bool = True, decompose: bool = True, **options
) -> SolveResult:
    """Solve a built formulation with one route; returns a SolveResult.

    Ctrl-C stops the solve and returns the best plan found (``interrupt.py``).
    """
    if solver == "greedy":
        return solve_greedy(formulation)
    with interrupt.session(), watchdog(options.get("time_limit")):
        start = warm_start_plan(formulation) if warm_start else None
        if decompose:
            return solve_decomposed(formulation, ROUTES[solver], solver, warm_start=start, **options)
        return ROUTES[solver](formulation, warm_start=start, **options)


@contextlib.contextmanager
def watchdog(time_limit: float | None, grace: float = 2.0):
    """Past time_limit + grace seconds, ask every running solver to stop.

    Solvers honour their own time limits, but some phases (presolve of a very
    large model) check the clock rarely; the watchdog makes the command end
    near the limit with the best plan found.
    """
    if time_limit is None:
        yield
        return
    timer = threading.Timer(time_limit + grace, interrupt.stop_all, args=("stopped at the time limit",))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
