"""The lookahead policy (optimiser.simulate.lookahead): it plans with the flow file's expected
newcomers, never with the run's own future draws, and carries out only real patients' starts;
the max_wait_days cap puts an overdue patient first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import random_tiny_snapshot
from test_bound import tiny_flow, with_places

from optimiser import load_snapshot
from optimiser.data.problems import InputError
from optimiser.simulate.engine import Run, draw_run, simulate_run
from optimiser.simulate.flow import read_flow
from optimiser.simulate.lookahead import Lookahead
from optimiser.simulate.runner import run_seeds

KNOWN = 2  # the days whose decisions must not depend on anything drawn for later days


def _flow_folder(tmp_path: Path, seed: int, phantoms: bool = True) -> Path:
    """A tiny flow; with ``phantoms``, its lookahead plans with phantom newcomers (off by default)."""
    folder = with_places(random_tiny_snapshot(tmp_path / f"s{seed}", seed, patients=5, services=3), seed)
    tiny_flow(folder, days=6, per_day=2.5)
    if phantoms:
        with open(folder / "flow.toml", "a") as handle:
            handle.write("[lookahead]\nphantoms = true\n")
    return folder


def _plans(snapshot, flow, draws, days: int) -> tuple[list[pd.DataFrame], list[int]]:
    """Each day's whole plan (all its days, not only the first) and how many patients it planned for."""
    planned = []
    run = Run(snapshot, flow, draws, "lookahead", 0, observer=lambda t, state, f, r: planned.append(len(state.patients)))
    plans = []
    for t in range(days):
        run.step(t)
        plans.append(run.previous.reset_index(drop=True))
    return plans, planned


def _changed_future(draws, after: int, rng: np.random.Generator):
    """The same draws up to day ``after``; the newcomers of later days copy other patients and stay otherwise."""
    patients = draws.patients.copy()
    later = np.flatnonzero(patients["arrival_day"].to_numpy() > after)
    patients.loc[later, "stay"] = rng.uniform(0.5, 9.0, len(later))
    patients = patients.drop(index=later[: len(later) // 2]).reset_index(drop=True)  # fewer of them, too
    return dataclasses.replace(draws, patients=patients)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_the_lookahead_never_sees_the_runs_future_draws(tmp_path, seed):
    """Its plans of days 0-2 (all their days) are the same when the newcomers of days 3 on
    are fewer and stay otherwise. A planted leak (phantoms taken from the run's own future
    newcomers) fails this on 6 of these 10 seeds."""
    folder = _flow_folder(tmp_path, seed)
    snapshot = load_snapshot(folder)
    flow = read_flow(folder / "flow.toml", snapshot)
    draws = draw_run(snapshot, flow, run_seeds(flow)[0])
    assert (draws.patients["arrival_day"] > KNOWN).any()
    first, planned = _plans(snapshot, flow, draws, KNOWN + 1)
    second, _ = _plans(snapshot, flow, _changed_future(draws, KNOWN, np.random.default_rng(seed)), KNOWN + 1)
    for t in range(KNOWN + 1):
        pd.testing.assert_frame_equal(first[t], second[t])
    real = [int((draws.patients["arrival_day"] <= t).sum()) for t in range(KNOWN + 1)]
    assert any(n > r for n, r in zip(planned, real)), "no phantom patient was planned for"


def test_the_lookahead_places_only_real_patients_and_plans_for_phantoms(tmp_path):
    folder = _flow_folder(tmp_path, 4)
    snapshot = load_snapshot(folder)
    flow = read_flow(folder / "flow.toml", snapshot)
    seen = []

    def observe(t, state, formulation, result):
        seen.append(state.patients["patient_id"].str.startswith("~").sum())

    out = simulate_run(snapshot, flow, "lookahead", 0, run_seeds(flow)[0], observer=observe)
    assert sum(seen) > 0
    assert not out["patients"]["patient_id"].str.startswith("~").any()
    assert set(out["daily"]["policy"]) == {"lookahead"}


def test_phantoms_off_and_growing_harm_is_the_optimiser_policy(tmp_path):
    """With its parts switched off the lookahead decides as the optimiser does, day by day."""
    folder = _flow_folder(tmp_path, 6)
    snapshot = load_snapshot(folder)
    flow = dataclasses.replace(
        read_flow(folder / "flow.toml", snapshot), lookahead=Lookahead(phantoms=False, flat_harm=False, capacity_price=0.0)
    )
    seed = run_seeds(flow)[0]
    ours = simulate_run(snapshot, flow, "lookahead", 0, seed)["patients"].drop(columns=["policy"])
    theirs = simulate_run(snapshot, flow, "optimiser", 0, seed)["patients"].drop(columns=["policy"])
    pd.testing.assert_frame_equal(ours, theirs)


def test_max_wait_days_puts_the_overdue_patient_first(tmp_path):
    """One home-care service with room for one package at a time: a priority-1 patient who has
    waited long and two priority-3 patients ready today. Without a cap the priority-3 patients
    go first; with ``max_wait_days`` the long waiter does."""
    from helpers import day, write_snapshot

    patients = [
        {"patient_id": "OLD", "site": "H", "locality": "A", "pathway": 1, "ready_date": day(-20), "priority": 1, "care_hours": 1},
        {"patient_id": "NEW1", "site": "H", "locality": "A", "pathway": 1, "ready_date": day(0), "priority": 3, "care_hours": 1},
        {"patient_id": "NEW2", "site": "H", "locality": "A", "pathway": 1, "ready_date": day(0), "priority": 3, "care_hours": 1},
    ]
    services = [{"service_id": "HC", "pathway": 1, "locality": "A", "places": 1}]
    folder = write_snapshot(tmp_path / "cap", patients, services, [{"service_id": "HC", "date": day(0), "amount": 1}])
    (folder / "flow.toml").write_text(
        'days = 3\nruns = 1\npolicies = ["optimiser"]\n[length_of_stay]\npathway1 = { distribution = "fixed", days = 1 }\n'
    )
    snapshot = load_snapshot(folder)
    flow = read_flow(folder / "flow.toml", snapshot)
    for policy in ("optimiser", "lookahead"):
        free = simulate_run(snapshot, flow, policy, 0, run_seeds(flow)[0])["patients"].set_index("patient_id")
        assert free.loc["OLD", "placed_day"] > 0, policy
        capped = dataclasses.replace(flow, max_wait_days=21)
        capped = simulate_run(snapshot, capped, policy, 0, run_seeds(flow)[0])["patients"].set_index("patient_id")
        assert capped.loc["OLD", "placed_day"] == 0, policy


def test_the_lookahead_table_is_read_and_checked(tmp_path):
    folder = _flow_folder(tmp_path, 1, phantoms=False)
    snapshot = load_snapshot(folder)
    text = (folder / "flow.toml").read_text()
    assert read_flow(folder / "flow.toml", snapshot).lookahead == Lookahead(phantoms=False, flat_harm=True, capacity_price=0.0)
    (folder / "flow.toml").write_text(text + "[lookahead]\nphantoms = true\ncapacity_price = 2.5\n")
    flow = read_flow(folder / "flow.toml", snapshot)
    assert flow.lookahead == Lookahead(phantoms=True, flat_harm=True, capacity_price=2.5)
    (folder / "flow.toml").write_text(text + '[lookahead]\nphantoms = "yes"\ncapacity_prise = 1\n')
    with pytest.raises(InputError) as error:
        read_flow(folder / "flow.toml", snapshot)
    message = str(error.value)
    assert "lookahead.phantoms" in message and "true or false" in message
    assert "capacity_prise" in message and "did you mean capacity_price" in message
