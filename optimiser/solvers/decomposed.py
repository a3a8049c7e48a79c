"""Exact solve by parts: each independent component solved on its own, in parallel.

The plan is the union of the components' plans, its objective the whole
model's objective, and its bound the sum of the components' bounds plus the
cost of patients with no variable (a true bound: components share no row).
A bed-pathway component is solved as an LP first: its optimum is integral
(``decompose.py``), so an integral vertex is proven optimal at once; if the
vertex were fractional (numerics), the component goes to the MILP route.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..decompose import Component, components
from ..dominance import without_dominance
from ..formulation import Formulation
from . import interrupt, lns
from .highs import solve_highs
from .lns import Search, improve
from .result import SolveResult, Status

INTEGRAL = 1e-6
POLISH_SPLIT = 0.5  # share of a component's time for the exact route when polishing
SEARCH_BESIDE = True  # spare threads run a second exact solve + search beside a component
SEARCH_BY_GAP = True  # search time pooled over components and handed out by gap (see _search_by_gap)
POOLED_SPLIT = 0.6  # with the search pooled: share of the whole limit for the exact route
WEAK_BOUND_GAP = 0.05  # a part stopped with a larger gap also gets its LP optimum as a bound (about 0.06 s)
EXACT_NODES = 1  # work limit: branch-and-bound nodes per component for the exact route (1: its root node)
SLICE_STEPS = 10  # work limit: neighbourhoods per component per round of the search


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
    polish: bool = False,
    work_limit: int | None = None,
) -> SolveResult:
    """Solve every component with ``route`` (threads spread over components).

    ``polish`` (under a time limit): a component the exact route does not
    prove optimal is improved by large-neighbourhood search (``lns.py``) from
    the route's plan; the route's bound is kept. With more threads than MILP
    components, the largest get a second thread, and each of the two runs the
    exact route for half the component's share, then the search (better plan
    and higher bound kept). Otherwise the exact route gets ``POOLED_SPLIT`` of
    the limit spread over the components, and the search time left is pooled
    and handed out in slices to the components with the largest gaps
    (``_search_by_gap``). Without a time limit the route runs to the end.

    ``work_limit`` (HiGHS route): limits that count work instead of seconds,
    so that the plan does not depend on the machine's speed or load: the
    exact route stops after ``EXACT_NODES`` nodes per component (its root node), then (with
    ``polish``) ``work_limit`` neighbourhoods in all are handed out by gap in
    rounds (``_search_by_work``). The time limit is then only a safety cap;
    the message says ``work limit reached`` when it did not cut in.
    """
    started = time.perf_counter()
    deadline = None if time_limit is None else started + time_limit
    parts = components(formulation)
    x = np.zeros(formulation.num_variables)
    in_model = np.zeros(len(formulation.unplaced_cost), dtype=bool)
    in_model[formulation.patients_in_model()] = True
    bound = float(formulation.unplaced_cost[~in_model].sum())

    # Networks first (an LP each, fast), then the MILPs, largest first.
    order = sorted(range(len(parts)), key=lambda i: (not (network_lp and parts[i].network), -len(parts[i].columns), i))
    workers = max(1, min(int(threads), len(parts)))
    milp = [i for i in order if not (network_lp and parts[i].network)]
    waiting = [len(milp)]
    counted = work_limit is not None
    helped = set(milp[: max(0, int(threads) - len(milp))]) if (polish and SEARCH_BESIDE and not counted) else set()
    pooled = polish and SEARCH_BY_GAP and deadline is not None and len(helped) == 0 and not counted
    clock = [False]  # a counted run cut short by the time limit
    exact_deadline = started + POOLED_SPLIT * time_limit if pooled else deadline
    lock = threading.Lock()

    def budget(until: float | None) -> float | None:
        """A fair share of the time left until ``until``: the MILPs not yet started split it over the workers."""
        with lock:
            share = max(1, -(-waiting[0] // workers))
            waiting[0] = max(waiting[0] - 1, 0)
        left = _left(until)
        return None if left is None else max(left / share, 0.01)

    subs: dict[int, Formulation] = {}

    def solve_part(i: int, beside: bool) -> SolveResult:
        part = parts[i]
        sub = subs[i] = formulation.subset(part.columns)
        start = None if warm_start is None else warm_start[part.columns]
        if interrupt.interrupted.is_set() and start is not None:  # stopped before this part began
            unsolved = SolveResult(Status.ERROR, None, float("inf"), float("-inf"), name, 0.0, interrupt.stop_reason[0])
            return no_worse_than_start(sub, unsolved, start)
        if network_lp and part.network:
            relaxed = solve_highs(sub, time_limit=_left(deadline), threads=1, relax=True)
            if relaxed.x is not None and np.all(np.abs(relaxed.x - np.round(relaxed.x)) <= INTEGRAL):
                value = sub.value(relaxed.x)
                return SolveResult(Status.OPTIMAL, np.round(relaxed.x), value, value, "highs-lp", relaxed.solve_seconds)
        if counted:
            result = route(
                sub,
                time_limit=_left(deadline),
                threads=1,
                warm_start=start,
                mip_gap=mip_gap,
                seed=seed,
                log=log,
                node_limit=EXACT_NODES,
            )
            clock[0] |= result.details.get("highs_status") == "Time limit reached"
        elif beside and deadline is not None and start is not None:
            share = budget(deadline)
            result = _route_with_search_beside(sub, route, start, share, mip_gap=mip_gap, seed=seed, log=log)
        elif pooled:  # the exact route alone now; the search comes later, by gap
            result = route(
                sub, time_limit=budget(exact_deadline), threads=1, warm_start=start, mip_gap=mip_gap, seed=seed, log=log
            )
        else:
            result = _route_then_search(sub, route, start, budget(deadline), polish, mip_gap=mip_gap, seed=seed, log=log)
        result = no_worse_than_start(sub, result, start)
        # The LP optimum is a true bound: in place of none, or of a weak one. A route stopped
        # before its root LP was solved reports a bound from presolve that can be near trivial
        # (HiGHS and CP-SAT on national at 30 s: 41 against an LP optimum of 2,888)
        if result.status != Status.OPTIMAL and (not np.isfinite(result.bound) or result.gap > WEAK_BOUND_GAP):
            relaxed = solve_highs(sub, relax=True)
            if relaxed.x is not None:
                result.bound = min(max(relaxed.objective, result.bound), result.objective)  # includes the constant
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {i: pool.submit(solve_part, i, i in helped) for i in order}
        interrupt.wait_all(list(futures.values()))
        results = [futures[i].result() for i in range(len(parts))]
    if pooled:
        _search_by_gap(subs, results, deadline, workers, seed)
    if counted and polish:
        clock[0] |= _search_by_work(subs, results, int(work_limit), workers, seed, deadline)

    statuses = []
    for part, result in zip(parts, results):
        if result.x is None:  # no plan and no warm start: nobody placed in this part
            statuses.append(Status.FEASIBLE)
            bound += result.bound
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
        "component_gaps": [round(r.objective - r.bound, 6) if r.x is not None else None for r in results],
        "component_optimal": [r.status == Status.OPTIMAL for r in results],
        "component_facts": [_facts(formulation, part) for part in parts],
    }
    return SolveResult(
        status,
        x,
        objective,
        min(bound, objective),
        name,
        time.perf_counter() - started,
        "optimal"
        if status == Status.OPTIMAL
        else (
            interrupt.stop_reason[0]
            if interrupt.interrupted.is_set()
            else ("work limit reached" if counted and not clock[0] else "stopped at a limit")
        ),
        details,
    )


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
    if result.x is not None and result.objective <= value + 1e-9 * max(1.0, abs(value)):
        return result
    return SolveResult(
        Status.FEASIBLE,
        np.round(start),
        value,
        min(result.bound, value),
        result.solver,
        result.solve_seconds,
        result.message,
        {**result.details, "warm_start_kept": True},
    )


def _route_then_search(
    sub: Formulation,
    route: Callable[..., SolveResult],
    start,
    share: float | None,
    polish: bool,
    stop: threading.Event | None = None,
    **options,
) -> SolveResult:
    """The exact route for the share (half of it when ``polish``), then the search from its plan.
    ``stop`` (HiGHS route only) ends both early."""
    began = time.perf_counter()
    exact_share = share * POLISH_SPLIT if (polish and share is not None) else share
    extra = {} if stop is None else {"stop": stop}
    result = route(sub, time_limit=exact_share, threads=1, warm_start=start, **options, **extra)
    if polish and share is not None and result.status == Status.FEASIBLE and result.x is not None:
        left = share - (time.perf_counter() - began)
        x_better, details = improve(without_dominance(sub), result.x, left, seed=options["seed"], stop=stop)
        result = SolveResult(
            Status.FEASIBLE,
            x_better,
            sub.value(x_better),
            result.bound,
            result.solver,
            time.perf_counter() - began,
            result.message,
            {**result.details, **details},
        )
    return result


def _route_with_search_beside(
    sub: Formulation, route: Callable[..., SolveResult], start: np.ndarray, share: float, **options
) -> SolveResult:
    """Two threads for ``share`` seconds, each the exact route for half the time then the
    search from its plan, with seeds ``seed`` and ``seed + 1``.

    The plan is the better of the two, the bound the higher of their bounds
    (each is a true bound). Deterministic when the first proves optimality:
    its plan is taken and it stops the second (the second's proof does not
    stop the first, so which finishes first never decides the plan).
    """
    began = time.perf_counter()
    stop = threading.Event()
    found: list[SolveResult | None] = [None, None]

    def second() -> None:
        found[1] = _route_then_search(sub, route, start, share, True, stop=stop, **{**options, "seed": options["seed"] + 1})

    helper = threading.Thread(target=second, name="search-beside", daemon=True)
    helper.start()
    try:
        found[0] = _route_then_search(sub, route, start, share, True, **options)
    finally:
        stop.set()
        helper.join()
    first, other = found
    if first.status == Status.OPTIMAL or other is None or other.x is None:
        return first
    results = [r for r in found if r is not None and r.x is not None]
    best = min(results, key=lambda r: (r.status != Status.OPTIMAL, sub.value(r.x)))
    bound = max(r.bound for r in found if r is not None)
    value = sub.value(best.x)
    details = {**best.details, "threads_on_component": 2}
    status = Status.OPTIMAL if best.status == Status.OPTIMAL else Status.FEASIBLE
    return SolveResult(status, best.x, value, min(bound, value), best.solver, time.perf_counter() - began, best.message, details)


def _search_by_gap(subs: dict[int, Formulation], results: list[SolveResult], deadline: float, workers: int, seed: int) -> None:
    """Large-neighbourhood search on the components (``subs``: formulation by index) not
    proven optimal until ``deadline``, time handed out in slices by gap; ``results`` are
    updated in place.

    The bounds are fixed by now, so the whole plan's gap falls by exactly what
    the searches gain: each free worker takes the component with the largest
    gap (objective - bound), divided by 1 + the number of slices in a row that
    found nothing there (a component the search cannot improve stops drawing
    time), and searches it for one slice, resuming where its last slice ended.
    A slice is a third of an even share of the pooled time, 1 to 10 seconds.
    """
    began = time.perf_counter()
    candidates, searches = _open_searches(subs, results, seed)
    if not candidates or deadline - began <= lns.STEP_SECONDS:
        return
    slice_seconds = min(max(workers * (deadline - began) / (3 * len(candidates)), 1.0), 10.0)
    idle = dict.fromkeys(candidates, 0)
    held: set[int] = set()
    lock = threading.Lock()

    def worker() -> None:
        while not interrupt.interrupted.is_set():
            with lock:
                left = deadline - time.perf_counter()
                free = [i for i in candidates if i not in held and searches[i].value - results[i].bound > 1e-9]
                if left <= lns.STEP_SECONDS or not free:
                    return
                i = max(free, key=lambda i: ((searches[i].value - results[i].bound) / (1 + idle[i]), -i))
                held.add(i)
            before = searches[i].value
            searches[i].run(min(slice_seconds, left))
            with lock:
                idle[i] = 0 if searches[i].value < before - 1e-9 else idle[i] + 1
                held.discard(i)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        running = [pool.submit(worker) for _ in range(workers)]
        interrupt.wait_all(running)
        for future in running:
            future.result()  # a worker's error is raised here
    _keep_searched(results, searches)


def _search_by_work(
    subs: dict[int, Formulation], results: list[SolveResult], steps: int, workers: int, seed: int, deadline: float | None
) -> bool:
    """``_search_by_gap`` with counted work: ``steps`` neighbourhoods in all, each limited in
    nodes, not seconds (``lns.Search`` counted runs); ``results`` are updated in place.

    In rounds: the ``workers`` components with the largest gap (divided by 1 +
    their fruitless rounds in a row) get ``SLICE_STEPS`` neighbourhoods each,
    side by side, and the next round is chosen once all have finished. Every
    choice depends only on the plans found, never on which thread finished
    first, so the plan is the same on every run. ``deadline`` is a safety cap;
    returns True if it (or Ctrl-C) cut the search short.
    """
    candidates, searches = _open_searches(subs, results, seed)
    idle = dict.fromkeys(candidates, 0)
    left = steps
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while left > 0 and not interrupt.interrupted.is_set():
            gaps = {i: searches[i].value - results[i].bound for i in candidates}
            ranked = sorted((i for i in candidates if gaps[i] > 1e-9), key=lambda i: (-gaps[i] / (1 + idle[i]), i))
            if not ranked:
                break
            allotted = []
            for i in ranked[:workers]:
                if left <= 0:
                    break
                allotted.append((i, min(SLICE_STEPS, left)))
                left -= allotted[-1][1]
            before = {i: searches[i].value for i, _ in allotted}
            running = [pool.submit(searches[i].run, _left(deadline), None, n) for i, n in allotted]
            interrupt.wait_all(running)
            for future in running:
                future.result()  # a search's error is raised here
            for i, _ in allotted:
                idle[i] = 0 if searches[i].value < before[i] - 1e-9 else idle[i] + 1
            if any(searches[i].clock_stopped for i, _ in allotted):
                break
    _keep_searched(results, searches)
    return interrupt.interrupted.is_set() or any(search.clock_stopped for search in searches.values())


def _open_searches(subs: dict[int, Formulation], results: list[SolveResult], seed: int) -> tuple[list[int], dict[int, Search]]:
    """The components not proven optimal that a search can work on, and a search from each
    such component's plan (dominance rows left out)."""
    candidates = [
        i
        for i, r in enumerate(results)
        if r.status == Status.FEASIBLE and r.x is not None and r.objective - r.bound > 1e-9 * max(1.0, abs(r.objective))
    ]
    searches = {i: Search(without_dominance(subs[i]), results[i].x, seed=seed) for i in candidates}
    return [i for i in candidates if searches[i].searchable], searches


def _keep_searched(results: list[SolveResult], searches: dict[int, Search]) -> None:
    """Each searched component's result becomes its search's plan (bound kept)."""
    for i, search in searches.items():
        r = results[i]
        results[i] = SolveResult(
            Status.FEASIBLE,
            search.best,
            search.value,
            min(r.bound, search.value),
            r.solver,
            r.solve_seconds + search.seconds,
            r.message,
            {**r.details, **search.details()},
        )


def _facts(formulation: Formulation, part: Component) -> dict:
    """What says which part is which: its pathways, patients, services and hospital sites."""
    variables = formulation.variables.iloc[part.columns]
    patients = np.unique(variables["patient"].to_numpy())
    sites = formulation.snapshot.patients["site"].to_numpy()[patients].astype(str)
    return {
        "pathways": list(part.pathways),
        "patients": int(patients.size),
        "services": int(variables["service"].nunique()),
        "sites": sorted(set(sites.tolist())),
    }


def _left(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(deadline - time.perf_counter(), 0.01)
