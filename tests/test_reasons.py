"""Each unplaced reason names the true cause, on a hand-made snapshot per cause."""

from helpers import day, write_snapshot

from optimiser import allocate, load_snapshot

LAST = day(2)  # horizon 3 days


def _patient(pid, pathway=2, **extra):
    row = {"patient_id": pid, "site": "H", "locality": "A", "pathway": pathway, "ready_date": day(0)}
    if pathway == 1:
        row.update(care_hours=1, carers=1)
    return {**row, **extra}


def _reasons(folder, **snapshot):
    plan = allocate(load_snapshot(write_snapshot(folder, horizon=3, **snapshot)))
    return dict(zip(plan.unplaced["patient_id"], zip(plan.unplaced["cause"], plan.unplaced["reason"])))


def test_no_eligible_service_names_need_and_reach(tmp_path):
    reasons = _reasons(
        tmp_path,
        patients=[_patient("P", dementia="yes")],
        services=[{"service_id": "NEAR", "pathway": 2, "locality": "A"}, {"service_id": "FAR", "pathway": 2, "locality": "B"}],
        capacity=[{"service_id": "NEAR", "date": day(0), "amount": 1}, {"service_id": "FAR", "date": day(0), "amount": 1}],
        travel=[{"from_locality": "A", "to_locality": "B", "minutes": 75}],
    )
    assert reasons["P"] == (
        "no_eligible_service",
        "no eligible service: 1 of 2 pathway-2 services are beyond reach (over 60 min or no travel time); "
        "of the 1 within reach, 1 lack dementia",
    )


def test_horizon(tmp_path):
    reasons = _reasons(
        tmp_path,
        patients=[_patient("P", earliest_date=day(5))],
        services=[{"service_id": "SD", "pathway": 2, "locality": "A"}],
        capacity=[{"service_id": "SD", "date": day(0), "amount": 1}],
    )
    assert reasons["P"] == ("horizon", f"horizon: earliest start {day(5)} is past the horizon (3 days)")


def test_equipment_not_in_stock_until_after_the_horizon(tmp_path):
    reasons = _reasons(
        tmp_path,
        patients=[_patient("P", pathway=1, equipment="hoist")],
        services=[{"service_id": "HC", "pathway": 1, "locality": "A"}],
        capacity=[{"service_id": "HC", "date": day(0), "amount": 5}],
        localities=[{"locality_id": "A", "equipment_store": "G"}],
        equipment=[{"store_id": "G", "item": "hoist", "date": day(6), "quantity": 2}],
    )
    assert reasons["P"] == (
        "equipment",
        f"equipment: hoist out of stock at store G through {LAST}; first arrives {day(6)}, past the horizon",
    )


def test_equipment_taken_by_others(tmp_path):
    reasons = _reasons(
        tmp_path,
        patients=[_patient("P1", pathway=1, equipment="hoist", priority=3), _patient("P2", pathway=1, equipment="hoist")],
        services=[{"service_id": "HC", "pathway": 1, "locality": "A"}],
        capacity=[{"service_id": "HC", "date": day(0), "amount": 5}],
        localities=[{"locality_id": "A", "equipment_store": "G"}],
        equipment=[{"store_id": "G", "item": "hoist", "date": day(0), "quantity": 1}],
    )
    assert reasons == {"P2": ("equipment", f"equipment: every hoist at store G is taken by other placements through {LAST}")}


def test_capacity_beds_and_carer_hours(tmp_path):
    beds = _reasons(
        tmp_path / "beds",
        patients=[_patient("P1", priority=3), _patient("P2")],
        services=[{"service_id": "SD", "pathway": 2, "locality": "A"}],
        capacity=[{"service_id": "SD", "date": day(0), "amount": 1}],
    )
    assert beds == {"P2": ("capacity", f"capacity: no bed free at SD through {LAST} after the plan's placements")}
    hours = _reasons(
        tmp_path / "hours",
        patients=[_patient("P1", pathway=1, care_hours=2, priority=3), _patient("P2", pathway=1, care_hours=2)],
        services=[{"service_id": "HC", "pathway": 1, "locality": "A"}],
        capacity=[{"service_id": "HC", "date": day(0), "amount": 3}],
    )
    assert hours == {
        "P2": ("capacity", f"capacity: needs 2 carer-hours a day; the most free through {LAST} after the plan's placements: HC 1")
    }


def test_admissions(tmp_path):
    reasons = _reasons(
        tmp_path,
        patients=[_patient("P1", priority=3), _patient("P2", priority=2), _patient("P3", priority=2), _patient("P4")],
        services=[{"service_id": "SD", "pathway": 2, "locality": "A", "max_admissions_per_day": 1}],
        capacity=[{"service_id": "SD", "date": day(0), "amount": 9}],
    )
    assert reasons == {"P4": ("admissions", "admissions: daily admission limits of SD are reached on the days there is room")}


def test_cost(tmp_path):
    """Horizon 1, no tail: waiting costs 1; the only service is off the patient's preference (+2)."""
    folder = write_snapshot(
        tmp_path,
        patients=[_patient("P", preferred_services="OTHER")],
        services=[{"service_id": "SD", "pathway": 2, "locality": "A"}, {"service_id": "OTHER", "pathway": 3, "locality": "A"}],
        capacity=[{"service_id": "SD", "date": day(0), "amount": 1}],
        horizon=1,
        weights={"tail_days": 0},
    )
    plan = allocate(load_snapshot(folder))
    assert plan.unplaced["cause"].tolist() == ["cost"]
    assert plan.unplaced["reason"].iloc[0].startswith("cost: placing this patient would cost more than waiting")
