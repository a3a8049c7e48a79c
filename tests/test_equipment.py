"""Equipment (rule 7): stock by store and item over time."""

from family import bed_patient, care_home, home, home_patient, placed, solve
from helpers import day


def test_equipment_stock_binds_over_time(tmp_path):
    patients = [home_patient("P1", 1, ready=-5, equipment="hoist"), home_patient("P2", 1, equipment="hoist")]
    plan = solve(
        tmp_path,
        patients=patients,
        services=[home()],
        capacity=[{"service_id": "R", "date": day(0), "amount": 5}],
        localities=[{"locality_id": "A", "equipment_store": "G"}],
        equipment=[
            {"store_id": "G", "item": "hoist", "date": day(-1), "quantity": 1},
            {"store_id": "G", "item": "hoist", "date": day(3), "quantity": 1},
        ],
    )
    assert placed(plan) == {"P1": ("R", day(0)), "P2": ("R", day(3))}


def test_equipment_without_store_leaves_patient_unplaced(tmp_path):
    plan = solve(
        tmp_path,
        patients=[home_patient("P1", 1, equipment="commode")],
        services=[home()],
        capacity=[{"service_id": "R", "date": day(0), "amount": 5}],
        localities=[{"locality_id": "A", "equipment_store": ""}],
    )
    assert plan.placements.empty
    assert "no equipment store" in plan.unplaced["reason"].iloc[0]


def test_equipment_counts_only_on_pathway_one(tmp_path):
    plan = solve(
        tmp_path,
        patients=[bed_patient("P1", equipment="hoist")],
        services=[care_home()],
        capacity=[{"service_id": "C", "date": day(0), "amount": 1}],
        localities=[{"locality_id": "A", "equipment_store": ""}],
    )
    assert placed(plan)["P1"] == ("C", day(0))
