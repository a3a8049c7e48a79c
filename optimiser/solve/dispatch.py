"""``solve(formulation, solver)``: the warm start, the watchdog, and the route by name.

Routes are registered in ``ROUTES`` (a new route is one module and one entry);
``greedy`` is the first-come-first-served baseline, not a MILP route.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time

import numpy as np

from optimiser.model.dominance import repair, with_dominance
from optimiser.model.families.base import DIRECT, stage_of
from optimiser.model.families.interim import complete_stays
from optimiser.model.formulation import Formulation
from optimiser.solve.cancel import Cancellation, session
from optimiser.solve.cpsat import CpSatRoute
from optimiser.solve.greedy import solve_greedy, warm_start_plan
from optimiser.solve.highs import HighsRoute
from optimiser.solve.options import Deadline, SolveOptions, Tuning, checked_limits
from optimiser.solve.parts import no_worse_than_start, solve_by_parts
from optimiser.solve.progress import Board
from optimiser.solve.pyomo_route import PyomoRoute
from optimiser.solve.result import SolveResult
from optimiser.solve.route import Capability, Route

ROUTES: dict[str, Route] = {"highs": HighsRoute(), "cpsat": CpSatRoute(), "pyomo": PyomoRoute()}
BASELINE = "greedy"
SOLVERS = (*ROUTES, BASELINE)


def route_of(solver: str | Route) -> Route:
    """The registered route of that name (or the route itself)."""
    if not isinstance(solver, str):
        return solver
    if solver not in ROUTES:
        raise ValueError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")
    return ROUTES[solver]


def solve(
    formulation: Formulation,
    solver: str | Route = "highs",
    warm_start: bool = True,
    decompose: bool = True,
    start: np.ndarray | None = None,
    polish: bool = True,
    dominance: bool = False,
    time_limit: float | None = None,
    threads: int = 1,
    mip_gap: float = 1e-6,
    seed: int = 0,
    log: bool = False,
    work_limit: int | None = None,
    tuning: Tuning = Tuning(),
    cancel: Cancellation | None = None,
    progress: Board | None = None,
) -> SolveResult:
    """Solve a built formulation with one route; returns a SolveResult.

    The search starts from the best of the greedy plans, ``start`` (a feasible 0/1 vector)
    and ``start`` with the greedy rules placing the patients it leaves out
    (``warm_start_plan``), unless ``warm_start`` is False; the start is checked
    against the formulation's rows before it is used. With ``polish`` (routes
    with ``Capability.SEARCHED``, by parts, under a time or work limit) a part the
    route has not proven optimal is improved by large-neighbourhood search
    (``search.py``); the bound stays the route's. With ``dominance`` (off by
    default: measured, it did not pay) the model gets rows that order
    interchangeable pathway-1 patients (``model/dominance.py``: same optimum,
    fewer equivalent branches) and the warm start is swapped to keep them.
    Ctrl-C (or ``cancel``) stops the solve and returns the best plan found. ``progress``
    (``progress.py``) is told the plan and bound as they improve (the solve by parts).
    """
    if isinstance(solver, str) and solver == BASELINE:
        return solve_greedy(formulation)
    route = route_of(solver)
    time_limit = checked_limits(time_limit, threads, work_limit)
    check_work_limit(work_limit, route, decompose)
    started = time.perf_counter()
    with session(cancel) as cancellation, watchdog(time_limit, cancellation):
        keep = start if start is not None and not formulation.violations(start) else None  # a start that breaks rows: unused
        initial = warm_start_plan(formulation, keep=keep) if warm_start else None
        if initial is not None and formulation.violations(initial):
            raise AssertionError(f"the warm start breaks rows {formulation.violations(initial)[:5]}: a family's room is wrong")
        options = SolveOptions(
            time_limit=Deadline(time_limit, started).left(0.05),
            threads=threads,
            mip_gap=mip_gap,
            seed=seed,
            log=log,
            work_limit=work_limit,
            warm_start=initial,
        )
        searched = polish and Capability.SEARCHED in route.capabilities
        if decompose and journeys(formulation):
            options = _direct_first(formulation, route, options, cancellation, tuning, searched, Deadline(time_limit, started))
        if dominance:
            formulation, pairs = with_dominance(formulation)
            if options.warm_start is not None:
                options = options.replace(warm_start=repair(formulation, pairs, options.warm_start))
        if decompose:
            return solve_by_parts(formulation, route, options, cancellation, polish=searched, tuning=tuning, progress=progress)
        result = route.solve(formulation, options.replace(work_limit=None), cancellation)
        return no_worse_than_start(formulation, result, options.warm_start)


def journeys(formulation: Formulation) -> bool:
    """The model has interim entries (v2): pathways 1-3 are joined through the interim beds."""
    return bool((stage_of(formulation.variables) != DIRECT).any())


DIRECT_SHARE = 0.5  # of the time (or work) limit, for the plan without interim stays that starts a v2 solve


def direct_share(options: SolveOptions, tuning) -> float:
    """The plan without interim stays' share of the limit: ``DIRECT_SHARE``, but with the
    split (a time limit, ``joined="split"``) ``split_direct_share``: the split's pieces solve
    the same pathway-1 packing again and need the time more (ics-v2 at 60 s: 3,770 / 4.0%
    against 3,876 / 6.8% at 0.5), for a limit of ``split_direct_seconds`` or more (at 2 s a
    day the simulation of ics-v2 left 8,945 delayed bed-days with 0.1 against 8,406 with
    0.5: the start is worth more than the pieces' time; benchmarks/README.md)."""
    split = options.work_limit is None and options.time_limit is not None and tuning.parts.joined == "split"
    if split and options.time_limit >= tuning.parts.split_direct_seconds:
        return tuning.parts.split_direct_share
    return DIRECT_SHARE


def _direct_first(formulation, route, options: SolveOptions, cancel, tuning, searched: bool, deadline: Deadline) -> SolveOptions:
    """v2: interim beds join the pathways into one large part. First solve the model without
    interim stays (its direct starts: still split into small parts, each solved fast) for
    ``direct_share`` of the limit; its plan is feasible for the whole model and starts its
    solve, which then only has to find the interim stays that pay. Returns the options of the
    whole model's solve: that start, the time and work left."""
    direct = np.flatnonzero(stage_of(formulation.variables) == DIRECT)
    initial, work_limit = options.warm_start, options.work_limit
    share = direct_share(options, tuning)
    work = None if work_limit is None else int(work_limit * share)
    sub = formulation.subset(direct)  # without entries and stays, the interim rows tie nothing: drop them
    sub = dataclasses.replace(sub, blocks=[block for block in sub.blocks if block.family != "interim"])
    settings = options.replace(
        time_limit=None if options.time_limit is None else options.time_limit * share,
        work_limit=work,
        warm_start=None if initial is None else initial[direct],
    )
    result = solve_by_parts(sub, route, settings, cancel, polish=searched, tuning=tuning)
    if result.x is not None:
        x = np.zeros(formulation.num_variables)
        x[direct] = result.x
        x = complete_stays(formulation.variables, x)  # and who has started by each day
        if initial is None or formulation.value(x) < formulation.value(initial) - 1e-9:
            initial = x
    left = None if work_limit is None else work_limit - work
    return options.replace(time_limit=deadline.left(0.05), work_limit=left, warm_start=initial)


def check_work_limit(work_limit: int | None, solver: str | Route, decompose: bool) -> None:
    """A work limit is for a route with a node limit, by parts (ValueError otherwise)."""
    if work_limit is None:
        return
    counts = solver != BASELINE and Capability.NODE_LIMIT in route_of(solver).capabilities
    if not counts or not decompose:
        raise ValueError("a work limit applies to the highs solver with the model split into parts (not naive)")
    if int(work_limit) < 0:
        raise ValueError("the work limit is a number of neighbourhoods, 0 or more")


@contextlib.contextmanager
def watchdog(time_limit: float | None, cancel: Cancellation, grace: float = 2.0):
    """Past time_limit + grace seconds, cancel every running solver.

    Solvers honour their own time limits, but some phases (presolve of a very
    large model) check the clock rarely; the watchdog makes the command end
    near the limit with the best plan found.
    """
    if time_limit is None:
        yield
        return
    timer = threading.Timer(time_limit + grace, cancel.cancel, args=("stopped at the time limit",))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
