"""Pinned (rule 8): agreed placements are kept."""

from family import bed_patient, care_home, placed, solve
from helpers import day


def test_pinned_placement_is_kept_even_when_dearer(tmp_path):
    patients = [bed_patient("P1", ready=-4), bed_patient("P2")]
    plan = solve(
        tmp_path,
        patients=patients,
        services=[care_home()],
        capacity=[{"service_id": "C", "date": day(0), "amount": 1}],
        pinned=[{"patient_id": "P2", "service_id": "C", "date": day(1)}],
    )
    assert placed(plan) == {"P2": ("C", day(1))}
