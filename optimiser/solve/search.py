"""Large-neighbourhood search: a better plan, not a bound.

Pathway-1 components are multi-knapsacks over time that HiGHS does not close
in minutes; its incumbent improves slowly while its bound stalls. Here, from a
feasible plan x, repeat until the time is up:

1. pick a neighbourhood, one of two kinds:
   - services (most steps): a few services S, one at random, the others
     weighted by how many patients they share with it (where moves happen);
     free x[p, s, d] for s in S and every patient p not placed outside S;
   - LP-guided (``lp_guided_share`` of the steps, in the spirit of RINS):
     the patients whose columns differ between x and the LP relaxation's
     optimum, each kept with probability ``lp_guided_fraction``; free every
     column of theirs;
   fix every other variable at its value in x;
2. solve that sub-MILP for a short time, starting from x, and keep its plan
   if it is better. The sub-MILP is cut out as its own small model: the free
   columns, and the rows they touch with what the fixed columns use taken off
   the right-hand side, scaled exactly to integers (``scaling.py``) and
   solved by CP-SAT with one worker. On these small multi-knapsacks CP-SAT
   proves the optimum several times faster than HiGHS (national pathway-1
   neighbourhoods of 2 services: median about 0.1 s against 0.8 s), and the
   search gap after 5 s per component fell from 222.6 to 170.0 (see
   ``benchmarks/README.md``). If the rows cannot be scaled (data that is not
   a ratio of small integers) HiGHS solves the whole model with the other
   columns fixed by bounds instead (``SearchSettings(engine="highs")`` forces that).
   CP-SAT runs with ``step_parameters``: linearization level 2 (its LP with cuts
   at every node) and no probing. On 109 neighbourhoods of simulated ics-v2 days
   that solves 94 to optimality in 0.25 s against 84 with the defaults, in 20%
   less time, and improves on the start in 47 against 37; 1.5 s of search on 11
   such days x 2 seeds summed 91,872 against 92,903 (``benchmarks/README.md``).

After ``patience`` tries in a row without a better plan the neighbourhoods
grow (one more service, 1.5 times the time, up to ``most_services``) to
leave the local optimum; a better plan resets them.

Every plan kept is feasible for the whole model (only bounds change), so the
result is never worse than x. The bound is not touched: the caller reports
the bound of its exact solve. Seeded, so the sequence of neighbourhoods is
fixed; how many are tried depends on the time given. A ``Search`` can be
resumed (``run`` again): it keeps its plan, random state and neighbourhood
size, so time can be handed out to many components in slices.

Counted instead of timed (``run(steps=...)``): a run is a number of
neighbourhoods, and each sub-MILP stops at a count of work, not seconds:
CP-SAT at ``step_deterministic`` of its deterministic time (one worker, so
its search is the same on every run); HiGHS after ``step_nodes``
branch-and-bound nodes or ``step_checks`` of its interrupt checks (the points
where it asks its callback whether to stop, visited in the same order on
every run). Nothing then depends on the machine's speed, so the same plan
comes back on every run (``clock_stopped`` says whether a safety time limit
cut a run short, which breaks that). Counted CP-SAT neighbourhoods grow as
timed ones do, their deterministic cap 1.5 times with each growth (ics seeds
1-5: 200 such steps gave better plans than 300 that do not grow on four
seeds, in 7% less time). Counted HiGHS neighbourhoods do not grow: larger
ones mostly hit their cap (measured on ics: 37 s against 56 s for 200 steps
with growth up to 3 services, and a better plan).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from optimiser.constants import FEASIBILITY, TOLERANCE
from optimiser.model.formulation import Formulation
from optimiser.model.scaling import ScalingError, scale_objective, scale_rows
from optimiser.solve.cancel import Cancellation
from optimiser.solve.cpsat import cpsat_model, plan_of
from optimiser.solve.highs import make_highs, run, solve_lp
from optimiser.solve.options import SearchSettings
from optimiser.solve.result import SearchReport


class Search:
    """Large-neighbourhood search on one formulation from a feasible plan x (see module doc)."""

    def __init__(
        self,
        formulation: Formulation,
        x: np.ndarray,
        seed: int = 0,
        services: int | None = None,
        step_seconds: float | None = None,
        settings: SearchSettings = SearchSettings(),
        cancel: Cancellation | None = None,
        relaxation: np.ndarray | Callable[[], np.ndarray | None] | None = None,
    ) -> None:
        """``relaxation``: the LP optimum for the LP-guided neighbourhoods, or a function that
        gives it once it is there (an LP solved beside the search) and None until then; by
        default the search solves the LP itself on its first run."""
        self.formulation = formulation
        self.settings = settings
        self.cancel = cancel or Cancellation()
        self.services = settings.services if services is None else services
        self.step_seconds = settings.step_seconds if step_seconds is None else step_seconds
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
        self._prepared = False  # the matrices are made on the first run (only when searched)
        self._highs = None  # the HiGHS engine's model copy, made on its first step
        self._scaled = None  # the CP-SAT engine's integer rows and costs (None: use HiGHS)
        self._lp = relaxation if not callable(relaxation) else None  # the LP optimum, for LP-guided neighbourhoods
        self._pending = relaxation if callable(relaxation) else None
        self._own_lp = relaxation is None

    @property
    def searchable(self) -> bool:
        return self.formulation.num_variables > 0 and len(self._used_services) >= 2

    def report(self) -> SearchReport:
        return SearchReport(self.steps, self.improvements, round(self.seconds, 3))

    @property
    def relaxation(self) -> np.ndarray | None:
        """The LP optimum its LP-guided neighbourhoods use (None: not there yet, or not used)."""
        return self._lp

    def adopt(self, other: Search) -> bool:
        """Go on from ``other``'s plan (a search of the same formulation) if it is better than
        this one's; its neighbourhoods start small again, as after an improvement. Whether it did."""
        x = other.best  # replaced, never changed in place, so safe to read while ``other`` runs
        value = self.formulation.value(x)
        if value >= self.value - TOLERANCE:
            return False
        self.best, self.value = x, value
        self.failures = 0
        self._k, self._step = min(self.services, len(self._used_services)), self.step_seconds
        return True

    def merge(self, other: Search) -> None:
        """Take in another search of the same formulation: its plan if better (``adopt``), and
        its steps, improvements and seconds in this one's report."""
        self.adopt(other)
        self.steps += other.steps
        self.improvements += other.improvements
        self.seconds += other.seconds

    def run(self, time_limit: float | None, steps: int | None = None) -> np.ndarray:
        """Search for ``time_limit`` seconds (or until the search's cancellation); the best plan so far.

        With ``steps``: that many neighbourhoods, ``time_limit`` (None: none)
        only a safety cap; ``clock_stopped`` is set if the cap or a cancellation
        ends the run first.
        """
        if not self.searchable or (steps is None and (time_limit is None or time_limit <= self.step_seconds)):
            return self.best
        started = time.perf_counter()
        if not self._prepared:
            self._prepare()
        done = 0
        try:
            while steps is None or done < steps:
                if self.cancel.cancelled:
                    self.clock_stopped = steps is not None
                    break
                left = float("inf") if time_limit is None else time_limit - (time.perf_counter() - started)
                if left < 0.05:
                    self.clock_stopped = steps is not None
                    break
                if steps is None:
                    self._step_once(min(self._step, left))
                else:
                    self._step_once(left, nodes=self.settings.step_nodes)
                done += 1
        finally:
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
        if self.settings.engine == "cpsat":
            try:
                scaled, scaled_upper = scale_rows(self._matrix, self._row_upper)
                costs, _ = scale_objective(self.formulation.objective)
            except ScalingError:  # data that is not a ratio of small integers: HiGHS steps
                pass
            else:  # rows (CSR, from scale_rows) for the room left, columns (CSC) to cut out
                self._scaled = (scaled, scaled.tocsc(), scaled_upper, costs)
        self._prepared = True
        if self.settings.lp_guided_share > 0 and self._own_lp:
            self._lp = solve_lp(self.formulation, cancel=self.cancel).x

    def _count_check(self, event) -> None:
        """HiGHS's interrupt callback in counted runs: stop the sub-MILP after its cap of checks."""
        self._checks[0] += 1
        # set on every call: HiGHS keeps the flag from one run to the next
        event.data_in.user_interrupt = self._checks[1] is not None and self._checks[0] >= self._checks[1]

    def _step_once(self, seconds: float, nodes: int | None = None) -> None:
        """One neighbourhood: free it, solve the sub-MILP from the best plan (for ``seconds``;
        a counted step when ``nodes`` is given), keep a better plan."""
        formulation = self.formulation
        self.steps += 1
        free = self._neighbourhood()
        if self._scaled is not None:
            candidate = self._solve_cpsat(free, seconds, counted=nodes is not None)
        else:
            candidate = self._solve_highs(free, seconds, nodes)
        feasible = (
            candidate is not None
            and np.all(self._matrix @ candidate <= self._row_upper + FEASIBILITY)
            and np.all(candidate >= formulation.lower - FEASIBILITY)
        )
        candidate_value = formulation.value(candidate) if feasible else np.inf
        if candidate_value < self.value - TOLERANCE:
            self.best, self.value = candidate, candidate_value
            self.improvements += 1
            self.failures = 0
            self._k, self._step = min(self.services, len(self._used_services)), self.step_seconds
        else:
            self.failures += 1
            grows = nodes is None or self._scaled is not None  # counted HiGHS steps keep their size
            most = min(self.settings.most_services, len(self._used_services))
            if grows and self.failures >= self.settings.patience and self._k < most:
                self.failures = 0
                self._k, self._step = self._k + 1, self._step * 1.5

    def _neighbourhood(self) -> np.ndarray:
        """The columns to free (bool mask): LP-guided or a few services (module doc)."""
        best, patient = self.best, self._patient
        share = self.settings.lp_guided_share
        if self._lp is None and self._pending is not None:
            self._lp = self._pending()
        if share > 0 and self._lp is not None and self._rng.random() < share:
            differ = np.zeros(int(patient.max()) + 1, dtype=bool)
            differ[patient[np.abs(self._lp - best) > 0.1]] = True
            return (differ & (self._rng.random(len(differ)) < self.settings.lp_guided_fraction))[patient]
        first = int(self._rng.integers(len(self._used_services)))
        weights = self._shared[first] + 1e-3
        weights[first] = 0.0
        others = self._rng.choice(len(self._used_services), size=self._k - 1, replace=False, p=weights / weights.sum())
        chosen = np.isin(self._local_service, [first, *others])
        placed_outside = np.zeros(int(patient.max()) + 1, dtype=bool)
        placed_outside[patient[(best > 0.5) & ~chosen]] = True
        return chosen & ~placed_outside[patient]

    def _solve_cpsat(self, free: np.ndarray, seconds: float, counted: bool) -> np.ndarray | None:
        """The neighbourhood as its own small CP-SAT model (one worker), from the best plan.

        Only the free columns are variables; each row they touch keeps its
        integer-scaled coefficients (``scaling.py``), its right-hand side less
        what the fixed columns use. Pinned columns stay fixed. A counted step
        stops at ``step_deterministic`` of CP-SAT's deterministic time (times
        the neighbourhood's growth), the clock being only a safety cap. None if no plan came back.
        """
        from ortools.sat.python import cp_model

        best = self.best
        columns = np.flatnonzero(free & (self.formulation.lower < 0.5))
        if len(columns) == 0:
            return None
        by_row, by_column, scaled_upper, costs = self._scaled
        block = by_column[:, columns].tocsr()
        rows = np.flatnonzero(np.diff(block.indptr) > 0)
        fixed = best.copy()
        fixed[columns] = 0.0
        room = np.round(scaled_upper[rows] - by_row[rows] @ fixed).astype(np.int64)
        model = cpsat_model(block[rows], room, costs[columns], hint=best[columns])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = int(self.seed)
        solver.parameters.max_time_in_seconds = float(max(seconds, 0.01))
        for name, value in self.settings.step_parameters:
            setattr(solver.parameters, name, value)
        if counted:
            solver.parameters.max_deterministic_time = self.settings.step_deterministic * self._step / self.step_seconds
        with self.cancel.registered(solver.stop_search):
            status = solver.solve(model)
        if counted and solver.wall_time >= seconds - 1e-3 and status != cp_model.OPTIMAL:
            self.clock_stopped = True
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        candidate = fixed
        candidate[columns] = plan_of(solver)
        return candidate

    def _solve_highs(self, free: np.ndarray, seconds: float, nodes: int | None) -> np.ndarray | None:
        """The neighbourhood on the HiGHS copy of the whole model: other columns fixed by bounds
        (its presolve drops them); used when the rows cannot be scaled to integers."""
        import highspy

        formulation, highs, best = self.formulation, self._highs, self.best
        n = formulation.num_variables
        if highs is None:
            highs = self._highs = make_highs(formulation, threads=1, seed=self.seed)
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
        self._checks[:] = [0, None if nodes is None else self.settings.step_checks]
        run(highs, self.cancel)  # registers highs.cancelSolve for Ctrl-C and the watchdog
        if nodes is not None and highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
            self.clock_stopped = True
        if highs.getInfo().primal_solution_status != 2:
            return None
        return np.round(np.asarray(highs.getSolution().col_value))


def improve(
    formulation: Formulation,
    x: np.ndarray,
    time_limit: float,
    seed: int = 0,
    services: int | None = None,
    step_seconds: float | None = None,
    settings: SearchSettings = SearchSettings(),
    cancel: Cancellation | None = None,
) -> tuple[np.ndarray, SearchReport]:
    """A plan at least as good as x (see module doc); returns (x, what the search did).

    ``cancel``: cancelled by another thread to end the search early (e.g. when the
    exact solve beside it has proven its plan optimal).
    """
    search = Search(formulation, x, seed=seed, services=services, step_seconds=step_seconds, settings=settings, cancel=cancel)
    best = search.run(time_limit)
    return best, search.report()
