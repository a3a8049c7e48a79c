"""One test group per constraint family on 2-5 patient fixtures: the rule binds,
the rule is kept, and objective terms have their exact size. Every plan is
checked by the independent checker."""

from __future__ import annotations

import math

import pytest

from checker import check_plan_folder
from helpers import day, write_snapshot
from optimiser import allocate, load_snapshot


def solve(tmp_path, **tables):
    folder = write_snapshot(tmp_path / "snapshot", **tables)
    plan = allocate(load_snapshot(folder))
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan")
    assert violations == []
    assert math.isclose(objective, plan.objective, rel_tol=1e-9)
    assert plan.status == "optimal"
    return plan


def placed(plan) -> dict:
    return {row.patient_id: (row.service_id, row.start_date) for row in plan.placements.itertuples()}


def bed_patient(pid, ready=0, **extra):
    return {"patient_id": pid, "site": "H", "locality": "A", "pathway": 3, "ready_date": day(ready), **extra}


def home_patient(pid, hours, ready=0, **extra):
    return {"patient_id": pid, "site": "H", "locality": "A", "pathway": 1, "ready_date": day(ready),
            "care_hours": hours, **extra}


def home(sid="R", **extra):
    return {"service_id": sid, "pathway": 1, "locality": "A", **extra}


def care_home(sid="C", locality="A", **extra):
    return {"service_id": sid, "pathway": 3, "locality": locality, **extra}


# --- assignment
def test_assignment_each_patient_starts_at_most_once(tmp_path):
    plan = solve(tmp_path, patients=[bed_patient("P1")], services=[care_home("C1"), care_home("C2")],
                 capacity=[{"service_id": "C1", "date": day(0), "amount": 5}, {"service_id": "C2", "date": day(0), "amount": 5}])
    assert len(plan.placements) == 1
    assert plan.formulation.blocks[0].family == "assignment" and plan.formulation.blocks[0].size == 1


# --- capacity
def test_capacity_binds_and_later_beds_are_used(tmp_path):
    plan = solve(tmp_path, patients=[bed_patient("P1", ready=-3), bed_patient("P2")], services=[care_home()],
                 capacity=[{"service_id": "C", "date": day(0), "amount": 1}, {"service_id": "C", "date": day(2), "amount": 1}])
    where = placed(plan)
    # the longer waiter (dearer per day) goes first; the other takes the bed freed on day 2
    assert where["P1"] == ("C", day(0)) and where["P2"] == ("C", day(2))


def test_capacity_counts_carer_hours_times_carers(tmp_path):
    patients = [home_patient("P1", 1.5, ready=-3, carers=2), home_patient("P2", 1.0)]
    plan = solve(tmp_path, patients=patients, services=[home(double_handed="yes")],
                 capacity=[{"service_id": "R", "date": day(-3), "amount": 3.5}])
    # P1 uses 3.0 carer-hours, P2 1.0: both cannot fit into 3.5, P1 (dearer to leave) goes
    assert set(placed(plan)) == {"P1"}
    assert plan.unplaced["reason"].iloc[0].startswith("capacity")


def test_capacity_is_kept_when_ample(tmp_path):
    patients = [home_patient("P1", 1.5, carers=2), home_patient("P2", 1.0)]
    plan = solve(tmp_path, patients=patients, services=[home(double_handed="yes")],
                 capacity=[{"service_id": "R", "date": day(-3), "amount": 4}])
    assert set(placed(plan)) == {"P1", "P2"}


def test_capacity_past_horizon_is_ignored(tmp_path):
    plan = solve(tmp_path, patients=[bed_patient("P1")], services=[care_home()],
                 capacity=[{"service_id": "C", "date": day(9), "amount": 1}])
    assert plan.placements.empty
    assert plan.unplaced["reason"].iloc[0].startswith("capacity")


# --- admissions
def test_admissions_limit_binds(tmp_path):
    patients = [bed_patient(f"P{i}") for i in range(3)]
    plan = solve(tmp_path, patients=patients, services=[care_home(max_admissions_per_day=2)],
                 capacity=[{"service_id": "C", "date": day(0), "amount": 3}])
    starts = plan.placements["start_date"].value_counts()
    assert starts.max() <= 2 and len(plan.placements) == 3
    assert starts[day(0)] == 2 and starts[day(1)] == 1


def test_weekend_admissions_false_skips_saturday_and_sunday(tmp_path):
    plan = solve(tmp_path, patients=[bed_patient("P1", ready=2)], services=[care_home(weekend_admissions="no")],
                 capacity=[{"service_id": "C", "date": day(0), "amount": 1}])
    assert placed(plan)["P1"] == ("C", day(4))  # day 2 = Saturday, 3 = Sunday, 4 = Monday


# --- equipment
def test_equipment_stock_binds_over_time(tmp_path):
    patients = [home_patient("P1", 1, ready=-5, equipment="hoist"), home_patient("P2", 1, equipment="hoist")]
    plan = solve(tmp_path, patients=patients, services=[home()],
                 capacity=[{"service_id": "R", "date": day(0), "amount": 5}],
                 localities=[{"locality_id": "A", "equipment_store": "G"}],
                 equipment=[{"store_id": "G", "item": "hoist", "date": day(-1), "quantity": 1},
                            {"store_id": "G", "item": "hoist", "date": day(3), "quantity": 1}])
    assert placed(plan) == {"P1": ("R", day(0)), "P2": ("R", day(3))}


def test_equipment_without_store_leaves_patient_unplaced(tmp_path):
    plan = solve(tmp_path, patients=[home_patient("P1", 1, equipment="commode")], services=[home()],
                 capacity=[{"service_id": "R", "date": day(0), "amount": 5}],
                 localities=[{"locality_id": "A", "equipment_store": ""}])
    assert plan.placements.empty
    assert "no equipment store" in plan.unplaced["reason"].iloc[0]


def test_equipment_counts_only_on_pathway_one(tmp_path):
    plan = solve(tmp_path, patients=[bed_patient("P1", equipment="hoist")], services=[care_home()],
                 capacity=[{"service_id": "C", "date": day(0), "amount": 1}],
                 localities=[{"locality_id": "A", "equipment_store": ""}])
    assert placed(plan)["P1"] == ("C", day(0))


# --- pinned
def test_pinned_placement_is_kept_even_when_dearer(tmp_path):
    patients = [bed_patient("P1", ready=-4), bed_patient("P2")]
    plan = solve(tmp_path, patients=patients, services=[care_home()],
                 capacity=[{"service_id": "C", "date": day(0), "amount": 1}],
                 pinned=[{"patient_id": "P2", "service_id": "C", "date": day(1)}])
    assert placed(plan) == {"P2": ("C", day(1))}


# --- eligibility rules 2-4
def test_needs_reach_and_timing_rule_out_services(tmp_path):
    patients = [bed_patient("P1", nursing="yes"), bed_patient("P2", max_travel_minutes=20),
                bed_patient("P3", earliest_date=day(3))]
    services = [care_home("NURSE", locality="B", nursing="yes"), care_home("NEAR")]
    capacity = [{"service_id": "NURSE", "date": day(0), "amount": 3}, {"service_id": "NEAR", "date": day(0), "amount": 3}]
    travel = [{"from_locality": "A", "to_locality": "B", "minutes": 30}]
    localities = [{"locality_id": "A"}, {"locality_id": "B"}]
    plan = solve(tmp_path, patients=patients, services=services, capacity=capacity, travel=travel, localities=localities)
    where = placed(plan)
    assert where["P1"] == ("NURSE", day(0))
    assert where["P2"] == ("NEAR", day(0))
    assert where["P3"] == ("NEAR", day(3))


def test_unreachable_without_travel_row_gives_no_eligible_service(tmp_path):
    plan = solve(tmp_path, patients=[bed_patient("P1")], services=[care_home("FAR", locality="B")],
                 capacity=[{"service_id": "FAR", "date": day(0), "amount": 1}],
                 localities=[{"locality_id": "A"}, {"locality_id": "B"}])
    assert plan.unplaced["reason"].iloc[0].startswith("no eligible service")


# --- objective terms, exact sizes
def test_delay_term_counts_sunk_days(tmp_path):
    # r = -7 (waited 7 days), priority 2, starts day 2 (first bed): k = 7, 8 -> f = 2, 15/7
    plan = solve(tmp_path, patients=[bed_patient("P1", ready=-7, priority=2)], services=[care_home()],
                 capacity=[{"service_id": "C", "date": day(2), "amount": 1}])
    assert plan.placements["cost"].iloc[0] == pytest.approx(2 * (2 + 15 / 7))
    assert plan.placements["wait_days"].iloc[0] == 9


def test_travel_and_preference_terms(tmp_path):
    services = [care_home("FAR", locality="B")]
    plan = solve(tmp_path, patients=[bed_patient("P1", preferred_services="OTHER")], services=services + [care_home("OTHER", pathway=2)],
                 capacity=[{"service_id": "FAR", "date": day(0), "amount": 1}],
                 travel=[{"from_locality": "A", "to_locality": "B", "minutes": 40}],
                 localities=[{"locality_id": "A"}, {"locality_id": "B"}])
    assert plan.placements["cost"].iloc[0] == pytest.approx(0.01 * 40 + 2.0)


def test_unplaced_term_is_delay_to_horizon_plus_tail(tmp_path):
    # nothing free: r = 0, D = 5, tail 7 -> sum_{k=0}^{11} (1 + k/7) = 12 + 66/7
    plan = solve(tmp_path, patients=[bed_patient("P1")], services=[care_home()],
                 capacity=[{"service_id": "C", "date": day(0), "amount": 0}])
    assert plan.objective == pytest.approx(12 + 66 / 7)


def test_weights_from_snapshot_toml(tmp_path):
    folder = write_snapshot(tmp_path / "s", patients=[bed_patient("P1")], services=[care_home()],
                            capacity=[], weights={"tail_days": 0, "wait_growth_days": 1})
    plan = allocate(load_snapshot(folder))
    assert plan.objective == pytest.approx(sum(1 + k for k in range(5)))
