"""OR-Tools CP-SAT route, and the one CP-SAT model builder (shared with the search's
neighbourhoods): rows and objective scaled exactly to integers.

The optimum found in scaled units is divided back, so it is reported in
contract units and equals the contract's optimum.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import scipy.sparse as sp

from optimiser.model.formulation import Formulation
from optimiser.model.scaling import ScalingError, scale_objective, scale_rows
from optimiser.solve.cancel import Cancellation
from optimiser.solve.options import SolveOptions
from optimiser.solve.result import SolveResult, Status, Termination
from optimiser.solve.route import Capability, WarmStart

NO_LOWER = -(2**63)  # a linear row with no lower end (as CpModel writes "<=": int64 min)


def cpsat_model(rows: sp.csr_matrix, upper: np.ndarray, costs: np.ndarray, ones: np.ndarray | None = None, hint=None):
    """A CpModel over binaries x_j, one per column of ``rows`` (integer coefficients):

        minimise costs @ x   s.t.  rows @ x <= upper,  x_j = 1 for j in ``ones``

    with ``hint`` (a 0/1 vector) as the solution hint. Variable j is the proto's variable j;
    read a plan back with ``plan_of``.

    Written straight into the model's proto (repeated fields extended from lists) rather
    than through ``new_bool_var`` and linear expressions: a search neighbourhood's model is
    built about four times faster (0.35 s against 1.43 s for 109 neighbourhoods of
    simulated ics-v2 days), and the model is the same."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    proto = model.proto
    n = rows.shape[1]
    fixed = np.zeros(n, dtype=bool)
    if ones is not None:
        fixed[np.asarray(ones, dtype=np.int64)] = True
    for j in range(n):
        proto.variables.add().domain.extend((1, 1) if fixed[j] else (0, 1))
    indices, data, pointers = rows.indices.tolist(), rows.data.astype(np.int64).tolist(), rows.indptr.tolist()
    limits = np.asarray(upper, dtype=np.int64).tolist()
    for r in range(rows.shape[0]):
        lo, hi = pointers[r], pointers[r + 1]
        linear = proto.constraints.add().linear
        linear.vars.extend(indices[lo:hi])
        linear.coeffs.extend(data[lo:hi])
        linear.domain.extend((NO_LOWER, limits[r]))
    costs = np.asarray(costs, dtype=np.int64)
    used = np.flatnonzero(costs)
    proto.objective.vars.extend(used.tolist())
    proto.objective.coeffs.extend(costs[used].tolist())
    if hint is not None:
        proto.solution_hint.vars.extend(range(n))
        proto.solution_hint.values.extend(np.round(np.asarray(hint, dtype=float)).astype(np.int64).tolist())
    return model


def plan_of(solver) -> np.ndarray:
    """The 0/1 plan of a solved ``cpsat_model`` (one value per column)."""
    return np.asarray(solver.response_proto.solution, dtype=float)


def termination_of(status) -> Termination:
    from ortools.sat.python import cp_model

    return {
        cp_model.OPTIMAL: Termination.OPTIMAL,
        cp_model.FEASIBLE: Termination.TIME_LIMIT,
        cp_model.INFEASIBLE: Termination.INFEASIBLE,
        cp_model.UNKNOWN: Termination.NO_SOLUTION,
    }.get(status, Termination.ERROR)


class CpSatRoute:
    """CP-SAT on the integer-scaled model; status optimal, feasible (stopped at a limit) or error."""

    name = "cpsat"
    warm_start = WarmStart.HINT
    capabilities = frozenset({Capability.CAN_STOP})

    def solve(self, formulation: Formulation, options: SolveOptions, cancel: Cancellation) -> SolveResult:
        from ortools.sat.python import cp_model

        started = time.perf_counter()
        matrix, upper = formulation.matrix()
        matrix, upper = scale_rows(matrix, upper)
        try:
            costs, multiplier = scale_objective(formulation.objective)
            note = ""
        except ScalingError:  # weights that are not small-denominator rationals: round to 1e-6
            multiplier = 10**6
            costs = np.round(formulation.objective * multiplier).astype(np.int64)
            note = "; objective rounded to 1e-6 for CP-SAT"
        model = cpsat_model(matrix, upper, costs, np.flatnonzero(formulation.lower > 0.5), options.warm_start)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = max(1, int(options.threads))
        solver.parameters.random_seed = int(options.seed)
        solver.parameters.relative_gap_limit = float(options.mip_gap)
        solver.parameters.log_search_progress = bool(options.log)
        solver.parameters.log_to_stdout = False  # the log, if any, goes to stderr: stdout stays the command's
        if options.log:
            solver.log_callback = lambda line: print(line, file=sys.stderr)
        if options.time_limit is not None:
            solver.parameters.max_time_in_seconds = float(options.time_limit)
        with cancel.registered(solver.stop_search):
            status = cancel.run(solver.solve, model)
        seconds = time.perf_counter() - started
        termination = termination_of(status)
        if cancel.root.cancelled and termination != Termination.OPTIMAL:
            termination = Termination.INTERRUPTED
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            values = plan_of(solver)
            bound = formulation.constant + solver.best_objective_bound / multiplier
            objective = formulation.value(values)
            ours = Status.OPTIMAL if status == cp_model.OPTIMAL else Status.FEASIBLE
            return SolveResult(
                ours, values, objective, min(bound, objective), self.name, seconds, solver.status_name(status) + note, termination
            )
        return SolveResult(
            Status.ERROR, None, float("inf"), float("-inf"), self.name, seconds, solver.status_name(status), termination
        )
