"""Every solver route reaches the same optimum: HiGHS (by components and as one MILP),
the naive contract model, OR-Tools CP-SAT and Pyomo + HiGHS."""

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from checker import Instance
from helpers import random_tiny_snapshot

from optimiser import allocate, build_formulation, load_snapshot
from optimiser.model.scaling import ScalingError, integer_multiplier, scale_rows
from optimiser.solve.route import WarmStart

ROOT = Path(__file__).resolve().parent.parent
ROUTES = [
    {"solver": "highs"},
    {"solver": "highs", "decompose": False},
    {"solver": "highs", "naive": True},
    {"solver": "cpsat"},
    {"solver": "pyomo"},
]


class FakeRoute:
    """A route that reports what the test says (no solver behind it)."""

    warm_start = WarmStart.NONE
    capabilities: frozenset = frozenset()

    def __init__(self, name, solve):
        self.name, self.solve = name, solve


def as_dict(plan) -> dict:
    return {row.patient_id: (row.service_id, int(row.day)) for row in plan.placements.itertuples()}


def optimal_objectives_of_every_route(folder) -> list[float]:
    """Each route's objective; each must be proven optimal and accepted by the independent checker."""
    snapshot = load_snapshot(folder)
    instance = Instance(folder)
    objectives = []
    for options in ROUTES:
        plan = allocate(snapshot, **options)
        assert plan.status == "optimal", options
        assert instance.violations(as_dict(plan)) == [], options
        objectives.append(plan.objective)
    return objectives


@pytest.mark.parametrize("seed", range(20))
def test_routes_agree_on_small_snapshots(tmp_path, seed):
    folder = random_tiny_snapshot(tmp_path / "s", 1000 + seed, patients=10, services=4, horizon=6)
    objectives = optimal_objectives_of_every_route(folder)
    assert all(math.isclose(value, objectives[0], rel_tol=1e-9, abs_tol=1e-9) for value in objectives), objectives


def test_routes_agree_on_demo_instance():
    snapshot = load_snapshot(ROOT / "instances" / "demo")
    objectives = [allocate(snapshot, **options).objective for options in ROUTES]
    assert np.allclose(objectives, objectives[0], rtol=1e-9), objectives


def test_bed_pathways_of_ics_agree_across_routes():
    """On instances/ics the bed pathways (78 x 14 x 350 triples) are solved by LP and by each MILP route."""
    snapshot = load_snapshot(ROOT / "instances" / "ics")
    beds = snapshot.patients["pathway"] != 1
    snapshot.patients = snapshot.patients[beds].reset_index(drop=True)
    objectives = [allocate(snapshot, **options).objective for options in ROUTES[:2] + ROUTES[3:4]]
    assert np.allclose(objectives, objectives[0], rtol=1e-9), objectives


def test_integer_multiplier_is_exact():
    assert integer_multiplier(np.array([0.5, 0.75, 3.0])) == 4
    assert integer_multiplier(np.array([1 / 7, 0.01])) == 700
    with pytest.raises(ScalingError):
        integer_multiplier(np.array([np.pi, np.e]))


def test_scale_rows_matches_row_by_row_scaling():
    """The vectorised scaling gives each row the LCM of its own denominators, as a row-by-row
    computation (Fraction per coefficient) does: rows of integers, of halves and quarters, of
    sevenths, and empty rows."""
    rng = np.random.default_rng(3)
    choices = np.array([1.0, 2.0, 0.5, 0.25, 0.75, 1.25, 3 / 7, 2 / 3, 5.0])
    dense = rng.choice(choices, size=(60, 25)) * (rng.random((60, 25)) < 0.3)
    dense[:5] = np.round(dense[:5])  # integer rows keep factor 1
    dense[5:8] = 0.0  # empty rows
    matrix, upper = sp.csr_matrix(dense), rng.random(60) * 10
    scaled, scaled_upper = scale_rows(matrix, upper)
    for row in range(60):
        coefs = dense[row][dense[row] != 0]
        factor = math.lcm(*(Fraction(float(c)).limit_denominator(10**6).denominator for c in coefs)) if coefs.size else 1
        assert np.array_equal(scaled.toarray()[row], np.round(dense[row] * factor)), row
        assert scaled_upper[row] == math.floor(upper[row] * factor + 1e-12), row
    assert np.all(scaled.data == np.round(scaled.data))
    with pytest.raises(ScalingError):
        scale_rows(sp.csr_matrix(np.array([[np.pi, np.e]])), np.ones(1))  # an LCM over 10^9


def test_cpsat_reports_contract_units():
    formulation = build_formulation(load_snapshot(ROOT / "instances" / "demo"))
    plan = allocate(load_snapshot(ROOT / "instances" / "demo"), solver="cpsat")
    assert plan.summary["objective"] == pytest.approx(formulation.value(plan.result.x), rel=1e-12)


def test_the_proto_written_model_is_the_one_the_cp_model_api_writes():
    """cpsat_model fills the proto directly; the same rows, objective and hint written through
    CpModel's own API (new_bool_var, <=, minimize, add_hint) give the same model once names
    are left out, and a pinned column is a variable fixed at 1."""
    from ortools.sat.python import cp_model
    from scipy import sparse

    from optimiser.solve.cpsat import cpsat_model

    rng = np.random.default_rng(3)
    rows = sparse.random(7, 12, density=0.4, random_state=4, format="csr")
    rows.data = rng.integers(1, 9, size=rows.nnz).astype(float)
    upper, costs, hint = rng.integers(0, 20, 7), rng.integers(-50, 50, 12), rng.integers(0, 2, 12)
    costs[[2, 5]] = 0
    ours = cpsat_model(rows, upper, costs, ones=np.array([1, 4]), hint=hint).proto
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in range(12)]
    for r in range(7):
        lo, hi = rows.indptr[r], rows.indptr[r + 1]
        model.add(sum(int(a) * x[j] for j, a in zip(rows.indices[lo:hi], rows.data[lo:hi])) <= int(upper[r]))
    model.minimize(sum(int(c) * v for c, v in zip(costs, x) if c))
    for v, h in zip(x, hint):
        model.add_hint(v, int(h))
    theirs = model.proto

    def rows_of(proto):
        return [(sorted(zip(c.linear.vars, c.linear.coeffs)), list(c.linear.domain)) for c in proto.constraints]

    assert rows_of(ours) == rows_of(theirs) and len(rows_of(ours)) == 7
    assert [list(v.domain) for v in ours.variables] == [[1, 1] if j in (1, 4) else [0, 1] for j in range(12)]
    assert sorted(zip(ours.objective.vars, ours.objective.coeffs)) == sorted(zip(theirs.objective.vars, theirs.objective.coeffs))
    assert list(ours.solution_hint.vars) == list(theirs.solution_hint.vars) == list(range(12))
    assert list(ours.solution_hint.values) == list(theirs.solution_hint.values) == [int(h) for h in hint]


def test_parallel_solves_leave_stdout_alone():
    """HiGHS banners are silenced by pointing fd 1 at /dev/null; solves in parallel threads must
    restore the real stdout (a race once left it silenced, so --json printed nothing)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from optimiser.solve.highs import solve_lp

    formulation = build_formulation(load_snapshot(ROOT / "instances" / "demo"))
    before = os.fstat(1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: solve_lp(formulation), range(48)))
    after = os.fstat(1)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_routes_agree_on_all_of_ics_with_pathway_1_mostly_pinned(tmp_path):
    """The whole of instances/ics (every pathway, every row family) through every route.
    Pathway 1 alone is not provable in test time by any route, so the pathway-1 patients that
    first come first served places are pinned where it puts them; the 15 it leaves out stay
    free, and the bed pathways are free as usual."""
    import shutil

    import pandas as pd

    folder = tmp_path / "ics"
    shutil.copytree(ROOT / "instances" / "ics", folder)
    snapshot = load_snapshot(folder)
    greedy = allocate(snapshot, solver="greedy").placements
    pathway_1 = set(snapshot.patients.loc[snapshot.patients["pathway"] == 1, "patient_id"])
    pins = greedy[greedy["patient_id"].isin(pathway_1)]
    pd.DataFrame({"patient_id": pins["patient_id"], "service_id": pins["service_id"], "date": pins["start_date"]}).to_csv(
        folder / "pinned.csv", index=False
    )
    objectives = optimal_objectives_of_every_route(folder)
    assert len(pins) < len(pathway_1)  # some pathway-1 patients were left to the solvers
    assert np.allclose(objectives, objectives[0], rtol=1e-9), objectives


@pytest.mark.parametrize("decompose", [True, False])
def test_a_route_stopped_with_a_dearer_plan_gives_back_the_warm_start(monkeypatch, decompose):
    """Pyomo cannot hand HiGHS a start, and HiGHS stopped early returns its first plan (nobody
    placed but the pinned): the plan given back must still be the warm start, not that one."""
    from optimiser.solve import dispatch
    from optimiser.solve.greedy import warm_start_plan
    from optimiser.solve.result import SolveResult, Status

    def first_plan_only(formulation, options, cancel):
        x = formulation.lower.astype(float)  # the pinned placements only: feasible, and dear
        return SolveResult(Status.FEASIBLE, x, formulation.value(x), float("-inf"), "pyomo", 0.0, "Time limit reached")

    monkeypatch.setitem(dispatch.ROUTES, "pyomo", FakeRoute("pyomo", first_plan_only))
    folder = ROOT / "instances" / "demo"
    snapshot = load_snapshot(folder)
    formulation = build_formulation(snapshot)
    warm = formulation.value(warm_start_plan(formulation))
    plan = allocate(snapshot, solver="pyomo", decompose=decompose, time_limit=60)
    assert plan.status == "feasible"
    assert plan.objective <= warm + 1e-9  # equal without decomposition; the bed parts by LP can do better
    assert plan.objective < formulation.value(formulation.lower) - 1.0
    assert Instance(folder).violations(as_dict(plan)) == []
    assert plan.summary["bound"] <= plan.objective  # the route's (-inf as one MILP; by parts, LPs fill in)
    assert math.isfinite(plan.summary["bound"]) == decompose


@pytest.mark.parametrize("solver", ["highs", "cpsat"])
def test_a_route_stopped_before_its_root_lp_reports_at_least_the_lp_bound(monkeypatch, solver):
    """HiGHS or CP-SAT stopped before its root LP is solved returns a finite but near-trivial
    bound (national at 30 s: 41 for a part whose LP optimum is 2,888): each part's bound is
    then at least its LP optimum, and still a true bound."""
    from optimiser.solve import dispatch
    from optimiser.solve.highs import solve_lp
    from optimiser.solve.result import SolveResult, Status

    def stopped_early(formulation, options, cancel):
        x = np.round(options.warm_start)
        weak = formulation.constant + np.minimum(formulation.objective, 0).sum()  # every column at its best
        return SolveResult(Status.FEASIBLE, x, formulation.value(x), weak, solver, 0.0, "stopped at a limit")

    monkeypatch.setitem(dispatch.ROUTES, solver, FakeRoute(solver, stopped_early))
    snapshot = load_snapshot(ROOT / "instances" / "demo")
    lp = solve_lp(build_formulation(snapshot)).objective
    plan = allocate(snapshot, solver=solver)  # no time limit, so no search after the route
    assert plan.status == "feasible"
    assert lp - 1e-6 <= plan.summary["bound"] <= plan.objective + 1e-9
