"""Exact solve by parts: each independent component solved on its own, in parallel.

The plan is the union of the components' plans, its objective the whole
model's objective, and its bound the sum of the components' bounds plus the
cost of patients with no variable (a true bound: components share no row).
A bed-pathway component is solved as an LP first: its optimum is integral
(``decompose.py``), so an integral vertex is proven optimal at once; if the
vertex were fractional (numerics), the component goes to the MILP route.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..decompose import Component, components
from ..formulation import Formulation
from . import interrupt
from .highs import solve_highs
from .result import SolveResult, Status

INTEGRAL = 1e-6


def solve_decomposed(
    formulation: Formulation,
    route: Callable[..., SolveResult],
    name: str,
    time_limit: float | None = None,
    threads: int = 1,
    mip_gap: float = 1e-6,
    seed: int = 0,
    warm_start: np.ndarray | None = None,
    log: bool = False,
    network_lp: bool = True,
) -> SolveResult:
    """Solve every component with ``route`` (threads spread over components)."""
    started = time.perf_counter()
    deadline = None if time_limit is None else started + time_limit
    parts = components(formulation)
    x = np.zeros(formulation.num_variables)
    in_model = np.zeros(len(formulation.unplaced_cost), dtype=bool)
    in_model[formulation.patients_in_model()] = True
    bound = float(formulation.unplaced_cost[~in_model].sum())

    def solve_part(part: Component) -> SolveResult:
        sub = formulation.subset(part.columns)
        start = None if warm_start is None else warm_start[part.columns]
        if network_lp and part.network:
            relaxed = solve_highs(sub, time_limit=_left(deadline), threads=1, relax=True)
            if relaxed.x is not None and np.all(np.abs(relaxed.x - np.round(relaxed.x)) <= INTEGRAL):
                value = sub.value(relaxed.x)
                return SolveResult(Status.OPTIMAL, np.round(relaxed.x), value, value, "highs-lp", relaxed.solve_seconds)
        return route(sub, time_limit=_left(deadline), threads=1, mip_gap=mip_gap, seed=seed, warm_start=start, log=log)

    workers = max(1, min(int(threads), len(parts)))
    interrupt.interrupted.clear()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(solve_part, part) for part in parts]
        interrupt.wait_all(futures)
        results = [future.result() for future in futures]

    statuses = []
    for part, result in zip(parts, results):
        if result.x is None:  # no plan for this part: fall back to the warm start (or nobody placed)
            if warm_start is not None:
                x[part.columns] = warm_start[part.columns]
            statuses.append(Status.FEASIBLE)
            bound = float("-inf")
            continue
        x[part.columns] = result.x
        bound += result.bound
        statuses.append(result.status)
    objective = formulation.value(x)
    status = Status.OPTIMAL if all(s == Status.OPTIMAL for s in statuses) else Status.FEASIBLE
    details = {
        "components": len(parts),
        "largest_component": int(max((len(p.columns) for p in parts), default=0)),
        "network_components": int(sum(p.network for p in parts)),
        "component_seconds": [round(r.solve_seconds, 3) for r in results],
    }
    return SolveResult(
        status,
        x,
        objective,
        min(bound, objective),
        name,
        time.perf_counter() - started,
        "optimal" if status == Status.OPTIMAL else "stopped at a limit",
        details,
    )


def _left(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(deadline - time.perf_counter(), 0.01)
