"""Shared fixtures of the per-family tests: 2-5 patient snapshots, solved and
checked by the independent checker."""

from __future__ import annotations

import math

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
    return {"patient_id": pid, "site": "H", "locality": "A", "pathway": 1, "ready_date": day(ready), "care_hours": hours, **extra}


def home(sid="R", **extra):
    return {"service_id": sid, "pathway": 1, "locality": "A", **extra}


def care_home(sid="C", locality="A", **extra):
    return {"service_id": sid, "pathway": 3, "locality": locality, **extra}
