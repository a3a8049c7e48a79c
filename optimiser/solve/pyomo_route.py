"""Pyomo route: the Formulation written as a Pyomo model and handed to HiGHS through
Pyomo's solver interface (``pyomo.contrib.solver`` 'highs').

The model is the same matrix: one binary per eligible triple, one ``<=`` row per
formulation row, the pinned lower bounds, the objective with its constant.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

from optimiser.model.formulation import Formulation
from optimiser.solve.cancel import Cancellation
from optimiser.solve.options import SolveOptions
from optimiser.solve.result import SolveResult, Status, Termination
from optimiser.solve.route import Capability, WarmStart

_PYOMO = threading.Lock()  # Pyomo's modelling layer is not thread-safe: one model at a time


def build_pyomo_model(formulation: Formulation):
    """A Pyomo ConcreteModel of the formulation (x[j] binary, rows[i], objective)."""
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    n = formulation.num_variables
    matrix, upper = formulation.matrix()
    model = pyo.ConcreteModel(name="discharge_placement")
    model.x = pyo.Var(range(n), domain=pyo.Binary)
    for j in np.flatnonzero(formulation.lower > 0.5):
        model.x[int(j)].setlb(1)
    x = [model.x[j] for j in range(n)]
    model.rows = pyo.ConstraintList()
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        expression = LinearExpression(
            constant=0.0,
            linear_coefs=matrix.data[start:end].tolist(),
            linear_vars=[x[j] for j in matrix.indices[start:end]],
        )
        model.rows.add(expression <= float(upper[row]))
    model.objective = pyo.Objective(
        expr=LinearExpression(constant=float(formulation.constant), linear_coefs=formulation.objective.tolist(), linear_vars=x),
        sense=pyo.minimize,
    )
    return model


class PyomoRoute:
    """The Pyomo model solved by HiGHS; status optimal, feasible or error. Pyomo's HiGHS
    interface takes no warm start and cannot be stopped mid-solve."""

    name = "pyomo"
    warm_start = WarmStart.NONE
    capabilities: frozenset[Capability] = frozenset()

    def solve(self, formulation: Formulation, options: SolveOptions, cancel: Cancellation) -> SolveResult:
        called = time.perf_counter()
        with _PYOMO:
            time_limit = options.time_limit
            if time_limit is not None:  # the wait for the lock counts against the limit
                time_limit = max(time_limit - (time.perf_counter() - called), 0.01)
            return _solve_pyomo(formulation, options.replace(time_limit=time_limit))


def _solve_pyomo(formulation: Formulation, options: SolveOptions) -> SolveResult:
    from pyomo.contrib.solver.common.factory import SolverFactory

    started = time.perf_counter()
    n = formulation.num_variables
    if n == 0:
        return SolveResult(Status.OPTIMAL, np.zeros(0), formulation.constant, formulation.constant, "pyomo", 0.0)
    model = build_pyomo_model(formulation)
    if options.warm_start is not None:  # values only: the interface does not hand them to HiGHS
        for j, value in enumerate(np.round(options.warm_start)):
            model.x[j].set_value(float(value))
    solver = SolverFactory("highs")
    results = _solve(solver, model, options)
    return _result(formulation, model, results, time.perf_counter() - started)


def _solve(solver, model, options: SolveOptions):
    return solver.solve(
        model,
        tee=[sys.stderr] if options.log else False,  # the log on stderr: stdout stays the command's
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        time_limit=options.time_limit,
        threads=int(options.threads),
        rel_gap=float(options.mip_gap),
        solver_options={"random_seed": int(options.seed), "mip_abs_gap": 1e-9},
    )


def _result(formulation: Formulation, model, results, seconds: float) -> SolveResult:
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    n = formulation.num_variables
    termination = _termination_map().get(results.termination_condition, Termination.ERROR)
    has_plan = results.solution_status in (SolutionStatus.feasible, SolutionStatus.optimal)
    if not has_plan:
        return SolveResult(
            Status.ERROR, None, float("inf"), float("-inf"), "pyomo", seconds, str(results.termination_condition), termination
        )
    results.solution_loader.load_vars()
    values = np.array([model.x[j].value or 0.0 for j in range(n)])
    objective = formulation.value(values)
    bound = results.objective_bound
    bound = float("-inf") if bound is None else float(bound)
    optimal = results.termination_condition == TerminationCondition.convergenceCriteriaSatisfied
    return SolveResult(
        Status.OPTIMAL if optimal else Status.FEASIBLE,
        np.round(values),
        objective,
        min(bound, objective),
        "pyomo",
        seconds,
        str(results.termination_condition.name),
        termination,
    )


def _termination_map() -> dict:
    from pyomo.contrib.solver.common.results import TerminationCondition as native

    return {
        native.convergenceCriteriaSatisfied: Termination.OPTIMAL,
        native.maxTimeLimit: Termination.TIME_LIMIT,
        native.iterationLimit: Termination.WORK_LIMIT,
        native.interrupted: Termination.INTERRUPTED,
        native.provenInfeasible: Termination.INFEASIBLE,
        native.locallyInfeasible: Termination.INFEASIBLE,
    }
