"""Capacity (rule 5): cumulative beds / carer-hours bind, are kept, and count use = hours x carers."""

from family import bed_patient, care_home, home, home_patient, placed, solve
from helpers import day


def test_capacity_binds_and_later_beds_are_used(tmp_path):
    plan = solve(
        tmp_path,
        patients=[bed_patient("P1", ready=-3), bed_patient("P2")],
        services=[care_home()],
        capacity=[{"service_id": "C", "date": day(0), "amount": 1}, {"service_id": "C", "date": day(2), "amount": 1}],
    )
    where = placed(plan)
    # the longer waiter (dearer per day) goes first; the other takes the bed freed on day 2
    assert where["P1"] == ("C", day(0)) and where["P2"] == ("C", day(2))


def test_capacity_counts_carer_hours_times_carers(tmp_path):
    patients = [home_patient("P1", 1.5, ready=-3, carers=2), home_patient("P2", 1.0)]
    plan = solve(
        tmp_path,
        patients=patients,
        services=[home(double_handed="yes")],
        capacity=[{"service_id": "R", "date": day(-3), "amount": 3.5}],
    )
    # P1 uses 3.0 carer-hours, P2 1.0: both cannot fit into 3.5, P1 (dearer to leave) goes
    assert set(placed(plan)) == {"P1"}
    assert plan.unplaced["reason"].iloc[0].startswith("capacity")


def test_capacity_is_kept_when_ample(tmp_path):
    patients = [home_patient("P1", 1.5, carers=2), home_patient("P2", 1.0)]
    plan = solve(
        tmp_path,
        patients=patients,
        services=[home(double_handed="yes")],
        capacity=[{"service_id": "R", "date": day(-3), "amount": 4}],
    )
    assert set(placed(plan)) == {"P1", "P2"}


def test_capacity_past_horizon_is_ignored(tmp_path):
    plan = solve(
        tmp_path,
        patients=[bed_patient("P1")],
        services=[care_home()],
        capacity=[{"service_id": "C", "date": day(9), "amount": 1}],
    )
    assert plan.placements.empty
    assert plan.unplaced["reason"].iloc[0].startswith("capacity")


def test_hours_a_sums_rounding_short_of_the_need_still_fit_as_the_rooms_count_them(tmp_path):
    """2.4999999999996 carer-hours (a sum's rounding, as a simulated day writes) take five
    half-hour packages: the rows, the greedy plan and the solve count it alike. A sixth
    patient's 0.6667 hours make the row's integer multiplier 10,000, which floored it to
    24,999 (2.4999 hours) and the greedy warm start broke the row."""
    from optimiser import load_snapshot
    from optimiser.model.formulation import build_formulation
    from optimiser.solve.greedy import warm_start_plan

    patients = [home_patient(f"P{i}", 0.5, ready=-2) for i in range(5)] + [home_patient("Q", 0.6667)]
    capacity = [{"service_id": "R", "date": day(0), "amount": "2.4999999999996"}]
    plan = solve(tmp_path, patients=patients, services=[home()], capacity=capacity)
    assert set(placed(plan)) == {f"P{i}" for i in range(5)}
    formulation = build_formulation(load_snapshot(tmp_path / "snapshot"))
    greedy = warm_start_plan(formulation)
    assert formulation.violations(greedy) == [] and greedy.sum() == 5
