"""Exact solve by parts: each independent part (``model/components.py``) solved on its own,
in parallel, by one of a few time policies.

The plan is the union of the parts' plans, its objective the whole model's
objective, and its bound the sum of the parts' bounds plus the cost of patients
with no variable (a true bound: parts share no row). A bed-pathway part is
solved as an LP first: its optimum is integral, so an integral vertex is proven
optimal at once; if the vertex were fractional (numerics), the part goes to the
MILP route.

How the MILP parts share the time is a policy (``Policy`` and its subclasses):

- ``Plain``: each part gets a fair share of the time left; with the search
  (``polish``) the route has ``polish_split`` of it, the search the rest.
- ``SideBySide`` (more threads than MILP parts): the largest parts get a
  second thread running the route then the search with the next seed beside
  the first; the better plan and the higher bound are kept.
- ``PooledByGap`` (a time limit, more MILP parts than threads): the route gets
  ``pooled_split`` of the limit over the parts, then the search time left is
  pooled and handed out in slices to the parts with the largest gaps.
- ``Counted`` (a work limit): the route stops after ``exact_nodes`` nodes per
  part (its root), then ``work_limit`` neighbourhoods in all are handed out by
  gap in rounds, so that the plan does not depend on the machine's speed.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from optimiser.constants import TOLERANCE
from optimiser.model.components import Component, components
from optimiser.model.dominance import without_dominance
from optimiser.model.formulation import Formulation
from optimiser.solve.cancel import Cancellation
from optimiser.solve.highs import solve_lp
from optimiser.solve.options import Deadline, SearchSettings, SolveOptions, Tuning
from optimiser.solve.progress import Board
from optimiser.solve.result import PartFacts, PartReport, SearchReport, SolveResult, Status, Termination, combined
from optimiser.solve.route import Route
from optimiser.solve.search import Search
from optimiser.solve.split import LP_SHARE, has_links, split_solve

INTEGRAL = 1e-6


@dataclass
class Part:
    """One MILP part to solve: its sub-model and the warm start's values on it."""

    index: int
    model: Formulation
    start: np.ndarray | None
    report: Callable[[float, float], None] | None = None  # (plan, bound) as its MIP goes (progress.py)


class TimeShares:
    """Fair shares of the time left: the MILP parts not yet started split it over the workers."""

    def __init__(self, parts: int, workers: int) -> None:
        self._waiting = parts
        self._workers = workers
        self._lock = threading.Lock()

    def take(self, until: Deadline) -> float | None:
        with self._lock:
            share = max(1, -(-self._waiting // self._workers))
            self._waiting = max(self._waiting - 1, 0)
        left = until.left()
        return None if left is None else max(left / share, 0.01)


class Policy:
    """How a MILP part's time is spent: ``exact`` runs in the parts' thread pool, ``after``
    once every part is back (the pooled or counted search). ``clock_stopped``: a counted run
    the time limit cut short."""

    def __init__(self, route: Route, options: SolveOptions, cancel: Cancellation, tuning: Tuning, polish: bool):
        self.route, self.options, self.cancel, self.tuning, self.polish = route, options, cancel, tuning, polish
        self.deadline = Deadline(options.time_limit)
        self.clock_stopped = False

    def start(self, milp_parts: int, workers: int, deadline: Deadline) -> None:
        """Before the first part: how many MILP parts share the workers, until when."""
        self.deadline = deadline
        self.workers = workers
        self.shares = TimeShares(milp_parts, workers)

    def exact(self, part: Part) -> SolveResult:
        raise NotImplementedError

    def after(self, parts: dict[int, Part], results: list[SolveResult]) -> None:
        """Anything done once all parts are back (default: nothing)."""

    def message(self) -> str:
        return self.cancel.root.reason if self.cancel.root.cancelled else "stopped at a limit"

    def _route(self, part: Part, time_limit: float | None, **changes) -> SolveResult:
        options = self.options.replace(
            time_limit=time_limit, threads=1, warm_start=part.start, work_limit=None, on_progress=part.report, **changes
        )
        return self.route.solve(part.model, options, self.cancel)


class Plain(Policy):
    """A fair share of the time left for each part: the route, then (``polish``) the search."""

    def exact(self, part: Part) -> SolveResult:
        return self._route_then_search(part, self.shares.take(self.deadline), self.cancel, self.options.seed)

    def _route_then_search(self, part: Part, share: float | None, cancel: Cancellation, seed: int) -> SolveResult:
        """The route for the share (``polish_split`` of it when polishing), then the search from its plan."""
        began = time.perf_counter()
        polish = self.polish and share is not None
        exact_share = share * self.tuning.parts.polish_split if polish else share
        options = self.options.replace(
            time_limit=exact_share, threads=1, warm_start=part.start, work_limit=None, seed=seed, on_progress=part.report
        )
        result = self.route.solve(part.model, options, cancel)
        if polish and result.status == Status.FEASIBLE and result.x is not None:
            left = share - (time.perf_counter() - began)
            search = Search(without_dominance(part.model), result.x, seed=seed, settings=self.tuning.search, cancel=cancel)
            x_better = search.run(left)
            result = dataclasses.replace(
                result,
                x=x_better,
                objective=part.model.value(x_better),
                solve_seconds=time.perf_counter() - began,
                search=search.report(),
            )
        return result


class SideBySide(Plain):
    """``Plain``, but the ``helped`` parts get two threads (see ``beside``)."""

    def __init__(self, *args, helped: set[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helped = helped

    def exact(self, part: Part) -> SolveResult:
        if part.index in self.helped and not self.deadline.unlimited and part.start is not None:
            return self.beside(part, self.shares.take(self.deadline))
        return super().exact(part)

    def beside(self, part: Part, share: float) -> SolveResult:
        """Two threads for ``share`` seconds, each the route for half the time then the
        search from its plan, with seeds ``seed`` and ``seed + 1``.

        The plan is the better of the two, the bound the higher of their bounds
        (each is a true bound). Deterministic when the first proves optimality:
        its plan is taken and it stops the second (the second's proof does not
        stop the first, so which finishes first never decides the plan).
        """
        began = time.perf_counter()
        second_cancel = self.cancel.child()
        found: list[SolveResult | None] = [None, None]
        seed = self.options.seed

        def second() -> None:
            found[1] = self._route_then_search(part, share, second_cancel, seed + 1)

        helper = threading.Thread(target=second, name="search-beside", daemon=True)
        helper.start()
        try:
            found[0] = self._route_then_search(part, share, self.cancel, seed)
        finally:
            second_cancel.cancel()
            helper.join()
        first, other = found
        if first.status == Status.OPTIMAL or other is None or other.x is None:
            return first
        results = [r for r in found if r is not None and r.x is not None]
        best = min(results, key=lambda r: (r.status != Status.OPTIMAL, part.model.value(r.x)))
        bound = max(r.bound for r in found if r is not None)
        value = part.model.value(best.x)
        status = Status.OPTIMAL if best.status == Status.OPTIMAL else Status.FEASIBLE
        return dataclasses.replace(
            best, status=status, objective=value, bound=min(bound, value), solve_seconds=time.perf_counter() - began, threads=2
        )


class PooledByGap(Policy):
    """The route alone for ``pooled_split`` of the limit, then the search pooled by gap."""

    def exact(self, part: Part) -> SolveResult:
        until = Deadline.until(self.deadline.at - (1 - self.tuning.parts.pooled_split) * self.options.time_limit)
        return self._route(part, self.shares.take(until))

    def after(self, parts: dict[int, Part], results: list[SolveResult]) -> None:
        search_by_gap(parts, results, self.deadline, self.workers, self.options.seed, self.tuning.search, self.cancel)


class Counted(Policy):
    """Counted work: the route for ``exact_nodes`` nodes per part, then ``work_limit``
    neighbourhoods handed out by gap in rounds (``search_by_work``)."""

    def exact(self, part: Part) -> SolveResult:
        result = self._route(part, self.deadline.left(), node_limit=self.tuning.parts.exact_nodes)
        self.clock_stopped |= result.termination == Termination.TIME_LIMIT
        return result

    def after(self, parts: dict[int, Part], results: list[SolveResult]) -> None:
        if self.polish:
            self.clock_stopped |= search_by_work(
                parts,
                results,
                int(self.options.work_limit),
                self.workers,
                self.options.seed,
                self.deadline,
                self.tuning,
                self.cancel,
            )

    def message(self) -> str:
        if self.cancel.root.cancelled:
            return self.cancel.root.reason
        return "stopped at a limit" if self.clock_stopped else "work limit reached"


def _joined(component: Component, start, policy: Policy, tuning: Tuning) -> str | None:
    """How a part that interim beds join (v2) is solved under a time limit, from a start.

    A large one (over ``search_first_columns``): ``"split"`` (the default,
    ``PartsSettings.joined``): split at the interim beds (``split.py``), or searched when its
    LP is too slow for that (``_split_or_search``); with ``joined="auto"``, ``"search"`` when
    the time left is short of the exact route's root (about ``root_seconds_per_column`` a
    column: the route would spend it in presolve and the root and give no better plan;
    ics-v2 at 60 s: 4,499 against 4,245 searched), else ``"root"`` (the route has most of the
    time, for its root: at 300 s, 3,852 against 4,178 searched, and 4,174 when the usual
    policies cut the route's share in half).

    A smaller one: ``"search"`` too when the time left is short of its root (a simulated day
    of ics-v2 at 2 s: the route's 0.6 s on a joined part of 11k columns gave back its start
    and no bound), else the usual policy (None), as for every part when ``joined="plain"``.
    """
    columns = len(component.columns)
    if not component.journeys or start is None:
        return None
    if isinstance(policy, Counted) or policy.deadline.unlimited or tuning.parts.joined == "plain":
        return None
    if columns <= tuning.parts.search_first_columns:
        return "search" if _root_or_search(columns, policy, tuning) == "search" else None
    if tuning.parts.joined == "split":
        return "split"
    return _root_or_search(columns, policy, tuning)


def _root_or_search(columns: int, policy: Policy, tuning: Tuning) -> str:
    """``"search"`` with less time left than ``root_seconds_per_column`` a column, else ``"root"``."""
    return "search" if policy.deadline.left() < columns * tuning.parts.root_seconds_per_column else "root"


def _rooted(part: Part, policy: Policy, tuning: Tuning, cancel: Cancellation) -> SolveResult:
    """The exact route for ``ROOT_SHARE`` of the part's time, then the search from its plan."""
    began = time.perf_counter()
    share = policy.shares.take(policy.deadline) or 0.0
    result = no_worse_than_start(part.model, policy._route(part, share * ROOT_SHARE), part.start)
    if result.status == Status.OPTIMAL or result.x is None:
        return result
    search = Search(without_dominance(part.model), result.x, seed=policy.options.seed, settings=tuning.search, cancel=cancel)
    x = search.run(max(share - (time.perf_counter() - began), 0.0))
    return dataclasses.replace(
        result, x=x, objective=part.model.value(x), solve_seconds=time.perf_counter() - began, search=search.report()
    )


ROOT_SHARE = 0.85  # of a joined v2 part's time, for the exact route's root and first nodes


LP_WAIT = 0.5  # of a joined part's time at most, for its LP beside the search (then the thread searches)
SLICE = 0.5  # seconds of search between looks at the LP beside it


def _guide(lp) -> np.ndarray | Callable[[], None]:
    """The LP optimum for a search's LP-guided neighbourhoods; not solved: none (a search
    given None would solve the LP itself)."""
    return lp.x if lp.x is not None else (lambda: None)


def _split_or_search(
    part: Part, policy: Policy, tuning: Tuning, cancel: Cancellation, share: float, workers: int, split: bool = True
) -> SolveResult:
    """A joined part (v2) in ``share`` seconds, split or searched: its LP relaxation on a thread
    of its own (for ``LP_WAIT`` of the time at most) while the search improves its start (with
    one thread: the LP first, for ``split.LP_SHARE`` of the time at most); if
    the LP took at most ``split.LP_SHARE`` of the time and ``split``, the split (``split.py``) from the
    LP's multipliers and the better plan, every thread on its pieces; otherwise (a short
    limit: ics-v2 at 10 s, 4,190 searched against 4,632 split) the search goes on with every
    thread for the time left, the LP's optimum (if solved) the bound and its guide.

    Before, the LP was tried first with the other thread idle, and again when it failed, and
    the search solved it a third time: at 2 s a day the part was not searched at all."""
    began = time.perf_counter()
    deadline = Deadline(share, began)
    model = part.model
    seed, settings = policy.options.seed, tuning.search
    if workers < 2:  # one thread: the LP first, for the split's share of it at most
        lp = solve_lp(model, time_limit=max(share * LP_SHARE, 0.05), cancel=cancel)
        search = Search(without_dominance(model), part.start, seed=seed, settings=settings, cancel=cancel, relaxation=_guide(lp))
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(solve_lp, model, time_limit=max(share * LP_WAIT, 0.05), cancel=cancel.child())

            def relaxation() -> np.ndarray | None:
                return pending.result().x if pending.done() else None

            search = Search(
                without_dominance(model), part.start, seed=seed, settings=settings, cancel=cancel, relaxation=relaxation
            )
            while search.searchable and not pending.done() and not cancel.cancelled and deadline.left() > SLICE:
                search.run(SLICE)
            cancel.wait_all([pending])
            lp = pending.result()
    x = search.best
    report = search.report() if search.steps else None
    if split and lp.x is not None and lp.seconds <= share * LP_SHARE and not cancel.cancelled:
        started = part if model.value(x) >= model.value(part.start) else dataclasses.replace(part, start=x)

        def search_plan(plan_model: Formulation, plan: np.ndarray, bound: float, seconds: float):
            return search_together(plan_model, plan, bound, seconds, workers, seed, settings, cancel, relaxation=lp.x)

        result = split_solve(started, policy, tuning, cancel, deadline.left(), solve_by_parts, search_plan, lp)
        return dataclasses.replace(result, search=combined(result.search, report))
    bound = lp.objective if lp.x is not None else float("-inf")
    left = deadline.left()
    if left > settings.step_seconds:
        x, more = search_together(model, x, bound, left, workers, seed + 1, settings, cancel, relaxation=_guide(lp))
        report = combined(report, more)
    value = model.value(x)
    return SolveResult(
        Status.FEASIBLE,
        x,
        value,
        min(bound, value),
        "highs-lp+search",
        time.perf_counter() - began,
        "searched from the plan without interim stays (too little time to split)",
        Termination.TIME_LIMIT,
        search=report,
    )


def choose_policy(
    route: Route, options: SolveOptions, cancel: Cancellation, tuning: Tuning, polish: bool, milp: list[int]
) -> Policy:
    """The policy for these MILP parts (largest first), as the module doc says."""
    arguments = (route, options, cancel, tuning, polish)
    if options.work_limit is not None:
        return Counted(*arguments)
    settings = tuning.parts
    helped = set(milp[: max(0, int(options.threads) - len(milp))]) if (polish and settings.search_beside) else set()
    if helped:
        return SideBySide(*arguments, helped=helped)
    if polish and settings.search_by_gap and options.time_limit is not None:
        return PooledByGap(*arguments)
    return Plain(*arguments)


def solve_by_parts(
    formulation: Formulation,
    route: Route,
    options: SolveOptions,
    cancel: Cancellation,
    polish: bool = False,
    network_lp: bool = True,
    tuning: Tuning = Tuning(),
    progress: Board | None = None,
) -> SolveResult:
    """Solve every part with ``route`` (threads spread over parts) under the policy
    ``choose_policy`` picks; ``polish``: follow the route by the neighbourhood search;
    ``progress``: told each part's plan and bound as they improve."""
    started = time.perf_counter()
    deadline = Deadline(options.time_limit, started)
    parts = components(formulation)
    # The constant less the parts' own (each part's constant is U(p) of its patients): U(p) of
    # the patients with no variable, on a whole model; on a part of one (the split's pieces),
    # that part's constant is U(p) of its patients only, and this is 0
    bound = float(formulation.constant - formulation.unplaced_cost[formulation.patients_in_model()].sum())

    # Networks first (an LP each, fast), then the MILPs, largest first.
    order = sorted(range(len(parts)), key=lambda i: (not (network_lp and parts[i].network), -len(parts[i].columns), i))
    workers = max(1, min(int(options.threads), len(parts)))
    milp = [i for i in order if not (network_lp and parts[i].network)]
    policy = choose_policy(route, options, cancel, tuning, polish, milp)
    policy.start(len(milp), workers, deadline)
    warm_start = options.warm_start
    subs: dict[int, Part] = {}
    if progress is not None:
        progress.begin(bound, len(parts))

    def solve_part(i: int) -> SolveResult:
        result = _solve_part(i)
        if progress is not None:
            progress.part(i, result.objective if result.x is not None else None, result.bound, done=True)
        return result

    def _solve_part(i: int) -> SolveResult:
        component = parts[i]
        sub = formulation.subset(component.columns)
        start = None if warm_start is None else warm_start[component.columns]
        part = subs[i] = Part(i, sub, start, None if progress is None else progress.reporter(i))
        if progress is not None and start is not None:
            progress.part(i, plan=sub.value(start))
        if cancel.root.cancelled and start is not None:  # stopped before this part began
            unsolved = SolveResult(
                Status.ERROR, None, float("inf"), float("-inf"), route.name, 0.0, cancel.root.reason, Termination.INTERRUPTED
            )
            return no_worse_than_start(sub, unsolved, start)
        if network_lp and component.network:
            relaxed = solve_lp(sub, time_limit=deadline.left(), cancel=cancel)
            if relaxed.x is not None and np.all(np.abs(relaxed.x - np.round(relaxed.x)) <= INTEGRAL):
                value = sub.value(relaxed.x)
                return SolveResult(Status.OPTIMAL, np.round(relaxed.x), value, value, "highs-lp", relaxed.seconds)
        joined = _joined(component, start, policy, tuning)
        if joined == "split" and not has_links(sub):
            joined = _root_or_search(len(component.columns), policy, tuning)
        if joined == "root":
            return _rooted(part, policy, tuning, cancel)
        if joined is not None:  # split, or searched
            share = policy.shares.take(policy.deadline) or 0.0
            result = _split_or_search(part, policy, tuning, cancel, share, workers, split=joined == "split")
            return no_worse_than_start(sub, result, start)
        result = no_worse_than_start(sub, policy.exact(part), start)
        # The LP optimum is a true bound: in place of none, or of a weak one. A route stopped
        # before its root LP was solved reports a bound from presolve that can be near trivial
        # (HiGHS and CP-SAT on national at 30 s: 41 against an LP optimum of 2,888)
        if result.status != Status.OPTIMAL and (not np.isfinite(result.bound) or result.gap > tuning.parts.weak_bound_gap):
            relaxed = solve_lp(sub, cancel=cancel)
            if relaxed.x is not None:
                result.bound = min(max(relaxed.objective, result.bound), result.objective)  # includes the constant
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {i: pool.submit(solve_part, i) for i in order}
        cancel.wait_all(list(futures.values()))
        results = [futures[i].result() for i in range(len(parts))]
    policy.after(subs, results)

    x = np.zeros(formulation.num_variables)
    statuses = []
    for component, result in zip(parts, results):
        bound += result.bound
        if result.x is None:  # no plan and no warm start: nobody placed in this part
            statuses.append(Status.FEASIBLE)
            continue
        x[component.columns] = result.x
        statuses.append(result.status)
    objective = formulation.value(x)
    status = Status.OPTIMAL if all(s == Status.OPTIMAL for s in statuses) else Status.FEASIBLE
    reports = [
        PartReport(
            facts=part_facts(formulation, component),
            optimal=result.status == Status.OPTIMAL,
            gap=round(result.objective - result.bound, 6) if result.x is not None else None,
            seconds=round(result.solve_seconds, 3),
        )
        for component, result in zip(parts, results)
    ]
    searched = [r.search for r in results if r.search is not None]
    return SolveResult(
        status,
        x,
        objective,
        min(bound, objective),
        route.name,
        time.perf_counter() - started,
        "optimal" if status == Status.OPTIMAL else policy.message(),
        Termination.OPTIMAL if status == Status.OPTIMAL else _termination(results),
        parts=reports,
        search=sum(searched, SearchReport()) if searched else None,
    )


def _termination(results: list[SolveResult]) -> Termination:
    """The parts' first termination other than optimal."""
    return next((r.termination for r in results if r.status != Status.OPTIMAL), Termination.OPTIMAL)


def no_worse_than_start(formulation: Formulation, result: SolveResult, start: np.ndarray | None) -> SolveResult:
    """The route's result, or the warm start (a feasible plan) with the route's bound when the
    route stopped at a limit with no plan or a dearer one.

    So a plan at a limit is never worse than the warm start, whatever the route: Pyomo's
    HiGHS interface cannot pass a start to HiGHS, which at a short limit returns its first
    plan (often nobody placed); CP-SAT takes the start only as a hint.
    """
    if start is None or result.status == Status.OPTIMAL:
        return result
    value = formulation.value(start)
    if result.x is not None and result.objective <= value + TOLERANCE * max(1.0, abs(value)):
        return result
    return dataclasses.replace(
        result, status=Status.FEASIBLE, x=np.round(start), objective=value, bound=min(result.bound, value), warm_start_kept=True
    )


def search_by_gap(
    parts: dict[int, Part],
    results: list[SolveResult],
    deadline: Deadline,
    workers: int,
    seed: int,
    settings: SearchSettings = SearchSettings(),
    cancel: Cancellation | None = None,
    relaxations: dict | None = None,
) -> None:
    """Large-neighbourhood search on the parts not proven optimal until ``deadline``, time
    handed out in slices by gap; ``results`` are updated in place.

    The bounds are fixed by now, so the whole plan's gap falls by exactly what
    the searches gain: each free worker takes the part with the largest gap
    (objective - bound), divided by 1 + the number of slices in a row that found
    nothing there (a part the search cannot improve stops drawing time), and
    searches it for one slice, resuming where its last slice ended. A slice is
    a third of an even share of the pooled time, 1 to 10 seconds.

    A worker with no part of its own left (more workers than open parts: the split's
    pathway-1 piece once the pathway-3 piece is proven) helps the part with the largest
    gap per worker on it (``SearchSettings.helpers``): a second search of that part with
    the next seed, each going on from the other's plan at the start of a slice when it is
    better; the part keeps the best plan of its searches.

    ``relaxations``: per part, the LP optimum for its searches' LP-guided neighbourhoods
    (``Search``'s ``relaxation``; by default each search solves it).
    """
    cancel = cancel or Cancellation()
    relaxations = relaxations or {}
    candidates, primary = _open_searches(parts, results, seed, settings, cancel, relaxations)
    if not candidates or deadline.remaining() <= settings.step_seconds:
        return
    slice_seconds = min(max(workers * deadline.remaining() / (3 * len(candidates)), 1.0), 10.0)
    searches = {i: [primary[i]] for i in primary}
    idle = dict.fromkeys(candidates, 0)
    busy: dict[int, set[int]] = {i: set() for i in candidates}  # which of a part's searches are running
    lock = threading.Lock()

    def value(i: int) -> float:
        return min(search.value for search in searches[i])

    def take() -> tuple[int, int] | None:
        """(part, which of its searches) for the next slice, or None: nothing left to do."""
        open_ = [i for i in candidates if value(i) - results[i].bound > TOLERANCE]
        free = [i for i in open_ if not busy[i]]
        if not free and settings.helpers:
            free = [i for i in open_ if len(busy[i]) <= settings.helpers]
        if not free:
            return None
        i = max(free, key=lambda i: ((value(i) - results[i].bound) / (1 + idle[i]) / (1 + len(busy[i])), -i))
        k = next((k for k in range(len(searches[i])) if k not in busy[i]), None)
        if k is None:
            k = len(searches[i])
            searches[i].append(
                Search(
                    primary[i].formulation,
                    primary[i].best,
                    seed=seed + k,
                    settings=settings,
                    cancel=cancel,
                    relaxation=relaxations.get(i, primary[i].relaxation),
                )
            )
        busy[i].add(k)
        return i, k

    def worker() -> None:
        while not cancel.cancelled:
            with lock:
                left = deadline.remaining()
                taken = take() if left > settings.step_seconds else None
                if taken is None:
                    return
                i, k = taken
                search = searches[i][k]
                before = value(i)
                for other in searches[i]:
                    if other is not search:
                        search.adopt(other)
            search.run(min(slice_seconds, left))
            with lock:
                idle[i] = 0 if value(i) < before - TOLERANCE else idle[i] + 1
                busy[i].discard(k)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        running = [pool.submit(worker) for _ in range(workers)]
        cancel.wait_all(running)
        for future in running:
            future.result()  # a worker's error is raised here
    for i, found in searches.items():
        for other in found[1:]:
            primary[i].merge(other)
    _keep_searched(results, primary)


def search_together(
    model: Formulation,
    x: np.ndarray,
    bound: float,
    seconds: float,
    workers: int,
    seed: int,
    settings: SearchSettings,
    cancel: Cancellation,
    relaxation=None,
) -> tuple[np.ndarray, SearchReport | None]:
    """One plan searched for ``seconds`` by ``workers`` searches side by side (``search_by_gap``
    on one part: the helpers), each going on from the best plan; the best plan and what the
    searches did (None: too little time to search). ``relaxation``: as ``Search`` takes it."""
    results = [SolveResult(Status.FEASIBLE, x, model.value(x), bound, "search", 0.0)]
    relaxations = None if relaxation is None else {0: relaxation}
    search_by_gap({0: Part(0, model, None)}, results, Deadline(seconds), workers, seed, settings, cancel, relaxations)
    return results[0].x, results[0].search


def search_by_work(
    parts: dict[int, Part],
    results: list[SolveResult],
    steps: int,
    workers: int,
    seed: int,
    deadline: Deadline,
    tuning: Tuning,
    cancel: Cancellation,
) -> bool:
    """``search_by_gap`` with counted work: ``steps`` neighbourhoods in all, each limited in
    work, not seconds (``Search`` counted runs); ``results`` are updated in place.

    In rounds: the ``workers`` parts with the largest gap (divided by 1 + their
    fruitless rounds in a row) get ``slice_steps`` neighbourhoods each, side by
    side, and the next round is chosen once all have finished. Every choice
    depends only on the plans found, never on which thread finished first, so
    the plan is the same on every run. ``deadline`` is a safety cap; returns
    True if it (or a cancellation) cut the search short.
    """
    candidates, searches = _open_searches(parts, results, seed, tuning.search, cancel)
    idle = dict.fromkeys(candidates, 0)
    left = steps
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while left > 0 and not cancel.cancelled:
            gaps = {i: searches[i].value - results[i].bound for i in candidates}
            ranked = sorted((i for i in candidates if gaps[i] > TOLERANCE), key=lambda i: (-gaps[i] / (1 + idle[i]), i))
            if not ranked:
                break
            allotted = []
            for i in ranked[:workers]:
                if left <= 0:
                    break
                allotted.append((i, min(tuning.parts.slice_steps, left)))
                left -= allotted[-1][1]
            before = {i: searches[i].value for i, _ in allotted}
            running = [pool.submit(searches[i].run, deadline.left(), n) for i, n in allotted]
            cancel.wait_all(running)
            for future in running:
                future.result()  # a search's error is raised here
            for i, _ in allotted:
                idle[i] = 0 if searches[i].value < before[i] - TOLERANCE else idle[i] + 1
            if any(searches[i].clock_stopped for i, _ in allotted):
                break
    _keep_searched(results, searches)
    return cancel.cancelled or any(search.clock_stopped for search in searches.values())


def _open_searches(
    parts: dict[int, Part],
    results: list[SolveResult],
    seed: int,
    settings: SearchSettings,
    cancel: Cancellation,
    relaxations: dict | None = None,
) -> tuple[list[int], dict[int, Search]]:
    """The parts not proven optimal that a search can work on, and a search from each
    such part's plan (dominance rows left out)."""
    candidates = [
        i
        for i, r in enumerate(results)
        if r.status == Status.FEASIBLE and r.x is not None and r.objective - r.bound > TOLERANCE * max(1.0, abs(r.objective))
    ]
    searches = {
        i: Search(
            without_dominance(parts[i].model),
            results[i].x,
            seed=seed,
            settings=settings,
            cancel=cancel,
            relaxation=(relaxations or {}).get(i),
        )
        for i in candidates
    }
    return [i for i in candidates if searches[i].searchable], searches


def _keep_searched(results: list[SolveResult], searches: dict[int, Search]) -> None:
    """Each searched part's result becomes its search's plan (bound kept)."""
    for i, search in searches.items():
        r = results[i]
        results[i] = dataclasses.replace(
            r,
            status=Status.FEASIBLE,
            x=search.best,
            objective=search.value,
            bound=min(r.bound, search.value),
            solve_seconds=r.solve_seconds + search.seconds,
            search=combined(r.search, search.report()),
        )


def part_facts(formulation: Formulation, part: Component) -> PartFacts:
    """What says which part is which: its pathways, patients, services and hospital sites."""
    variables = formulation.variables.iloc[part.columns]
    patients = np.unique(variables["patient"].to_numpy())
    sites = formulation.snapshot.patients["site"].to_numpy()[patients].astype(str)
    return PartFacts(
        pathways=tuple(part.pathways),
        patients=int(patients.size),
        services=int(variables["service"].nunique()),
        sites=tuple(sorted(set(sites.tolist()))),
    )
