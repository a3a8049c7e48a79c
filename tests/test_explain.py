"""Explanations: the causes on hand-made snapshots, and, on random snapshots, every "room" day
is a move the independent checker accepts while every blocked day is one it rejects."""

import json

import pytest
from checker import Instance, read_plan
from click.testing import CliRunner
from helpers import day, random_tiny_snapshot, write_snapshot

from optimiser import allocate, load_snapshot
from optimiser.analysis.explain import explain
from optimiser.cli import main
from optimiser.data.files import read_plan_placements

RULES_1_TO_4 = ("before the earliest start", "no weekend admissions")


def _plan(folder, tmp_path, **options):
    plan = allocate(load_snapshot(folder), **options)
    plan.write(tmp_path / "plan")
    return read_plan_placements(tmp_path / "plan")


def _hand_made(folder):
    patients = [
        {"patient_id": "P1", "site": "H", "locality": "A", "pathway": 2, "ready_date": day(0), "priority": 3, "dementia": "yes"},
        {"patient_id": "P2", "site": "H", "locality": "A", "pathway": 2, "ready_date": day(0), "dementia": "yes"},
        {
            "patient_id": "H1",
            "site": "H",
            "locality": "A",
            "pathway": 1,
            "ready_date": day(0),
            "care_hours": 1,
            "equipment": "hoist",
        },
        {
            "patient_id": "H2",
            "site": "H",
            "locality": "A",
            "pathway": 1,
            "ready_date": day(0),
            "care_hours": 1,
            "equipment": "hoist",
        },
    ]
    services = [
        {"service_id": "SD", "pathway": 2, "locality": "A", "dementia": "yes"},
        {"service_id": "CH", "pathway": 2, "locality": "A"},
        {"service_id": "FAR", "pathway": 2, "locality": "B", "dementia": "yes"},
        {"service_id": "HC", "pathway": 1, "locality": "A", "weekend_admissions": "no"},
        {"service_id": "HB", "pathway": 1, "locality": "B"},
    ]
    capacity = [
        {"service_id": "SD", "date": day(0), "amount": 1},
        {"service_id": "CH", "date": day(0), "amount": 5},
        {"service_id": "FAR", "date": day(0), "amount": 5},
        {"service_id": "HC", "date": day(0), "amount": 10},
        {"service_id": "HB", "date": day(0), "amount": 10},
    ]
    localities = [{"locality_id": "A", "equipment_store": "G"}, {"locality_id": "B", "equipment_store": "G"}]
    travel = [{"from_locality": "A", "to_locality": "B", "minutes": 90}]
    equipment = [{"store_id": "G", "item": "hoist", "date": day(0), "quantity": 1}]
    return write_snapshot(folder, patients, services, capacity, localities, travel=travel, equipment=equipment, horizon=4)


def test_hand_made_causes(tmp_path):
    folder = _hand_made(tmp_path / "s")
    snapshot = load_snapshot(folder)
    placements = _plan(folder, tmp_path)
    p2 = explain(snapshot, placements, "P2")  # P1 (priority 3) has the one dementia bed
    assert p2.choice is None and p2.reason.startswith("capacity: no bed free at SD")
    options = {option.service_id: option for option in p2.options}
    assert options["CH"].excluded_by == "lacks dementia"
    assert options["FAR"].excluded_by == "90 min away, over the 60 min limit"
    assert options["SD"].best is None
    assert all(d["status"].startswith("capacity: 0 beds free") for d in options["SD"].days)

    waiting = [pid for pid in ("H1", "H2") if pid not in set(placements["patient_id"])]
    assert len(waiting) == 1  # one hoist for two patients
    h = explain(snapshot, placements, waiting[0])
    assert "hoist" in h.reason and "store G" in h.reason
    hc = {option.service_id: option for option in h.options}["HC"]
    statuses = [d["status"] for d in hc.days]
    assert statuses[2] == statuses[3] == "no weekend admissions"  # day 2 is a Saturday
    assert statuses[0] == statuses[1] == "equipment: hoist out at store G"
    assert {option.service_id: option for option in h.options}["HB"].excluded_by == "does not cover the locality"
    text = h.to_text()
    assert "HB: not eligible: does not cover the locality" in text and "no room in the horizon" in text


@pytest.mark.parametrize("seed", range(12))
def test_room_days_are_feasible_moves_and_blocked_days_are_not(tmp_path, seed):
    folder = random_tiny_snapshot(tmp_path / "s", seed, patients=6, services=3, horizon=4)
    snapshot = load_snapshot(folder)
    placements = _plan(folder, tmp_path)
    instance = Instance(folder)
    plan = read_plan(tmp_path / "plan", instance)
    for patient_id in snapshot.patients["patient_id"]:
        explanation = explain(snapshot, placements, patient_id)
        reference = explanation.unplaced_cost if explanation.choice is None else explanation.choice["cost"]
        for option in explanation.options:
            for offset, entry in enumerate(option.days):
                if patient_id in instance.pinned or entry["status"] in RULES_1_TO_4:
                    continue
                moved = {**plan, patient_id: (option.service_id, offset)}
                broken = instance.violations(moved)
                if entry["status"] == "room":
                    assert broken == [], (patient_id, option.service_id, offset)
                    assert entry["cost"] >= reference - 1e-9  # else the plan was not optimal
                else:
                    assert broken, (patient_id, option.service_id, offset, entry["status"])


def test_explain_command(tmp_path):
    folder = _hand_made(tmp_path / "s")
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "plan")]).exit_code == 0
    result = runner.invoke(main, ["explain", str(tmp_path / "plan"), "P2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Patient P2: pathway 2") and "Plan: unplaced" in result.stdout
    as_json = json.loads(runner.invoke(main, ["explain", str(tmp_path / "plan"), "P2", "--json"]).stdout)
    assert as_json["choice"] is None and as_json["reason"].startswith("capacity")
    unknown = runner.invoke(main, ["explain", str(tmp_path / "plan"), "NOBODY"])
    assert unknown.exit_code == 2 and "'NOBODY' is not a patient_id" in unknown.stderr
    (tmp_path / "bare").mkdir()
    bare = runner.invoke(main, ["explain", str(tmp_path / "bare"), "P2"])
    assert bare.exit_code == 2 and "give --snapshot" in bare.stderr


def test_pinned_patient_is_said_to_be_pinned(tmp_path):
    patients = [{"patient_id": "P1", "site": "H", "locality": "A", "pathway": 2, "ready_date": day(0)}]
    services = [{"service_id": "SD", "pathway": 2, "locality": "A"}]
    capacity = [{"service_id": "SD", "date": day(0), "amount": 2}]
    pinned = [{"patient_id": "P1", "service_id": "SD", "date": day(1)}]
    folder = write_snapshot(tmp_path / "s", patients, services, capacity, pinned=pinned)
    text = explain(load_snapshot(folder), _plan(folder, tmp_path), "P1").to_text()
    assert f"Plan: SD from {day(1)}" in text and "Pinned (pinned.csv)" in text
