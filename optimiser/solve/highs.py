"""HiGHS route (highspy): the Formulation passed as one column-wise LP with integrality,
and the one LP helper (``solve_lp``: the relaxation's optimum and its duals per row family).

HiGHS runs outside the main thread (``cancel.py``) so that Ctrl-C cancels the solve
and the best plan found so far is still reported.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

import numpy as np

from optimiser.model.formulation import Formulation
from optimiser.solve.cancel import Cancellation
from optimiser.solve.options import SolveOptions
from optimiser.solve.result import LPResult, SolveResult, Status, Termination
from optimiser.solve.route import Capability, WarmStart

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
    if log:  # the log goes to stderr, so that stdout stays the command's own (--json)
        highs.setOptionValue("log_to_console", False)
        highs.setOptionValue("log_file", "/dev/stderr" if os.path.exists("/dev/stderr") else "highs.log")
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


def termination_of(highs) -> Termination:
    """HiGHS's model status as a Termination."""
    import highspy

    status = highs.getModelStatus()
    statuses = highspy.HighsModelStatus
    if status == statuses.kOptimal:
        return Termination.OPTIMAL
    if status == statuses.kTimeLimit:
        return Termination.TIME_LIMIT
    if status in (statuses.kSolutionLimit, statuses.kIterationLimit):
        return Termination.WORK_LIMIT
    if status == statuses.kInterrupt:
        return Termination.INTERRUPTED
    if status in (statuses.kInfeasible, statuses.kUnboundedOrInfeasible):
        return Termination.INFEASIBLE
    return Termination.ERROR


class HighsRoute:
    """The exact MILP by HiGHS; status optimal, feasible (a limit or a cancellation stopped it) or error.

    ``SolveOptions.node_limit``: stop after that many branch-and-bound nodes (the
    root node always completes), a limit that does not depend on the machine's
    speed: with one thread HiGHS then returns the same plan on every run.
    """

    name = "highs"
    warm_start = WarmStart.EXACT
    capabilities = frozenset({Capability.NODE_LIMIT, Capability.CAN_STOP, Capability.SEARCHED})

    def _run(self, formulation: Formulation, options: SolveOptions, cancel: Cancellation, presolve: bool):
        """One HiGHS run: (the Highs, x or None, our objective of x, HiGHS's bound)."""
        import highspy

        highs = make_highs(formulation, threads=options.threads, seed=options.seed, mip_gap=options.mip_gap, log=options.log)
        if not presolve:
            highs.setOptionValue("presolve", "off")
        if options.time_limit is not None:
            highs.setOptionValue("time_limit", float(options.time_limit))
        if options.node_limit is not None:
            highs.setOptionValue("mip_max_nodes", int(options.node_limit))
        if options.warm_start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = np.asarray(options.warm_start, dtype=float).tolist()
            solution.value_valid = True
            highs.setSolution(solution)
        if options.on_progress is not None:
            report = options.on_progress
            highs.cbMipInterrupt.subscribe(lambda event: report(event.data_out.mip_primal_bound, event.data_out.mip_dual_bound))
        run(highs, cancel)
        info = highs.getInfo()
        has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.round(np.asarray(highs.getSolution().col_value)) if has_plan else None
        objective = formulation.value(x) if has_plan else float("inf")
        bound = float(info.mip_dual_bound)
        if not np.isfinite(bound):
            bound = float("-inf")
        return highs, x, objective, bound

    def solve(self, formulation: Formulation, options: SolveOptions, cancel: Cancellation) -> SolveResult:
        started = time.perf_counter()
        if formulation.num_variables == 0:
            value = formulation.constant
            return SolveResult(Status.OPTIMAL, np.zeros(0), value, value, self.name, time.perf_counter() - started)
        highs, x, objective, bound = self._run(formulation, options, cancel, presolve=True)
        if x is not None and not cancel.root.cancelled and not _as_reported(highs, objective):
            # HiGHS 1.16 can hand back a point that is not the one it reports after presolve
            # with a warm start (a column it removed keeps the start's value): solve again
            # without presolve, from the better of that point and the start
            left = None if options.time_limit is None else max(options.time_limit - (time.perf_counter() - started), 0.01)
            retry = options.replace(time_limit=left, warm_start=x if formulation.violations(x) == [] else options.warm_start)
            highs, x, objective, bound = self._run(formulation, retry, cancel, presolve=False)
        info = highs.getInfo()
        seconds = time.perf_counter() - started
        has_plan = x is not None
        termination = termination_of(highs)
        if termination == Termination.OPTIMAL and has_plan:
            ours = Status.OPTIMAL
        elif has_plan:
            ours = Status.FEASIBLE
        else:
            ours = Status.ERROR
        stopped = cancel.root.cancelled
        message = cancel.root.reason if stopped else highs.modelStatusToString(highs.getModelStatus())
        return SolveResult(
            ours,
            x,
            objective,
            min(bound, objective) if has_plan else bound,
            self.name,
            seconds,
            message,
            termination,
            nodes=int(info.mip_node_count),
        )


def _as_reported(highs, objective: float) -> bool:
    """The point HiGHS returned has the objective it reports (up to rounding)."""
    reported = float(highs.getInfo().objective_function_value)
    return abs(reported - objective) <= 1e-6 * max(1.0, abs(objective))


def solve_lp(formulation: Formulation, time_limit: float | None = None, cancel: Cancellation | None = None) -> LPResult:
    """The LP relaxation by simplex (so its optimum is a vertex): x, objective and the
    row duals of each RowBlock family; ``x`` is None if it was not solved to optimality."""
    import highspy

    started = time.perf_counter()
    if formulation.num_variables == 0:
        return LPResult(np.zeros(0), formulation.constant, {}, 0.0)
    highs = make_highs(formulation, threads=1, relax=True)
    if time_limit is not None:
        highs.setOptionValue("time_limit", float(time_limit))
    run(highs, cancel or Cancellation())
    seconds = time.perf_counter() - started
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return LPResult(None, float(highs.getInfo().objective_function_value), {}, seconds)
    solution = highs.getSolution()
    row_dual = np.asarray(solution.row_dual)
    duals, offset = {}, 0
    for block in formulation.blocks:
        duals[block.family] = row_dual[offset : offset + block.size]
        offset += block.size
    return LPResult(np.asarray(solution.col_value), float(highs.getInfo().objective_function_value), duals, seconds)


def solve_highs(formulation: Formulation, cancel: Cancellation | None = None, **options) -> SolveResult:
    """The HiGHS route with ``SolveOptions(**options)``: a shorthand for scripts and tests."""
    return HighsRoute().solve(formulation, SolveOptions(**options), cancel or Cancellation())


def run(highs, cancel: Cancellation) -> None:
    """Run the solve; cancelling ``cancel`` (Ctrl-C, the watchdog, another thread) stops it."""
    highs.HandleUserInterrupt = True
    with cancel.registered(highs.cancelSolve):
        cancel.run(highs.run)
