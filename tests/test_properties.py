"""Property test: for random valid snapshots the MILP plan is feasible by the
independent checker, and never worse than the greedy plan (itself feasible)."""

import tempfile
from pathlib import Path

from checker import Instance
from helpers import random_tiny_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimiser import allocate, build_formulation, load_snapshot, solve


def as_dict(plan) -> dict:
    return {row.patient_id: (row.service_id, int(row.day)) for row in plan.placements.itertuples()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), patients=st.integers(1, 12), services=st.integers(1, 5), horizon=st.integers(1, 10))
def test_plan_feasible_and_never_worse_than_greedy(seed, patients, services, horizon):
    with tempfile.TemporaryDirectory() as folder:
        snapshot_folder = random_tiny_snapshot(Path(folder) / "s", seed, patients, services, horizon)
        snapshot = load_snapshot(snapshot_folder)
        instance = Instance(snapshot_folder)
        milp = allocate(snapshot)
        greedy = allocate(snapshot, solver="greedy")
        assert instance.violations(as_dict(milp)) == []
        assert instance.violations(as_dict(greedy)) == []
        assert abs(instance.objective(as_dict(milp)) - milp.objective) <= 1e-6 * max(1, abs(milp.objective))
        assert milp.objective <= greedy.objective + 1e-6


def test_time_limit_returns_best_plan_with_bound():
    root = Path(__file__).resolve().parent.parent
    formulation = build_formulation(load_snapshot(root / "instances" / "ics"))
    result = solve(formulation, "highs", time_limit=1.0)
    assert result.status.value in ("feasible", "optimal")
    assert result.x is not None and formulation.violations(result.x) == []
    assert result.bound <= result.objective + 1e-9
    assert result.solve_seconds < 20
