"""Objective terms (section 4) have their exact size."""

import pytest
from family import bed_patient, care_home, solve
from helpers import day, write_snapshot

from optimiser import allocate, load_snapshot


def test_delay_term_counts_sunk_days(tmp_path):
    # r = -7 (waited 7 days), priority 2, starts day 2 (first bed): k = 7, 8 -> f = 2, 15/7
    plan = solve(
        tmp_path,
        patients=[bed_patient("P1", ready=-7, priority=2)],
        services=[care_home()],
        capacity=[{"service_id": "C", "date": day(2), "amount": 1}],
    )
    assert plan.placements["cost"].iloc[0] == pytest.approx(2 * (2 + 15 / 7))
    assert plan.placements["wait_days"].iloc[0] == 9


def test_travel_and_preference_terms(tmp_path):
    services = [care_home("FAR", locality="B")]
    plan = solve(
        tmp_path,
        patients=[bed_patient("P1", preferred_services="OTHER")],
        services=services + [care_home("OTHER", pathway=2)],
        capacity=[{"service_id": "FAR", "date": day(0), "amount": 1}],
        travel=[{"from_locality": "A", "to_locality": "B", "minutes": 40}],
        localities=[{"locality_id": "A"}, {"locality_id": "B"}],
    )
    assert plan.placements["cost"].iloc[0] == pytest.approx(0.01 * 40 + 2.0)


def test_unplaced_term_is_delay_to_horizon_plus_tail(tmp_path):
    # nothing free: r = 0, D = 5, tail 7 -> sum_{k=0}^{11} (1 + k/7) = 12 + 66/7
    plan = solve(
        tmp_path,
        patients=[bed_patient("P1")],
        services=[care_home()],
        capacity=[{"service_id": "C", "date": day(0), "amount": 0}],
    )
    assert plan.objective == pytest.approx(12 + 66 / 7)


def test_weights_from_snapshot_toml(tmp_path):
    folder = write_snapshot(
        tmp_path / "s",
        patients=[bed_patient("P1")],
        services=[care_home()],
        capacity=[],
        weights={"tail_days": 0, "wait_growth_days": 1},
    )
    plan = allocate(load_snapshot(folder))
    assert plan.objective == pytest.approx(sum(1 + k for k in range(5)))
