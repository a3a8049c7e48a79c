"""OR-Tools CP-SAT route: the Formulation with rows and objective scaled exactly to integers.

The optimum found in scaled units is divided back, so it is reported in
contract units and equals the contract's optimum.
"""

from __future__ import annotations

import time

import numpy as np

from ..formulation import Formulation
from ..scaling import ScalingError, scale_objective, scale_rows
from . import interrupt
from .result import SolveResult, Status


def solve_cpsat(
    formulation: Formulation,
    time_limit: float | None = None,
    threads: int = 1,
    mip_gap: float = 1e-6,
    seed: int = 0,
    warm_start: np.ndarray | None = None,
    log: bool = False,
) -> SolveResult:
    """Solve with CP-SAT; status optimal, feasible (stopped at a limit) or error."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    n = formulation.num_variables
    matrix, upper = formulation.matrix()
    matrix, upper = scale_rows(matrix, upper)
    try:
        costs, multiplier = scale_objective(formulation.objective)
        note = ""
    except ScalingError:  # weights that are not small-denominator rationals: round to 1e-6
        multiplier = 10**6
        costs = np.round(formulation.objective * multiplier).astype(np.int64)
        note = "; objective rounded to 1e-6 for CP-SAT"

    model = cp_model.CpModel()
    x = [model.NewBoolVar(f"x{j}") for j in range(n)]
    for j in np.flatnonzero(formulation.lower > 0.5):
        model.Add(x[j] == 1)
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        columns, coefs = matrix.indices[start:end], matrix.data[start:end].astype(np.int64)
        model.Add(sum(int(c) * x[j] for j, c in zip(columns, coefs)) <= int(upper[row]))
    model.Minimize(sum(int(c) * x[j] for j, c in enumerate(costs) if c != 0))
    if warm_start is not None:
        for j, value in enumerate(np.round(warm_start)):
            model.AddHint(x[j], int(value))

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, int(threads))
    solver.parameters.random_seed = int(seed)
    solver.parameters.relative_gap_limit = float(mip_gap)
    solver.parameters.log_search_progress = bool(log)
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = float(time_limit)
    key = interrupt.register(solver.StopSearch)
    try:
        status = interrupt.run_interruptibly(solver.Solve, model)
    finally:
        interrupt.unregister(key)
    seconds = time.perf_counter() - started
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.array([solver.BooleanValue(var) for var in x], dtype=float)
        bound = formulation.constant + solver.BestObjectiveBound() / multiplier
        objective = formulation.value(values)
        ours = Status.OPTIMAL if status == cp_model.OPTIMAL else Status.FEASIBLE
        return SolveResult(
            ours,
            values,
            objective,
            min(bound, objective),
            "cpsat",
            seconds,
            solver.StatusName(status) + note,
            {"objective_multiplier": multiplier},
        )
    return SolveResult(Status.ERROR, None, float("inf"), float("-inf"), "cpsat", seconds, solver.StatusName(status))
