"""Assignment: each patient starts at most once."""

from family import bed_patient, care_home, solve
from helpers import day


def test_assignment_each_patient_starts_at_most_once(tmp_path):
    plan = solve(
        tmp_path,
        patients=[bed_patient("P1")],
        services=[care_home("C1"), care_home("C2")],
        capacity=[{"service_id": "C1", "date": day(0), "amount": 5}, {"service_id": "C2", "date": day(0), "amount": 5}],
    )
    assert len(plan.placements) == 1
    assert plan.formulation.blocks[0].family == "assignment" and plan.formulation.blocks[0].size == 1
