"""Re-planning with --keep: the penalised optimum equals an independent exhaustive search
with the penalty added, and the standard objective is unchanged without the flag."""

import math
import random

import pytest
from checker import Instance, brute_force_optimum, check_plan_folder
from click.testing import CliRunner
from helpers import day, random_tiny_snapshot, write_snapshot

from optimiser import allocate, load_snapshot
from optimiser.cli import main
from optimiser.data.files import read_plan_placements


def _previous(folder, tmp_path, seed):
    """An earlier plan: the greedy plan (feasible) or random eligible placements (maybe not)."""
    if seed % 2 == 0:
        plan = allocate(load_snapshot(folder), solver="greedy")
        plan.write(tmp_path / "previous")
        return read_plan_placements(tmp_path / "previous")
    instance = Instance(folder)
    rng = random.Random(seed)
    rows = []
    for p in sorted(instance.patients):
        choices = [
            (s, d) for s in sorted(instance.services) for d in range(instance.D) if instance.triple_problem(p, s, d) is None
        ]
        if choices and rng.random() < 0.8:
            s, d = rng.choice(choices)
            rows.append({"patient_id": p, "service_id": s, "start_date": day(d)})
    import pandas as pd

    return pd.DataFrame(rows, columns=["patient_id", "service_id", "start_date"])


@pytest.mark.parametrize("seed", range(16))
def test_keep_matches_brute_force_with_penalty(tmp_path, seed):
    folder = random_tiny_snapshot(tmp_path / "s", seed, patients=6, services=3, horizon=4)
    previous = _previous(folder, tmp_path, seed)
    earlier = {row.patient_id: (row.service_id, Instance(folder).day(row.start_date)) for row in previous.itertuples()}
    penalty = [0.5, 4.0][seed % 2]
    plan = allocate(load_snapshot(folder), keep=previous, disruption_penalty=penalty)
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan")
    assert violations == []
    assert math.isclose(objective, plan.objective, rel_tol=1e-9, abs_tol=1e-9)

    def moved(p, choice):
        return penalty if p in earlier and choice != earlier[p] else 0.0

    keep = plan.summary["keep"]
    assert keep["status"] == "optimal"
    expected = brute_force_optimum(folder, extra=moved)
    assert math.isclose(keep["penalised_objective"], expected, rel_tol=1e-7, abs_tol=1e-7)
    assert math.isclose(keep["penalised_objective"], plan.objective + penalty * keep["moved"], rel_tol=1e-9, abs_tol=1e-7)
    assert plan.objective >= brute_force_optimum(folder) - 1e-7


def test_zero_penalty_gives_the_standard_optimum(tmp_path):
    folder = random_tiny_snapshot(tmp_path / "s", 3, patients=6, services=3, horizon=4)
    previous = _previous(folder, tmp_path, 1)
    plan = allocate(load_snapshot(folder), keep=previous, disruption_penalty=0.0)
    assert math.isclose(plan.objective, brute_force_optimum(folder), rel_tol=1e-7, abs_tol=1e-7)


def test_keep_holds_a_placement_that_a_day_earlier_would_beat(tmp_path):
    """Yesterday's plan put P1 on day 2; day 0 is now free and cheaper, but moving costs more than it saves."""
    patients = [{"patient_id": "P1", "site": "H", "locality": "A", "pathway": 2, "ready_date": day(0)}]
    services = [{"service_id": "SD", "pathway": 2, "locality": "A"}]
    folder = write_snapshot(tmp_path / "s", patients, services, [{"service_id": "SD", "date": day(0), "amount": 1}])
    import pandas as pd

    previous = pd.DataFrame([{"patient_id": "P1", "service_id": "SD", "start_date": day(1)}])
    held = allocate(load_snapshot(folder), keep=previous, disruption_penalty=5.0)
    assert held.placements["start_date"].tolist() == [day(1)] and held.summary["keep"]["moved"] == 0
    moved = allocate(load_snapshot(folder), keep=previous, disruption_penalty=0.5)
    assert moved.placements["start_date"].tolist() == [day(0)] and moved.summary["keep"]["moved"] == 1


def test_keep_command(tmp_path):
    folder = random_tiny_snapshot(tmp_path / "s", 5, patients=6, services=3, horizon=4)
    runner = CliRunner()
    first = runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "monday")])
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        main, ["allocate", str(folder), "--out", str(tmp_path / "tuesday"), "--keep", str(tmp_path / "monday")]
    )
    assert second.exit_code == 0, second.output
    assert "moved 0" in second.stdout
    assert (tmp_path / "monday" / "plan.csv").read_text() == (tmp_path / "tuesday" / "plan.csv").read_text()
    missing = runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "w"), "--keep", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "plan.csv" in missing.stderr
    assert not (tmp_path / "w").exists()
