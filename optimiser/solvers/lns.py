"""Large-neighbourhood search: a better plan, not a bound.

Pathway-1 components are multi-knapsacks over time that HiGHS does not close
in minutes; its incumbent improves slowly while its bound stalls. Here, from a
feasible plan x, repeat until the time is up:

1. pick a neighbourhood, one of two kinds:
   - services (most steps): a few services S, one at random, the others
     weighted by how many patients they share with it (where moves happen);
     free x[p, s, d] for s in S and every patient p not placed outside S;
   - LP-guided (``LP_GUIDED_SHARE`` of the steps, in the spirit of RINS):
     the patients whose columns differ between x and the LP relaxation's
     optimum, each kept with probability ``LP_GUIDED_FRACTION``; free every
     column of theirs;
   fix every other variable at its value in x;
2. solve that sub-MILP (small: HiGHS presolve removes the fixed part) for a
   short time, starting from x, and keep its plan if it is better.

After ``PATIENCE`` tries in a row without a better plan the neighbourhoods
grow (one more service, 1.5 times the time, up to ``MOST_SERVICES``) to
leave the local optimum; a better plan resets them.

Every plan kept is feasible for the whole model (only bounds change), so the
result is never worse than x. The bound is not touched: the caller reports
the bound of its exact solve. Seeded, so the sequence of neighbourhoods is
fixed; how many are tried depends on the time given. A ``Search`` can be
resumed (``run`` again): it keeps its plan, random state and neighbourhood
size, so time can be handed out to many components in slices.

Counted instead of timed (``run(steps=...)``): a run is a number of
neighbourhoods, and each sub-MILP stops after ``STEP_NODES`` branch-and-bound
nodes or ``STEP_CHECKS`` of HiGHS's interrupt checks (the points where it
asks its callback whether to stop, a count of work that HiGHS visits in the
same order on every run; its root node alone can otherwise take seconds).
Nothing then depends on the machine's speed, so the same plan comes back on
every run (``clock_stopped`` says whether a safety time limit cut a run
short, which breaks that). Counted neighbourhoods do not grow: larger ones
mostly hit their cap (measured on ics: 37 s against 56 s for 200 steps with
growth up to 3 services, and a better plan).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import scipy.sparse as sp

from ..formulation import Formulation
from . import interrupt
from .highs import _run, make_highs, solve_highs

SERVICES_PER_NEIGHBOURHOOD = 2
STEP_SECONDS = 0.5
PATIENCE = 20
MOST_SERVICES = 6
LP_GUIDED_SHARE = 0.3
LP_GUIDED_FRACTION = 0.3
STEP_NODES = 50  # counted runs: branch-and-bound nodes per neighbourhood (most close in the root)
STEP_CHECKS = 40  # counted runs: HiGHS interrupt checks per neighbourhood (about 0.4 s here; caps long roots)


class Search:
    """Large-neighbourhood search on one formulation from a feasible plan x (see module doc)."""

    def __init__(
        self,
        formulation: Formulation,
        x: np.ndarray,
        seed: int = 0,
        services: int | None = None,
        step_seconds: float | None = None,
    ) -> None:
        self.formulation = formulation
        self.services = SERVICES_PER_NEIGHBOURHOOD if services is None else services
        self.step_seconds = STEP_SECONDS if step_seconds is None else step_seconds
        self.seed = seed
        self.best = np.round(np.asarray(x, dtype=float))
        self.value = formulation.value(self.best)
        self.steps = self.improvements = self.failures = 0
        self.seconds = 0.0
        self.clock_stopped = False  # a counted run cut short by its safety time limit (or Ctrl-C)
        variables = formulation.variables
        self._service = variables["service"].to_numpy()
        self._patient = variables["patient"].to_numpy()
        self._used_services = np.unique(self._service)
        self._k = min(self.services, len(self._used_services))
        self._step = self.step_seconds
        self._rng = np.random.default_rng(seed)
        self._checks = [0, None]  # interrupt checks in this step, and their cap (counted runs)
        self._highs = None  # made on the first run (a model copy: only when searched)
        self._lp = None  # the LP relaxation's optimum, for LP-guided neighbourhoods

    @property
    def searchable(self) -> bool:
        return self.formulation.num_variables > 0 and len(self._used_services) >= 2

    def details(self) -> dict:
        return {"lns_steps": self.steps, "lns_improvements": self.improvements, "lns_seconds": round(self.seconds, 3)}

    def run(self, time_limit: float | None, stop: threading.Event | None = None, steps: int | None = None) -> np.ndarray:
        """Search for ``time_limit`` seconds (or until ``stop`` is set or Ctrl-C); the best plan so far.

        With ``steps``: that many neighbourhoods, ``time_limit`` (None: none)
        only a safety cap; ``clock_stopped`` is set if the cap or a stop ends
        the run first.
        """
        if not self.searchable or (steps is None and (time_limit is None or time_limit <= self.step_seconds)):
            return self.best
        started = time.perf_counter()
        if self._highs is None:
            self._prepare()
        highs = self._highs
        key = interrupt.register(highs.cancelSolve)
        done = 0
        try:
            while steps is None or done < steps:
                if interrupt.interrupted.is_set() or (stop is not None and stop.is_set()):
                    self.clock_stopped = steps is not None
                    break
                left = float("inf") if time_limit is None else time_limit - (time.perf_counter() - started)
                if left < 0.05:
                    self.clock_stopped = steps is not None
                    break
                if steps is None:
                    self._step_once(min(self._step, left), stop)
                else:
                    self._step_once(left, stop, nodes=STEP_NODES)
                done += 1
        finally:
            interrupt.unregister(key)
            self.seconds += time.perf_counter() - started
        return self.best

    def _prepare(self) -> None:
        n = self.formulation.num_variables
        local_service = np.searchsorted(self._used_services, self._service)
        incidence = sp.csr_matrix((np.ones(n), (self._patient, local_service)))
        incidence.data[:] = 1.0
        shared = (incidence.T @ incidence).toarray()
        np.fill_diagonal(shared, 0.0)
        self._local_service = local_service
        self._shared = shared
        self._matrix, self._row_upper = self.formulation.matrix()
        self._index = np.arange(n, dtype=np.int32)
        self._highs = make_highs(self.formulation, threads=1, seed=self.seed)
        if LP_GUIDED_SHARE > 0:
            self._lp = solve_highs(self.formulation, relax=True).x

    def _count_check(self, event) -> None:
        """HiGHS's interrupt callback in counted runs: stop the sub-MILP after its cap of checks."""
        self._checks[0] += 1
        # set on every call: HiGHS keeps the flag from one run to the next
        event.data_in.user_interrupt = self._checks[1] is not None and self._checks[0] >= self._checks[1]

    def _step_once(self, seconds: float, stop: threading.Event | None, nodes: int | None = None) -> None:
        """One neighbourhood: free it, solve the sub-MILP from the best plan (for ``seconds``,
        and at most ``nodes`` nodes if given), keep a better plan."""
        import highspy

        formulation, highs, best = self.formulation, self._highs, self.best
        n, patient = formulation.num_variables, self._patient
        self.steps += 1
        if LP_GUIDED_SHARE > 0 and self._lp is not None and self._rng.random() < LP_GUIDED_SHARE:
            differ = np.zeros(int(patient.max()) + 1, dtype=bool)
            differ[patient[np.abs(self._lp - best) > 0.1]] = True
            free = (differ & (self._rng.random(len(differ)) < LP_GUIDED_FRACTION))[patient]
        else:
            first = int(self._rng.integers(len(self._used_services)))
            weights = self._shared[first] + 1e-3
            weights[first] = 0.0
            others = self._rng.choice(len(self._used_services), size=self._k - 1, replace=False, p=weights / weights.sum())
            chosen = np.isin(self._local_service, [first, *others])
            placed_outside = np.zeros(int(patient.max()) + 1, dtype=bool)
            placed_outside[patient[(best > 0.5) & ~chosen]] = True
            free = chosen & ~placed_outside[patient]
        lower = np.maximum(np.where(free, 0.0, best), formulation.lower)
        upper = np.where(free, 1.0, best)
        highs.changeColsBounds(n, self._index, lower, upper)
        start = highspy.HighsSolution()
        start.col_value = best.tolist()
        start.value_valid = True
        highs.setSolution(start)
        highs.setOptionValue("time_limit", float(seconds))
        highs.setOptionValue("mip_max_nodes", highspy.kHighsIInf if nodes is None else int(nodes))
        if nodes is not None and not highs.cbMipInterrupt.callbacks:
            highs.cbMipInterrupt.subscribe(self._count_check)
        self._checks[:] = [0, None if nodes is None else STEP_CHECKS]
        _run(highs, stop)
        if nodes is not None and highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
            self.clock_stopped = True
        has_plan = highs.getInfo().primal_solution_status == 2
        candidate = np.round(np.asarray(highs.getSolution().col_value)) if has_plan else best
        candidate_value = formulation.value(candidate)
        feasible = (
            has_plan
            and np.all(self._matrix @ candidate <= self._row_upper + 1e-6)
            and np.all(candidate >= formulation.lower - 1e-6)
        )
        if candidate_value < self.value - 1e-9 and feasible:
            self.best, self.value = candidate, candidate_value
            self.improvements += 1
            self.failures = 0
            self._k, self._step = min(self.services, len(self._used_services)), self.step_seconds
        else:
            self.failures += 1
            if nodes is None and self.failures >= PATIENCE and self._k < min(MOST_SERVICES, len(self._used_services)):
                self.failures = 0
                self._k, self._step = self._k + 1, self._step * 1.5


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
    search = Search(formulation, x, seed=seed, services=services, step_seconds=step_seconds)
    best = search.run(time_limit, stop=stop)
    return best, search.details()
