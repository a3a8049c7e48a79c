"""Admissions (rule 6) and weekend admissions (rule 4)."""

from family import bed_patient, care_home, placed, solve
from helpers import day


def test_admissions_limit_binds(tmp_path):
    patients = [bed_patient(f"P{i}") for i in range(3)]
    plan = solve(
        tmp_path,
        patients=patients,
        services=[care_home(max_admissions_per_day=2)],
        capacity=[{"service_id": "C", "date": day(0), "amount": 3}],
    )
    starts = plan.placements["start_date"].value_counts()
    assert starts.max() <= 2 and len(plan.placements) == 3
    assert starts[day(0)] == 2 and starts[day(1)] == 1


def test_weekend_admissions_false_skips_saturday_and_sunday(tmp_path):
    plan = solve(
        tmp_path,
        patients=[bed_patient("P1", ready=2)],
        services=[care_home(weekend_admissions="no")],
        capacity=[{"service_id": "C", "date": day(0), "amount": 1}],
    )
    assert placed(plan)["P1"] == ("C", day(4))  # day 2 = Saturday, 3 = Sunday, 4 = Monday
