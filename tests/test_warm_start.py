"""Yesterday's plan as today's start (``previous.kept_start``): the patients of it that still
fit, where the whole plan no longer does."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from helpers import random_tiny_interim_snapshot, random_tiny_snapshot

from optimiser import load_snapshot
from optimiser.model.families.base import INTERIM, stage_of
from optimiser.model.formulation import build_formulation
from optimiser.model.previous import kept_start, start_vector
from optimiser.solve.dispatch import solve
from optimiser.solve.greedy import greedy_plan, warm_start_plan


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
