"""Large-neighbourhood search only ever returns feasible plans no worse than its start,
and the polished solve keeps a true bound."""

import math
from pathlib import Path

import numpy as np
import pytest
from checker import brute_force_optimum, check_plan_folder
from helpers import random_tiny_snapshot

from optimiser import build_formulation, load_snapshot, solve
from optimiser.analysis.plan import make_plan
from optimiser.model.components import components
from optimiser.solve import search as lns
from optimiser.solve.greedy import greedy_plan
from optimiser.solve.highs import solve_lp
from optimiser.solve.options import Deadline, SearchSettings
from optimiser.solve.parts import Part, search_by_gap
from optimiser.solve.result import SolveResult, Status
from optimiser.solve.search import Search, improve

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("seed", range(8))
def test_improve_is_feasible_and_never_worse(tmp_path, seed):
    folder = random_tiny_snapshot(tmp_path / "s", seed, patients=8, services=4, horizon=4)
    formulation = build_formulation(load_snapshot(folder))
    start = greedy_plan(formulation)
    x, details = improve(formulation, start, time_limit=0.8, seed=seed, step_seconds=0.1)
    assert formulation.value(x) <= formulation.value(start) + 1e-9
    assert formulation.violations(x) == []
    plan = make_plan(formulation, SolveResult(Status.FEASIBLE, x, formulation.value(x), float("-inf"), "lns", 0.0))
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan")
    assert violations == [] and math.isclose(objective, formulation.value(x), rel_tol=1e-9, abs_tol=1e-9)
    assert objective >= brute_force_optimum(folder) - 1e-7


@pytest.mark.parametrize("threads", [2])  # one thread is the same search without the spare thread (benchmarks)
def test_polished_solve_on_ics_keeps_a_true_bound(tmp_path, threads):
    """threads=1: the search by gap after the exact pass; threads=2: a second thread beside."""
    snapshot = load_snapshot(ROOT / "instances" / "ics")
    formulation = build_formulation(snapshot)
    result = solve(formulation, "highs", time_limit=6, threads=threads, polish=True)
    greedy = formulation.value(greedy_plan(formulation))
    assert result.status == Status.FEASIBLE and result.bound <= result.objective <= greedy
    plan = make_plan(formulation, result)
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(ROOT / "instances" / "ics", tmp_path / "plan")
    assert violations == [] and math.isclose(objective, result.objective, rel_tol=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_two_threads_on_one_component_keep_the_optimum_and_the_plan(tmp_path, seed):
    """With a spare thread a lone MILP component is solved twice side by side (seeds 0 and 1):
    the result is the brute-force optimum, and the same plan run after run."""
    folder = random_tiny_snapshot(tmp_path / "s", 500 + seed, patients=8, services=4, horizon=4)
    formulation = build_formulation(load_snapshot(folder))
    results = [solve(formulation, "highs", time_limit=20, threads=2) for _ in range(2)]
    assert all(r.status == Status.OPTIMAL for r in results)
    assert math.isclose(results[0].objective, brute_force_optimum(folder), rel_tol=1e-9, abs_tol=1e-7)
    assert (results[0].x == results[1].x).all()


def test_a_search_resumed_keeps_its_plan_and_counts(tmp_path):
    """Two slices of one Search: never worse, steps add up, the plan stays feasible."""
    folder = random_tiny_snapshot(tmp_path / "s", 3, patients=8, services=4, horizon=4)
    formulation = build_formulation(load_snapshot(folder))
    start = greedy_plan(formulation)
    search = Search(formulation, start, seed=1, step_seconds=0.1)
    first = search.run(0.5)
    steps = search.steps
    second = search.run(0.5)
    assert search.searchable and steps > 0 and search.steps > steps
    assert formulation.value(second) <= formulation.value(first) <= formulation.value(start) + 1e-9
    assert formulation.violations(second) == []
    assert search.value == formulation.value(second)


@pytest.mark.parametrize("engine", ["cpsat", "highs"])
def test_counted_neighbourhoods_grow_only_with_cpsat(tmp_path, engine):
    """From an optimal plan no step can improve: after PATIENCE counted steps a CP-SAT
    neighbourhood takes one more service and a larger cap; a HiGHS one keeps its size."""
    folder = random_tiny_snapshot(tmp_path / "s", 5, patients=12, services=6, horizon=5)
    formulation = build_formulation(load_snapshot(folder))
    optimum = solve(formulation, "highs", threads=1)
    assert optimum.status == Status.OPTIMAL
    search = Search(formulation, optimum.x, seed=0, settings=SearchSettings(engine=engine))
    assert search.searchable and len(np.unique(formulation.variables["service"])) > search.services
    search.run(None, steps=SearchSettings().patience)
    assert search.improvements == 0 and (search.best == optimum.x).all()
    grown = engine == "cpsat"
    assert search._k == search.services + grown
    assert search._step == pytest.approx(search.step_seconds * (1.5 if grown else 1.0))


def test_search_by_gap_spends_the_time_where_the_gap_is():
    """ics, every component from its greedy plan with its LP bound: after the pooled
    search each plan is feasible, no worse, above its bound, and the component with
    the largest gap was searched first and improved."""
    formulation = build_formulation(load_snapshot(ROOT / "instances" / "ics"))
    parts = components(formulation)
    greedy = greedy_plan(formulation)
    results = []
    for part in parts:
        sub = formulation.subset(part.columns)
        x = greedy[part.columns]
        bound = solve_lp(sub).objective
        results.append(SolveResult(Status.FEASIBLE, x, sub.value(x), bound, "highs", 0.0))
    before = [r.objective for r in results]
    gaps = [r.objective - r.bound for r in results]
    widest = max(range(len(parts)), key=lambda i: gaps[i])
    subs = {i: Part(i, formulation.subset(part.columns), None) for i, part in enumerate(parts)}
    search_by_gap(subs, results, Deadline(4.0), workers=2, seed=0)
    assert results[widest].search.steps > 0
    assert results[widest].objective < before[widest] - 1e-9
    for part, result, old in zip(parts, results, before):
        sub = formulation.subset(part.columns)
        assert sub.violations(result.x) == []
        assert math.isclose(result.objective, sub.value(result.x), rel_tol=1e-12, abs_tol=1e-9)
        assert result.bound - 1e-9 <= result.objective <= old + 1e-9


@pytest.mark.parametrize("helpers", [0, 1])
def test_an_idle_worker_helps_the_one_open_part(helpers):
    """ics's widest component alone, two workers: with a helper both search it (the search
    time is twice the wall time), without one the second worker idles; the plan kept is
    feasible, no worse than the start and the best of the searches."""
    formulation = build_formulation(load_snapshot(ROOT / "instances" / "ics"))
    greedy = greedy_plan(formulation)
    subs, results = {}, []
    for part in components(formulation):
        sub = formulation.subset(part.columns)
        x = greedy[part.columns]
        results.append(SolveResult(Status.FEASIBLE, x, sub.value(x), solve_lp(sub).objective, "highs", 0.0))
        subs[len(subs)] = Part(len(subs), sub, None)
    widest = max(range(len(results)), key=lambda i: results[i].objective - results[i].bound)
    one = [results[widest]]
    start = one[0].objective
    seconds = 3.0
    search_by_gap({0: subs[widest]}, one, Deadline(seconds), workers=2, seed=0, settings=SearchSettings(helpers=helpers))
    spent = one[0].search.seconds
    assert (spent > 1.6 * seconds) if helpers else (spent < 1.2 * seconds)
    assert subs[widest].model.violations(one[0].x) == []
    assert one[0].objective == subs[widest].model.value(one[0].x) <= start + 1e-9


@pytest.mark.parametrize("seed", [40, 42, 62, 64, 66, 71])  # searchable, and greedy's plan is not the LP's
def test_lp_guided_neighbourhoods_alone_are_feasible_and_never_worse(tmp_path, seed):
    """Every step LP-guided (patients where the plan and the LP optimum differ, freed):
    plans stay feasible (independent checker) and no worse than the start."""
    folder = random_tiny_snapshot(tmp_path / "s", seed, patients=10, services=4, horizon=4)
    formulation = build_formulation(load_snapshot(folder))
    start = greedy_plan(formulation)
    search = Search(formulation, start, seed=seed, step_seconds=0.1, settings=SearchSettings(lp_guided_share=1.0))
    x = search.run(0.6)
    assert search.steps > 0 and search._lp is not None
    assert np.abs(search._lp - start).max() > 0.1  # something to free
    assert formulation.value(x) <= formulation.value(start) + 1e-9
    plan = make_plan(formulation, SolveResult(Status.FEASIBLE, x, formulation.value(x), float("-inf"), "lns", 0.0))
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan")
    assert violations == [] and objective >= brute_force_optimum(folder) - 1e-7


@pytest.mark.parametrize("seed", [40, 42, 62, 64])
def test_cpsat_and_highs_agree_on_each_neighbourhood(tmp_path, seed):
    """The neighbourhood sub-MILP solved by CP-SAT (integer-scaled rows, fixed columns moved
    to the right-hand side) and by HiGHS (the whole model with bounds fixed): each proves
    the same optimum, a second-solver check of how CP-SAT's small model is cut out."""
    folder = random_tiny_snapshot(tmp_path / "s", seed, patients=10, services=4, horizon=4)
    formulation = build_formulation(load_snapshot(folder))
    search = Search(formulation, greedy_plan(formulation), seed=seed)
    search._prepare()
    assert search._scaled is not None
    compared = 0
    for _ in range(8):
        free = search._neighbourhood()
        if not (free & (formulation.lower < 0.5)).any():
            continue  # nothing to free: both engines skip the step
        compared += 1
        by_cpsat = search._solve_cpsat(free, 20.0, counted=False)
        by_highs = search._solve_highs(free, 20.0, None)
        assert by_cpsat is not None and by_highs is not None
        assert formulation.violations(by_cpsat) == [] and formulation.violations(by_highs) == []
        assert (by_cpsat[~free] == search.best[~free]).all()  # only the neighbourhood moved
        assert math.isclose(formulation.value(by_cpsat), formulation.value(by_highs), rel_tol=1e-9, abs_tol=1e-9)
        search.best, search.value = by_highs, formulation.value(by_highs)
    assert compared >= 4


def test_rows_that_do_not_scale_to_integers_leave_the_search_to_highs(tmp_path, monkeypatch):
    """CP-SAT needs integer rows; when scaling fails the steps are HiGHS's, still feasible
    and no worse (the independent checker reads the plan)."""

    def refuse(*args):
        raise lns.ScalingError("not a ratio of small integers")

    monkeypatch.setattr(lns, "scale_rows", refuse)
    folder = random_tiny_snapshot(tmp_path / "s", 42, patients=10, services=4, horizon=4)
    formulation = build_formulation(load_snapshot(folder))
    start = greedy_plan(formulation)
    search = Search(formulation, start, seed=0, step_seconds=0.1)
    x = search.run(0.6)
    assert search.steps > 0 and search._scaled is None and search._highs is not None
    assert formulation.value(x) <= formulation.value(start) + 1e-9
    plan = make_plan(formulation, SolveResult(Status.FEASIBLE, x, formulation.value(x), float("-inf"), "lns", 0.0))
    plan.write(tmp_path / "plan")
    violations, _ = check_plan_folder(folder, tmp_path / "plan")
    assert violations == []
