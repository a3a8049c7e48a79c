"""A work limit counts work, not seconds: the same snapshot and options give the same plan,
even when the machine is busy, and the plan is feasible and no worse than greedy."""

import csv
import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from checker import check_plan_folder
from click.testing import CliRunner

from optimiser import build_formulation, load_snapshot
from optimiser.api import allocate
from optimiser.cli import main
from optimiser.generate import generate_snapshot
from optimiser.model.components import components
from optimiser.solve.greedy import greedy_plan
from optimiser.solve.options import PartsSettings, Tuning
from optimiser.solve.search import Search

ROOT = Path(__file__).resolve().parent.parent
ICS = ROOT / "instances" / "ics"


class busy_machine:
    """Two processes spinning on the CPU while the block runs (this machine has two cores)."""

    def __enter__(self):
        spin = "import time\nend = time.time() + 120\nwhile time.time() < end: pass"
        self.spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2)]

    def __exit__(self, *exc):
        for spinner in self.spinners:
            spinner.kill()
            spinner.wait()


@pytest.fixture(scope="module")
def ics_pathway1():
    formulation = build_formulation(load_snapshot(ICS))
    part = next(part for part in components(formulation) if not part.network)
    return formulation.subset(part.columns)


def test_counted_search_gives_the_same_plan_on_a_busy_machine(ics_pathway1):
    start = greedy_plan(ics_pathway1)
    first = Search(ics_pathway1, start, seed=3)
    first.run(None, steps=8)
    with busy_machine():
        second = Search(ics_pathway1, start, seed=3)
        second.run(None, steps=8)
    assert first.steps == second.steps == 8
    assert not first.clock_stopped and not second.clock_stopped
    assert np.array_equal(first.best, second.best)
    assert first.value < ics_pathway1.value(start)  # it searched: greedy leaves much to gain here
    assert ics_pathway1.violations(first.best) == []


def test_a_safety_time_limit_that_cuts_a_counted_search_short_is_reported(ics_pathway1):
    search = Search(ics_pathway1, greedy_plan(ics_pathway1), seed=0)
    search.run(0.3, steps=10_000)
    assert search.clock_stopped and search.steps < 10_000


def test_allocate_with_a_work_limit_gives_the_same_plan_twice(tmp_path):
    """Demo seed 4: its pathway-1 part is not closed at the root, so the counted search runs."""
    folder = tmp_path / "demo4"
    generate_snapshot(folder, size="demo", seed=4)
    snapshot = load_snapshot(folder)
    options = dict(threads=2, time_limit=200, work_limit=16, tuning=Tuning(parts=PartsSettings(exact_nodes=1)))
    first = allocate(snapshot, **options)
    with busy_machine():
        second = allocate(snapshot, **options)
    assert first.summary["message"] == second.summary["message"] == "work limit reached"
    assert first.summary["options"]["work_limit"] == 16
    columns = ["patient_id", "service_id", "start_date"]
    assert first.placements[columns].equals(second.placements[columns])
    assert first.summary["objective"] == second.summary["objective"]
    assert first.summary["bound"] <= first.summary["objective"]
    greedy = allocate(snapshot, solver="greedy")
    assert first.summary["objective"] < greedy.summary["objective"]
    first.write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan")
    assert violations == [] and math.isclose(objective, first.summary["objective"], rel_tol=1e-9)


def _shuffle_rows_and_columns(folder: Path, seed: int) -> None:
    """Rewrite every CSV of the folder with its rows shuffled and its columns reversed."""
    rng = random.Random(seed)
    for path in sorted(folder.glob("*.csv")):
        with open(path, newline="") as handle:
            header, *rows = list(csv.reader(handle))
        rng.shuffle(rows)
        with open(path, "w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([row[::-1] for row in [header, *rows]])


def test_the_plan_does_not_depend_on_the_order_of_rows_or_columns(tmp_path):
    """Same content in another order: the same plan, also where the counted search decides it."""
    folder = tmp_path / "demo4"
    generate_snapshot(folder, size="demo", seed=4)
    shuffled = tmp_path / "shuffled"
    shutil.copytree(folder, shuffled)
    _shuffle_rows_and_columns(shuffled, seed=1)
    assert (shuffled / "patients.csv").read_text() != (folder / "patients.csv").read_text()
    options = dict(threads=2, time_limit=200, work_limit=16, tuning=Tuning(parts=PartsSettings(exact_nodes=1)))
    first = allocate(load_snapshot(folder), **options)
    second = allocate(load_snapshot(shuffled), **options)
    assert first.summary["message"] == "work limit reached"
    for result, where in ((first, tmp_path / "plan"), (second, tmp_path / "plan_shuffled")):
        result.write(where)
    assert (tmp_path / "plan" / "plan.csv").read_bytes() == (tmp_path / "plan_shuffled" / "plan.csv").read_bytes()
    assert (tmp_path / "plan" / "unplaced.csv").read_bytes() == (tmp_path / "plan_shuffled" / "unplaced.csv").read_bytes()


def test_the_summary_says_what_ended_the_run():
    """The human summary names what stopped a feasible run, so a coordinator knows whether the plan repeats."""
    from optimiser.cli import human_summary

    summary = {
        "status": "feasible",
        "solver": "highs",
        "message": "work limit reached",
        "placed": 1,
        "patients": 2,
        "unplaced": 1,
        "objective": 3.0,
        "bound": 2.0,
        "gap": 1 / 3,
        "build_seconds": 0.1,
        "solve_seconds": 0.2,
        "by_pathway": {},
        "unplaced_by_cause": {},
    }
    assert human_summary(summary).startswith("Status feasible (highs; work limit reached): placed 1 of 2")
    assert human_summary({**summary, "status": "optimal", "message": "optimal"}).startswith("Status optimal (highs): ")
    assert "--work-limit" not in human_summary(summary)
    clock = human_summary({**summary, "message": "stopped at a limit"})
    assert clock.splitlines()[-1].startswith("The time limit ended the search: a rerun can give another plan")


def test_work_limit_is_for_highs_only(tmp_path):
    result = CliRunner().invoke(
        main, ["allocate", str(ICS), "--out", str(tmp_path / "plan"), "--solver", "cpsat", "--work-limit", "5"]
    )
    assert result.exit_code == 2
    assert "--work-limit applies to --solver highs only" in result.output
    assert not (tmp_path / "plan").exists()
    with pytest.raises(ValueError, match="work limit"):
        allocate(load_snapshot(ICS), solver="highs", naive=True, work_limit=5)
