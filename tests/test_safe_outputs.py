"""Output files are safe to open in a spreadsheet: a text cell that a spreadsheet would run
as a formula (CWE-1236) is written with a leading ', and our own readers (--keep, explain,
report) give the ids back exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from family import bed_patient, care_home
from helpers import day, write_snapshot

from optimiser import allocate, explain, load_snapshot
from optimiser.cli import main
from optimiser.data.files import neutralised, read_plan_placements, restored

DEMO = Path(__file__).resolve().parent.parent / "instances" / "demo"
DANGEROUS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "'quoted"]  # ids: no tab around


def dangerous_snapshot(folder):
    patients = [bed_patient(pid, ready=-1) for pid in DANGEROUS] + [bed_patient("PLAIN", ready=-1)]
    services = [care_home("=cmd|calc"), care_home("C2")]
    capacity = [{"service_id": "=cmd|calc", "date": day(0), "amount": 3}, {"service_id": "C2", "date": day(0), "amount": 2}]
    return write_snapshot(folder, patients, services, capacity, horizon=3)


def test_every_text_cell_round_trips_and_none_starts_like_a_formula():
    for text in [*DANGEROUS, "\tTAB", "\rCR", "plain", "", "''", "'=x"]:
        assert restored(neutralised(text)) == text
        assert not neutralised(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_plan_files_neutralise_formulas_and_our_readers_restore_them(tmp_path):
    folder = dangerous_snapshot(tmp_path / "s")
    snapshot = load_snapshot(folder)
    plan = allocate(snapshot)
    plan.write(tmp_path / "plan")
    with open(tmp_path / "plan" / "plan.csv", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    with open(tmp_path / "plan" / "unplaced.csv", newline="") as handle:
        cells += [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'=cmd|calc" in cells and "'@SUM(1)" in cells and "''quoted" in cells
    back = read_plan_placements(tmp_path / "plan")
    assert set(back["patient_id"]) == set(plan.placements["patient_id"]) and "=cmd|calc" in set(back["service_id"])
    kept = allocate(snapshot, keep=back)
    assert kept.summary["keep"]["kept"] == len(back) and kept.summary["keep"]["moved"] == 0
    someone = plan.placements["patient_id"].iat[0]
    assert explain(snapshot, back, someone).choice is not None
    result = CliRunner().invoke(main, ["report", str(tmp_path / "plan"), "--snapshot", str(folder)])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "plan" / "report.html").read_text()
    assert "=cmd|calc" in report and "&#x27;=cmd" not in report and "'=cmd" not in report


@pytest.mark.parametrize("command", [["allocate"], ["value"], ["simulate"], ["sweep", "--vary", "pathway1=1:1:1"]])
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    name, *rest = command
    result = CliRunner().invoke(main, [name, str(DEMO), "--out", str(blocker / "out"), *rest])
    assert result.exit_code == 2 and "is a file, not a folder; give a folder" in result.stderr
    assert "Traceback" not in result.output


def test_generate_refuses_a_folder_that_is_not_empty_unless_forced(tmp_path):
    folder = tmp_path / "snapshot"
    folder.mkdir()
    (folder / "pinned.csv").write_text("patient_id,service_id,date\nPT000001,S01-CH001,2026-11-26\n")
    refused = CliRunner().invoke(main, ["generate", str(folder)])
    assert refused.exit_code == 2 and "is not empty" in refused.stderr and not (folder / "patients.csv").exists()
    forced = CliRunner().invoke(main, ["generate", str(folder), "--force"])
    assert forced.exit_code == 0 and not (folder / "pinned.csv").exists()  # the old pin would make it invalid
    load_snapshot(folder)
    bad_seed = CliRunner().invoke(main, ["generate", str(tmp_path / "other"), "--seed", "-1"])
    assert bad_seed.exit_code == 2 and "-1 is not in the range x>=0" in bad_seed.stderr


@pytest.mark.parametrize("solver", ["highs", "cpsat", "pyomo"])
def test_the_solver_log_goes_to_stderr_so_json_on_stdout_stays_json(tmp_path, solver):
    import json
    import subprocess
    import sys

    command = [sys.executable, "-m", "optimiser", "allocate", str(DEMO), "--out", str(tmp_path / "p"), "--log", "--json"]
    done = subprocess.run([*command, "--solver", solver], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["status"] == "optimal"
    assert len(done.stderr) > 200  # the log is there, on stderr


def test_huge_capacities_mean_no_limit_and_no_warning(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "s"
    import shutil

    shutil.copytree(DEMO, folder)
    lines = (folder / "capacity.csv").read_text().splitlines()
    rows = [lines[0]] + [",".join([*line.split(",")[:2], "1e308"]) for line in lines[1:]]
    (folder / "capacity.csv").write_text("\n".join(rows) + "\n")
    command = [
        sys.executable,
        "-W",
        "default",
        "-m",
        "optimiser",
        "allocate",
        str(folder),
        "--out",
        str(tmp_path / "p"),
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]


def test_a_plan_folder_is_written_whole_or_not_at_all(tmp_path):
    """One of the three files cannot be replaced (a folder is in its way): the old plan files
    stay as they were, none of the new ones lands beside them."""
    snapshot = load_snapshot(DEMO)
    old = allocate(snapshot, solver="greedy")
    old.write(tmp_path / "plan")
    before = {name: (tmp_path / "plan" / name).read_bytes() for name in ("plan.csv", "unplaced.csv")}
    (tmp_path / "plan" / "summary.json").unlink()
    (tmp_path / "plan" / "summary.json").mkdir()
    with pytest.raises(OSError, match="in the way"):
        allocate(snapshot).write(tmp_path / "plan")
    assert {name: (tmp_path / "plan" / name).read_bytes() for name in before} == before
    assert sorted(path.name for path in (tmp_path / "plan").iterdir()) == ["plan.csv", "summary.json", "unplaced.csv"]


def test_report_refuses_a_plan_whose_snapshot_changed_and_hides_values_of_another(tmp_path):
    import shutil

    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "plan")]).exit_code == 0
    assert runner.invoke(main, ["value", str(folder), "--out", str(tmp_path / "plan"), "--candidates", "2"]).exit_code == 0
    assert "snapshot_hash" in (tmp_path / "plan" / "capacity_value.csv").read_text()
    assert runner.invoke(main, ["report", str(tmp_path / "plan")]).exit_code == 0
    assert "What extra capacity is worth" in (tmp_path / "plan" / "report.html").read_text()
    lines = (folder / "capacity.csv").read_text().splitlines()
    (folder / "capacity.csv").write_text("\n".join([*lines, "S01-HC01,2026-11-27,2"]) + "\n")
    changed = runner.invoke(main, ["report", str(tmp_path / "plan")])
    assert changed.exit_code == 2 and "has changed since the plan" in changed.stderr
    assert runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "plan")]).exit_code == 0  # a new plan
    assert runner.invoke(main, ["report", str(tmp_path / "plan")]).exit_code == 0
    assert "What extra capacity is worth" not in (tmp_path / "plan" / "report.html").read_text()  # values of the old snapshot


def test_keep_says_when_earlier_placements_do_not_match_this_snapshot(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(DEMO), "--out", str(tmp_path / "monday")]).exit_code == 0
    plan = tmp_path / "monday" / "plan.csv"
    plan.write_text(plan.read_text() + "NOBODY,S01-HC01,2026-11-26,0,0.0\nPT000001,NOWHERE,2026-11-26,0,0.0\n")
    result = runner.invoke(main, ["allocate", str(DEMO), "--out", str(tmp_path / "tuesday"), "--keep", str(tmp_path / "monday")])
    assert result.exit_code == 0, result.output
    assert "--keep: 2 of the 35 earlier placements name patients, services or dates" in result.stderr


def test_a_plan_a_hub_can_phone_from(tmp_path):
    """--details: plan.csv keeps the contract's columns first and adds what a phone round
    needs; the report lists who goes where, when, by day and service, names beside ids."""
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(DEMO), "--out", str(tmp_path / "plan"), "--details"]).exit_code == 0
    with open(tmp_path / "plan" / "plan.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:5] == ["patient_id", "service_id", "start_date", "wait_days", "cost"]
    assert list(rows[0])[5:] == ["service_name", "pathway", "site", "locality", "priority", "start_weekday"]
    first = next(row for row in rows if row["patient_id"] == "PT000001")
    assert (
        first["start_weekday"] == "Tuesday"
        and first["start_date"] == "2026-12-01"
        and first["service_name"].startswith("Home care")
    )
    assert runner.invoke(main, ["report", str(tmp_path / "plan")]).exit_code == 0
    report = (tmp_path / "plan" / "report.html").read_text()
    assert "Who goes where, when" in report and "<td>Tue 01 Dec 2026</td><td>Home care S01-HC03</td>" in report
