"""HiGHS route (highspy): the Formulation passed as one column-wise LP with integrality.

HiGHS runs outside the main thread (``interrupt.py``) so that Ctrl-C cancels the
solve and the best plan found so far is still reported.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

import numpy as np

from ..formulation import Formulation
from . import interrupt
from .result import SolveResult, Status

_stdout_lock = threading.Lock()


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C-level stdout (HiGHS prints a banner when a Highs object is made).

    Serialised: were two threads to interleave, the second would save the
    first's /dev/null as "stdout" and restore it last, silencing the process
    for good (seen as an empty --json output).
    """
    with _stdout_lock:
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError):  # no real stdout (e.g. under a test runner capture)
            yield
            return
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def make_highs(
    formulation: Formulation, threads: int = 1, seed: int = 0, mip_gap: float = 1e-6, log: bool = False, relax: bool = False
):
    """A highspy.Highs holding the formulation (column-wise, binaries unless ``relax``), options set."""
    import highspy

    matrix, upper = formulation.matrix()
    n = formulation.num_variables
    with _quiet_stdout():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", bool(log))
    highs.setOptionValue("threads", int(threads))
    highs.setOptionValue("random_seed", int(seed))
    highs.setOptionValue("mip_rel_gap", float(mip_gap))
    highs.setOptionValue("mip_abs_gap", 1e-9)
    columns = matrix.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = formulation.objective.astype(float)
    lp.col_lower_ = formulation.lower.astype(float)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(matrix.shape[0], -highspy.kHighsInf)
    lp.row_upper_ = upper.astype(float)
    lp.offset_ = float(formulation.constant)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = columns.indptr.astype(np.int32)
    lp.a_matrix_.index_ = columns.indices.astype(np.int32)
    lp.a_matrix_.value_ = columns.data.astype(float)
    if relax:
        highs.setOptionValue("solver", "simplex")
    else:
        lp.integrality_ = np.full(n, highspy.HighsVarType.kInteger)
    highs.passModel(lp)
    return highs


def solve_highs(
    formulation: Formulation,
    time_limit: float | None = None,
    threads: int = 1,
    mip_gap: float = 1e-6,
    seed: int = 0,
    warm_start: np.ndarray | None = None,
    log: bool = False,
    relax: bool = False,
    stop: threading.Event | None = None,
    node_limit: int | None = None,
) -> SolveResult:
    """Solve with HiGHS; status optimal, feasible (a limit, Ctrl-C or ``stop`` stopped it) or error.

    ``node_limit``: stop after that many branch-and-bound nodes (the root
    node always completes), a limit that does not depend on the machine's
    speed: with one thread HiGHS then returns the same plan on every run.

    ``relax=True`` solves the LP relaxation (simplex, so the solution is a
    vertex); the result then holds the LP solution and its value, unrounded,
    and ``details["row_dual"]`` (one per row of ``formulation.matrix()``, <= 0).
    """
    import highspy

    started = time.perf_counter()
    n = formulation.num_variables
    if n == 0:
        return SolveResult(
            Status.OPTIMAL, np.zeros(0), formulation.constant, formulation.constant, "highs", time.perf_counter() - started
        )
    highs = make_highs(formulation, threads=threads, seed=seed, mip_gap=mip_gap, log=log, relax=relax)
    if time_limit is not None:
        highs.setOptionValue("time_limit", float(time_limit))
    if node_limit is not None:
        highs.setOptionValue("mip_max_nodes", int(node_limit))
    if warm_start is not None and not relax:
        solution = highspy.HighsSolution()
        solution.col_value = np.asarray(warm_start, dtype=float).tolist()
        solution.value_valid = True
        highs.setSolution(solution)

    interrupted = _run(highs, stop)
    status = highs.getModelStatus()
    info = highs.getInfo()
    seconds = time.perf_counter() - started
    if relax:
        optimal = status == highspy.HighsModelStatus.kOptimal
        solution = highs.getSolution()
        values = np.asarray(solution.col_value)
        value = float(info.objective_function_value)
        return SolveResult(
            Status.OPTIMAL if optimal else Status.ERROR,
            values if optimal else None,
            value,
            value,
            "highs-lp",
            seconds,
            highs.modelStatusToString(status),
            {"row_dual": np.asarray(solution.row_dual)} if optimal else {},
        )
    has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.round(np.asarray(highs.getSolution().col_value)) if has_plan else None
    objective = formulation.value(x) if has_plan else float("inf")
    bound = float(info.mip_dual_bound)
    if not np.isfinite(bound):
        bound = float("-inf")
    if status == highspy.HighsModelStatus.kOptimal and has_plan:
        ours = Status.OPTIMAL
    elif has_plan:
        ours = Status.FEASIBLE
    else:
        ours = Status.ERROR
    message = interrupt.stop_reason[0] if interrupted else highs.modelStatusToString(status)
    return SolveResult(
        ours,
        x,
        objective,
        min(bound, objective) if has_plan else bound,
        "highs",
        seconds,
        message,
        {"nodes": int(info.mip_node_count), "highs_status": highs.modelStatusToString(status)},
    )


def _run(highs, stop: threading.Event | None = None) -> bool:
    """Run the solve; a Ctrl-C (see ``interrupt.py``) or setting ``stop`` cancels it.
    True if Ctrl-C (or the watchdog) interrupted it."""
    highs.HandleUserInterrupt = True
    key = interrupt.register(highs.cancelSolve)
    done = threading.Event()
    watcher = None
    if stop is not None:

        def watch() -> None:
            while not done.is_set():
                if stop.wait(0.05):
                    highs.cancelSolve()
                    return

        watcher = threading.Thread(target=watch, name="highs-stop", daemon=True)
        watcher.start()
    try:
        interrupt.run_interruptibly(highs.run)
    finally:
        done.set()
        interrupt.unregister(key)
        if watcher is not None:
            watcher.join()
    return interrupt.interrupted.is_set()
