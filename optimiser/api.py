"""The Python API: load a snapshot, allocate, get a Plan. The CLI is a thin layer over this."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .dominance import repair, with_dominance
from .formulation import Formulation, build_formulation
from .greedy import solve_greedy, warm_start_plan
from .plan import Plan, make_plan
from .previous import columns_of, placement_triples, start_vector, with_disruption_penalty
from .snapshot import Snapshot, load_snapshot
from .solvers import interrupt
from .solvers.cpsat import solve_cpsat
from .solvers.decomposed import no_worse_than_start, solve_decomposed
from .solvers.highs import solve_highs
from .solvers.pyomo_route import solve_pyomo
from .solvers.result import SolveResult

ROUTES = {"highs": solve_highs, "cpsat": solve_cpsat, "pyomo": solve_pyomo}
SOLVERS = (*ROUTES, "greedy")
DISRUPTION_PENALTY = 3.0  # objective units: about three days' wait of a priority-1 patient


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
    keep: pd.DataFrame | None = None,
    disruption_penalty: float = DISRUPTION_PENALTY,
    start: pd.DataFrame | None = None,
    work_limit: int | None = None,
) -> Plan:
    """Match patients to places over the horizon; return the Plan.

    ``solver``: ``highs`` (exact MILP through highspy, default), ``cpsat``
    (OR-Tools CP-SAT), ``pyomo`` (Pyomo model solved by HiGHS) or ``greedy``
    (first come first served baseline). ``time_limit`` in seconds, counted
    from the call (loading, building and the warm start included), stops with
    the best plan found (status ``feasible``); ``mip_gap`` is the relative gap
    at which a plan counts as optimal. ``decompose`` solves independent parts
    apart (exact); ``naive`` builds the contract's rows literally and solves
    one MILP (the benchmark baseline).

    ``keep``: an earlier plan's placements (patient_id, service_id,
    start_date; see ``previous.read_plan_placements``). Each patient moved
    from its earlier service and date adds ``disruption_penalty`` to the
    objective solved; the plan's ``objective`` stays the standard one, and
    status, bound and gap of the penalised objective are in
    ``summary["keep"]``. ``start``: placements to start the search from
    (used when they are feasible and better than the greedy plan).

    ``work_limit`` (``highs``): limits that count work, not seconds, so the
    same snapshot and options give the same plan on any machine and under
    any load: each part's exact solve stops after its root node, then the
    neighbourhood search gets
    ``work_limit`` neighbourhoods in all. ``time_limit`` is then a safety
    cap; the summary's message is ``work limit reached`` when it did not cut in.
    """
    started = time.perf_counter()
    if not isinstance(snapshot, Snapshot):
        snapshot = load_snapshot(snapshot)
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")
    check_work_limit(work_limit, solver, decompose and not naive)
    options = {
        "solver": solver,
        "time_limit": time_limit,
        "threads": threads,
        "mip_gap": mip_gap,
        "seed": seed,
        "decompose": decompose and not naive,
        "naive": naive,
        "work_limit": work_limit,
    }
    solve_options = dict(time_limit=time_limit, threads=threads, mip_gap=mip_gap, seed=seed, log=log)
    if work_limit is not None:
        solve_options["work_limit"] = work_limit
    with interrupt.session():
        kept = None if keep is None else placement_triples(snapshot, keep)
        formulation = build_formulation(snapshot, naive=naive, protect=kept)
        given = None if start is None else start_vector(formulation, placement_triples(snapshot, start))
        solve_options["time_limit"] = _left(time_limit, started)
        if kept is None:
            result = solve(
                formulation,
                solver,
                warm_start=warm_start,
                decompose=decompose and not naive,
                start=given,
                **solve_options,
            )
            return make_plan(formulation, result, options)
        penalised = with_disruption_penalty(formulation, kept, disruption_penalty)
        if given is None:
            given = start_vector(formulation, kept)
        result = solve(
            penalised,
            solver,
            warm_start=warm_start,
            decompose=decompose and not naive,
            start=given,
            **solve_options,
        )
        return _plan_with_keep(formulation, result, kept, disruption_penalty, options)


def _plan_with_keep(formulation: Formulation, result: SolveResult, kept: pd.DataFrame, penalty: float, options: dict) -> Plan:
    """The plan judged by the standard objective; the penalised solve's figures under ``summary["keep"]``."""
    x = result.x if result.x is not None else np.zeros(formulation.num_variables)
    columns = columns_of(formulation, kept)
    stayed = int(np.sum(x[columns[columns >= 0]] > 0.5))
    standard = dataclasses.replace(result, objective=formulation.value(x), bound=float("-inf"))
    plan = make_plan(formulation, standard, {**options, "keep": True, "disruption_penalty": penalty})
    plan.summary["keep"] = {
        "previous_placements": int(len(np.unique(kept["patient"]))),
        "kept": stayed,
        "moved": int(len(np.unique(kept["patient"])) - stayed),
        "disruption_penalty": penalty,
        "status": result.status.value,
        "penalised_objective": result.objective,
        "penalised_bound": result.bound,
        "penalised_gap": result.gap,
        "parts": plan.summary["parts"],  # the parts' gaps are those of the penalised solve
    }
    plan.summary["parts"] = None
    return plan


def solve(
    formulation: Formulation,
    solver: str = "highs",
    warm_start: bool = True,
    decompose: bool = True,
    start: np.ndarray | None = None,
    polish: bool = True,
    dominance: bool = False,
    **options,
) -> SolveResult:
    """Solve a built formulation with one route; returns a SolveResult.

    The search starts from the better of the greedy plans and ``start`` (a
    feasible 0/1 vector), unless ``warm_start`` is False. With ``polish`` (the
    highs route, by components, under a time limit) a component HiGHS has not
    proven optimal in half its time is improved by large-neighbourhood search
    for the other half (``solvers/lns.py``); the bound stays HiGHS's. With
    ``dominance`` (off by default: measured, it did not pay) the model gets
    rows that order interchangeable pathway-1 patients (``dominance.py``: same
    optimum, fewer equivalent branches) and the warm start is swapped to keep
    them. Ctrl-C stops the solve and returns
    the best plan found (``interrupt.py``).
    """
    if solver == "greedy":
        return solve_greedy(formulation)
    if options.get("work_limit") is None:
        options.pop("work_limit", None)
    check_work_limit(options.get("work_limit"), solver, decompose)
    started = time.perf_counter()
    with interrupt.session(), watchdog(options.get("time_limit")):
        initial = warm_start_plan(formulation) if warm_start else None
        if initial is not None and start is not None and formulation.value(start) < formulation.value(initial):
            initial = start
        if dominance:
            formulation, pairs = with_dominance(formulation)
            if initial is not None:
                initial = repair(formulation, pairs, initial)
        options["time_limit"] = _left(options.get("time_limit"), started)
        if decompose:
            return solve_decomposed(
                formulation, ROUTES[solver], solver, warm_start=initial, polish=polish and solver == "highs", **options
            )
        return no_worse_than_start(formulation, ROUTES[solver](formulation, warm_start=initial, **options), initial)


def check_work_limit(work_limit: int | None, solver: str, decompose: bool) -> None:
    """A work limit is for the HiGHS route by components (ValueError otherwise)."""
    if work_limit is None:
        return
    if solver != "highs" or not decompose:
        raise ValueError("a work limit applies to the highs solver with the model split into parts (not naive)")
    if int(work_limit) < 0:
        raise ValueError("the work limit is a number of neighbourhoods, 0 or more")


def _left(time_limit: float | None, started: float) -> float | None:
    """What is left of a time limit counted from ``started`` (at least a moment, so a plan comes back)."""
    if time_limit is None:
        return None
    return max(time_limit - (time.perf_counter() - started), 0.05)


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
