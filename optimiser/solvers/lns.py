"""Large-neighbourhood search: a better plan, not a bound.

Pathway-1 components are multi-knapsacks over time that HiGHS does not close
in minutes; its incumbent improves slowly while its bound stalls. Here, from a
feasible plan x, repeat until the time is up:

1. pick a few services S: one at random, the others weighted by how many
   patients they share with it (where moves happen);
2. free x[p, s, d] for s in S and every patient p not placed outside S;
   fix every other variable at its value in x;
3. solve that sub-MILP (small: HiGHS presolve removes the fixed part) for a
   short time, starting from x, and keep its plan if it is better.

After ``PATIENCE`` tries in a row without a better plan the neighbourhoods
grow (one more service, 1.5 times the time, up to ``MOST_SERVICES``) to
leave the local optimum; a better plan resets them.

Every plan kept is feasible for the whole model (only bounds change), so the
result is never worse than x. The bound is not touched: the caller reports
the bound of its exact solve. Seeded, so the sequence of neighbourhoods is
fixed; how many are tried depends on the time given.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import scipy.sparse as sp

from ..formulation import Formulation
from . import interrupt
from .highs import _run, make_highs

SERVICES_PER_NEIGHBOURHOOD = 2
STEP_SECONDS = 0.5
PATIENCE = 20
MOST_SERVICES = 6


def improve(
    formulation: Formulation,
    x: np.ndarray,
    time_limit: float,
    seed: int = 0,
    services: int | None = None,
    step_seconds: float | None = None,
    stop: threading.Event | None = None,
) -> tuple[np.ndarray, dict]:
    """A plan at least as good as x (see module doc); returns (x, details).

    ``stop``: set by another thread to end the search early (e.g. when the
    exact solve beside it has proven its plan optimal).
    """
    import highspy

    services = SERVICES_PER_NEIGHBOURHOOD if services is None else services
    step_seconds = STEP_SECONDS if step_seconds is None else step_seconds

    started = time.perf_counter()
    n = formulation.num_variables
    variables = formulation.variables
    service = variables["service"].to_numpy()
    patient = variables["patient"].to_numpy()
    used_services = np.unique(service)
    if n == 0 or len(used_services) < 2 or time_limit <= step_seconds:
        return x, {"lns_steps": 0, "lns_improvements": 0}
    local_service = np.searchsorted(used_services, service)
    incidence = sp.csr_matrix((np.ones(n), (patient, local_service)))
    incidence.data[:] = 1.0
    shared = (incidence.T @ incidence).toarray()
    np.fill_diagonal(shared, 0.0)

    matrix, row_upper = formulation.matrix()
    highs = make_highs(formulation, threads=1, seed=seed)
    key = interrupt.register(highs.cancelSolve)
    highs.HandleUserInterrupt = True
    rng = np.random.default_rng(seed)
    index = np.arange(n, dtype=np.int32)
    best = np.round(np.asarray(x, dtype=float))
    value = formulation.value(best)
    steps = improvements = failures = 0
    k, step = min(services, len(used_services)), step_seconds
    try:
        while not interrupt.interrupted.is_set() and not (stop is not None and stop.is_set()):
            left = time_limit - (time.perf_counter() - started)
            if left < 0.05:
                break
            steps += 1
            first = int(rng.integers(len(used_services)))
            weights = shared[first] + 1e-3
            weights[first] = 0.0
            others = rng.choice(len(used_services), size=k - 1, replace=False, p=weights / weights.sum())
            chosen = np.isin(local_service, [first, *others])
            placed_outside = np.zeros(int(patient.max()) + 1, dtype=bool)
            placed_outside[patient[(best > 0.5) & ~chosen]] = True
            free = chosen & ~placed_outside[patient]
            lower = np.maximum(np.where(free, 0.0, best), formulation.lower)
            upper = np.where(free, 1.0, best)
            highs.changeColsBounds(n, index, lower, upper)
            start = highspy.HighsSolution()
            start.col_value = best.tolist()
            start.value_valid = True
            highs.setSolution(start)
            highs.setOptionValue("time_limit", float(min(step, left)))
            _run(highs, stop)
            has_plan = highs.getInfo().primal_solution_status == 2
            candidate = np.round(np.asarray(highs.getSolution().col_value)) if has_plan else best
            candidate_value = formulation.value(candidate)
            feasible = (
                has_plan and np.all(matrix @ candidate <= row_upper + 1e-6) and np.all(candidate >= formulation.lower - 1e-6)
            )
            if candidate_value < value - 1e-9 and feasible:
                best, value = candidate, candidate_value
                improvements += 1
                failures = 0
                k, step = min(services, len(used_services)), step_seconds
            else:
                failures += 1
                if failures >= PATIENCE and k < min(MOST_SERVICES, len(used_services)):
                    failures = 0
                    k, step = k + 1, step * 1.5
    finally:
        interrupt.unregister(key)
    return best, {"lns_steps": steps, "lns_improvements": improvements, "lns_seconds": round(time.perf_counter() - started, 3)}
