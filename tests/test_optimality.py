"""The MILP's optimum equals the exhaustive optimum on 60 random tiny snapshots,
and every plan passes the independent checker."""

import math

import pytest
from checker import brute_force_optimum, check_plan_folder
from helpers import random_tiny_snapshot

from optimiser import allocate, load_snapshot


@pytest.mark.parametrize("seed", range(60))
def test_milp_matches_brute_force(tmp_path, seed):
    folder = random_tiny_snapshot(tmp_path / "snapshot", seed, patients=6, services=3, horizon=4)
    plan = allocate(load_snapshot(folder))
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan")
    assert violations == []
    assert plan.status == "optimal"
    assert math.isclose(objective, plan.objective, rel_tol=1e-9, abs_tol=1e-9)
    optimum = brute_force_optimum(folder)
    assert math.isclose(plan.objective, optimum, rel_tol=1e-7, abs_tol=1e-7)
