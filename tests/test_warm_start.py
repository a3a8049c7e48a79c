"""Yesterday's plan as today's start (``previous.kept_start``): the patients of it that still
fit, where the whole plan no longer does."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from checker import brute_force_optimum, check_plan_folder
from helpers import random_tiny_interim_snapshot, random_tiny_snapshot

from optimiser import load_snapshot
from optimiser.analysis.plan import make_plan
from optimiser.model.families.base import DIRECT, INTERIM, stage_of
from optimiser.model.formulation import build_formulation
from optimiser.model.previous import kept_start, start_vector
from optimiser.solve.dispatch import short_limit_tuning, solve
from optimiser.solve.greedy import greedy_plan, rounded_plan, warm_start_plan
from optimiser.solve.highs import solve_lp
from optimiser.solve.options import Tuning
from optimiser.solve.result import SolveResult, Status


def _tiny(folder, kind: str, seed: int, patients: int):
    if kind == "v1":
        random_tiny_snapshot(folder, seed, patients=patients, services=3)
    else:
        random_tiny_interim_snapshot(folder, seed, patients=patients)
    return build_formulation(load_snapshot(folder))


def _plan(formulation) -> tuple[np.ndarray, pd.DataFrame]:
    result = solve(formulation, "highs", time_limit=20)
    x = np.round(result.x)
    stage = stage_of(formulation.variables)
    chosen = formulation.variables[(x > 0.5) & (stage <= INTERIM)]
    return x, chosen[[c for c in ("patient", "service", "day", "stage") if c in chosen]].reset_index(drop=True)


def _tighter(formulation, x):
    """The model with one binding row's right-hand side one unit (or one coefficient) lower."""
    matrix, upper = formulation.matrix()
    load = matrix @ x
    offset = 0
    for i, block in enumerate(formulation.blocks):
        rows = np.arange(offset, offset + block.size)
        offset += block.size
        binding = rows[(load[rows] > 0.5) & (np.abs(load[rows] - upper[rows]) < 1e-6)]
        if len(binding) and block.family not in ("assignment", "interim"):
            local = binding[0] - rows[0]
            cut = block.upper.copy()
            cut[local] -= max(1.0, float(np.abs(block.coef[block.row == local]).min()))
            blocks = list(formulation.blocks)
            blocks[i] = dataclasses.replace(block, upper=cut)
            return dataclasses.replace(formulation, blocks=blocks)
    return None


@pytest.mark.parametrize("kind", ["v1", "interim"])
def test_the_parts_that_still_fit_are_kept(tmp_path, kind):
    tried = 0
    for seed in range(40):
        formulation = _tiny(tmp_path / f"{kind}{seed}", kind, seed, patients=6 if kind == "v1" else 5)
        x, plan = _plan(formulation)
        if len(plan) < 2:
            continue
        whole = kept_start(formulation, plan)  # the plan fits its own model: all of it is kept
        assert whole.kept == whole.offered == plan["patient"].nunique()
        assert np.array_equal(whole.x, start_vector(formulation, plan))
        tighter = _tighter(formulation, x)
        if tighter is None:
            continue
        assert start_vector(tighter, plan) is None  # the whole plan no longer fits
        kept = kept_start(tighter, plan)
        if kept.x is None:
            continue
        assert tighter.violations(kept.x) == []
        assert 1 <= kept.kept < kept.offered
        tried += 1
    assert tried >= 3


@pytest.mark.parametrize("kind", ["v1", "interim"])
def test_the_greedy_fill_keeps_yesterdays_placements_and_places_others(tmp_path, kind):
    """``greedy_plan(keep=...)``: half of an optimal plan kept, the greedy rule fills the room
    left. The kept rows stay, the plan breaks no row, every patient the fill adds was left
    out by the kept plan, and the warm start is the best of the candidates."""
    filled = 0
    for seed in range(12):
        formulation = _tiny(tmp_path / f"{kind}{seed}", kind, seed, patients=8 if kind == "v1" else 6)
        _, plan = _plan(formulation)
        patients = plan["patient"].unique()
        if len(patients) < 2:
            continue
        half = kept_start(formulation, plan[plan["patient"].isin(patients[::2])].reset_index(drop=True))
        assert half.x is not None
        stage = stage_of(formulation.variables)
        patient = formulation.variables["patient"].to_numpy()
        kept_rows = (half.x > 0.5) & (stage <= INTERIM)
        for order in ("wait", "value"):
            fill = greedy_plan(formulation, order, keep=half.x)
            assert formulation.violations(fill) == []
            assert (fill[kept_rows] == 1).all()
            added = (fill > 0.5) & ~kept_rows & (stage <= INTERIM)
            assert not np.isin(patient[added], patient[kept_rows]).any()
            filled += added.any()
            best = warm_start_plan(formulation, keep=half.x)
            assert formulation.value(best) <= min(formulation.value(fill), formulation.value(half.x)) + 1e-9
    assert filled >= 3


@pytest.mark.parametrize("kind", ["v1", "interim"])
def test_the_lp_rounded_plan_breaks_no_rule_and_is_the_lp_when_that_is_whole(tmp_path, kind):
    """``rounded_plan``: the LP optimum rounded column by column. The independent checker finds
    the plan feasible on every snapshot, and where the LP optimum is already 0/1 with no interim
    stay (the rounding starts none) it gives it back unchanged."""
    whole = 0
    for seed in range(10):
        folder = tmp_path / f"{kind}{seed}"
        formulation = _tiny(folder, kind, seed, patients=8 if kind == "v1" else 6)
        relaxed = solve_lp(formulation).x
        x = rounded_plan(formulation, relaxed)
        assert formulation.violations(x) == []
        result = SolveResult(Status.FEASIBLE, x, formulation.value(x), float("-inf"), "lp-rounded", 0.0)
        make_plan(formulation, result).write(tmp_path / f"plan{kind}{seed}")
        violations, objective = check_plan_folder(folder, tmp_path / f"plan{kind}{seed}")
        assert violations == [] and math.isclose(objective, formulation.value(x), rel_tol=1e-9, abs_tol=1e-9)
        direct = stage_of(formulation.variables) == DIRECT
        whole_lp = np.all(np.abs(relaxed - np.round(relaxed)) < 1e-9) and not formulation.violations(np.round(relaxed))
        if whole_lp and np.all(relaxed[~direct] < 1e-9):
            whole += 1
            assert np.array_equal(x, np.round(relaxed))
    assert whole >= 2


@pytest.mark.parametrize("seed", range(4))
def test_a_short_solve_from_yesterdays_plan_searches_from_the_rounding_and_keeps_a_true_bound(tmp_path, seed):
    """Given a start under a short limit, one thread (a simulated day), a pooled part begins
    from its LP's rounding. The plan is no worse than the start, the checker finds it feasible,
    and the bound is at most the brute-force optimum. Without a start, or at 30 s or more, the
    setting stays off."""
    assert short_limit_tuning(Tuning(), 2.0, given_start=True).parts.rounded_start
    assert not short_limit_tuning(Tuning(), 2.0, given_start=False).parts.rounded_start
    assert not short_limit_tuning(Tuning(), 30.0, given_start=True).parts.rounded_start
    assert not short_limit_tuning(Tuning(), None, given_start=True).parts.rounded_start
    folder = random_tiny_snapshot(tmp_path / "s", 700 + seed, patients=8, services=4, horizon=4)
    formulation = build_formulation(load_snapshot(folder))
    start = greedy_plan(formulation)
    result = solve(formulation, "highs", start=start, time_limit=1.0, threads=1)
    assert result.objective <= formulation.value(start) + 1e-9
    make_plan(formulation, result).write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan")
    assert violations == [] and math.isclose(objective, result.objective, rel_tol=1e-9, abs_tol=1e-9)
    assert result.bound <= brute_force_optimum(folder) + 1e-7 <= objective + 2e-7
