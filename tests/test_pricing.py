"""The priced bound (optimiser/solve/pricing.py): Dantzig-Wolfe over the band services.

A bound must never pass the optimum: checked against HiGHS's proven optimum of the whole
model on tiny random banded snapshots (with and without interim stays, with pricing cut
short so that the pricing MILPs' own dual bounds count) and on demo snapshots, where it
must also beat the LP by a clear margin (the point of it). The blocks are checked apart:
each is one band service's direct starts, and a row is a block's own only if every column
on it is that block's.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import random_tiny_banded_snapshot, random_tiny_interim_snapshot

from optimiser import build_formulation, load_snapshot
from optimiser.cli import main
from optimiser.generate import generate_snapshot
from optimiser.model.families.base import DIRECT, stage_of
from optimiser.solve.highs import solve_highs, solve_lp
from optimiser.solve.result import Status

pricing = importlib.import_module("optimiser.solve.pricing")
TOL = 1e-6


def optimum(formulation) -> float:
    result = solve_highs(formulation, time_limit=60)
    assert result.status == Status.OPTIMAL
    return result.objective


@pytest.mark.parametrize("seed", range(8))
def test_on_tiny_banded_snapshots_the_priced_bound_lies_between_the_lp_and_the_optimum(tmp_path, seed):
    formulation = build_formulation(load_snapshot(random_tiny_banded_snapshot(tmp_path, seed)))
    best = optimum(formulation)
    found = pricing.priced_bound(formulation, time_limit=20)
    assert found.converged
    assert solve_lp(formulation).objective - TOL <= found.bound <= best + TOL
    short = pricing.priced_bound(formulation, time_limit=20, pricing_seconds=0.0)  # every pricing stopped at once
    assert short.bound <= best + TOL


@pytest.mark.parametrize("seed", range(4))
def test_the_improving_solutions_pool_adds_patterns_that_fit_and_converges_to_the_same_bound(tmp_path, seed):
    formulation = build_formulation(load_snapshot(random_tiny_banded_snapshot(tmp_path, seed)))
    pooled = pricing.priced_bound(formulation, time_limit=20, all_improving=True)
    single = pricing.priced_bound(formulation, time_limit=20, all_improving=False)
    assert pooled.converged and single.converged
    assert pooled.bound == pytest.approx(single.bound, abs=1e-4)  # the Dantzig-Wolfe bound, found either way
    assert pooled.bound <= optimum(formulation) + TOL
    matrix, upper = formulation.matrix()
    blocks = pricing.band_blocks(formulation)
    for b, columns in enumerate(blocks.columns):
        rows = np.flatnonzero(blocks.block_of_row == b)
        block = pricing._Pricing(
            formulation, *pricing.block_rows(formulation, matrix, upper, blocks, b), columns, all_improving=True
        )
        cost = np.where(np.arange(len(columns)) % 2 == 0, -5.0, 1.0)  # a few columns pay: HiGHS improves on the way
        bound, found = block.solve(cost, 5.0, pricing.Cancellation())
        assert found and all(block.fits(x) for x in found)
        assert bound <= min(cost @ x for x in found) + TOL
        for x in found:  # checked on the whole model's rows too, the pattern placed among all columns
            whole = np.zeros(formulation.num_variables)
            whole[columns] = x
            assert (matrix[rows] @ whole <= upper[rows] + 1e-6).all()


def test_the_master_rows_priced_in_the_blocks_hold_for_the_optimum_and_raise_the_bound(tmp_path):
    """A block priced with the master rows it keeps (one start a patient, restricted to the
    service's starts): the optimum's starts keep them, and the converged bound rises (demo
    seed 2: 588.6 to 598.1, optimum 610.4; the time limit is a cap, both converge)."""
    generate_snapshot(tmp_path, "demo", seed=2, bands=True, interim=True)
    formulation = build_formulation(load_snapshot(tmp_path))
    best = solve_highs(formulation, time_limit=60)
    assert best.status == Status.OPTIMAL
    matrix, upper = formulation.matrix()
    blocks = pricing.band_blocks(formulation)
    implied = 0
    for b, columns in enumerate(blocks.columns):
        rows, right = pricing.block_rows(formulation, matrix, upper, blocks, b, implied=True)
        own = int((blocks.block_of_row == b).sum())
        implied += rows.shape[0] - own
        assert rows.shape[1] == len(columns)
        assert (rows @ np.round(best.x[columns]) <= right + 1e-6).all()
    assert implied > 0
    without = pricing.priced_bound(formulation, time_limit=600)
    with_rows = pricing.priced_bound(formulation, time_limit=600, implied_rows=True)
    assert without.converged and with_rows.converged
    assert without.bound + 1.0 <= with_rows.bound <= best.objective + TOL


@pytest.mark.parametrize("seed", range(6))
def test_on_tiny_interim_snapshots_the_decomposed_bound_is_below_the_optimum(tmp_path, seed):
    formulation = build_formulation(load_snapshot(random_tiny_interim_snapshot(tmp_path, seed, bands=True)))
    found = pricing.decomposed_bound(formulation, time_limit=20, highs_seconds=5)
    assert found.bound <= optimum(formulation) + TOL


@pytest.fixture(scope="module")
def demo_banded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-bands")
    generate_snapshot(folder, "demo", seed=3, bands=True, interim=True)
    return build_formulation(load_snapshot(folder))


def test_on_the_demo_the_priced_bound_is_far_above_the_lp_and_not_above_the_optimum(demo_banded):
    best = optimum(demo_banded)
    found = pricing.priced_bound(demo_banded, time_limit=60)
    lp = solve_lp(demo_banded).objective
    assert found.converged and found.blocks >= 2
    assert found.bound <= best + TOL
    assert found.bound - lp >= 0.5 * (best - lp)  # most of the LP's gap closed (measured: all of it)


def test_a_block_is_one_band_services_starts_and_its_own_rows_touch_it_alone(demo_banded):
    blocks = pricing.band_blocks(demo_banded)
    matrix, _ = demo_banded.matrix()
    variables = demo_banded.variables
    bands_rows = np.concatenate([np.full(block.size, block.family == "bands") for block in demo_banded.blocks])
    assert blocks.columns
    seen = np.zeros(demo_banded.num_variables, dtype=bool)
    for b, columns in enumerate(blocks.columns):
        assert variables["service"].to_numpy()[columns].min() == variables["service"].to_numpy()[columns].max()
        assert (stage_of(variables.iloc[columns]) == DIRECT).all()
        assert not seen[columns].any()
        seen[columns] = True
        own = np.flatnonzero(blocks.block_of_row == b)
        assert set(matrix[own].tocoo().col.tolist()) <= set(columns.tolist())
    master = matrix[~blocks.own_rows].tocsc()
    assert not bands_rows[~blocks.own_rows].any()  # every band row is some block's
    assert master.nnz > 0  # one start a patient: the master's rows


def test_the_bound_command_bounds_the_plan_and_refuses_a_plan_of_another_snapshot(tmp_path):
    folder = random_tiny_interim_snapshot(tmp_path / "snap", 3, bands=True)
    other = random_tiny_interim_snapshot(tmp_path / "other", 4, bands=True)
    runner = CliRunner()
    for source, out in ((folder, tmp_path / "plan"), (other, tmp_path / "other-plan")):
        made = runner.invoke(main, ["--no-history", "allocate", str(source), "--out", str(out), "--quiet"])
        assert made.exit_code == 0, made.output
    shown = runner.invoke(main, ["bound", str(folder), "--plan", str(tmp_path / "plan"), "--time-limit", "20", "--json"])
    assert shown.exit_code == 0, shown.output
    result = json.loads(shown.output)
    objective = json.loads((tmp_path / "plan" / "summary.json").read_text())["objective"]
    assert result["plan_objective"] == pytest.approx(objective)
    assert result["bound"] <= objective + TOL
    assert result["bound"] == pytest.approx(optimum(build_formulation(load_snapshot(folder))), abs=1e-6)  # tiny: closed
    refused = runner.invoke(main, ["bound", str(folder), "--plan", str(tmp_path / "other-plan")])
    assert refused.exit_code == 2 and "another snapshot" in refused.output
