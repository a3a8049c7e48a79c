"""Eligibility (rules 2-4): needs, reach and timing."""

from family import bed_patient, care_home, placed, solve
from helpers import day


def test_needs_reach_and_timing_rule_out_services(tmp_path):
    patients = [
        bed_patient("P1", nursing="yes"),
        bed_patient("P2", max_travel_minutes=20),
        bed_patient("P3", earliest_date=day(3)),
    ]
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
    plan = solve(
        tmp_path,
        patients=[bed_patient("P1")],
        services=[care_home("FAR", locality="B")],
        capacity=[{"service_id": "FAR", "date": day(0), "amount": 1}],
        localities=[{"locality_id": "A"}, {"locality_id": "B"}],
    )
    assert plan.unplaced["reason"].iloc[0].startswith("no eligible service")
