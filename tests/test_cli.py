"""CLI tests: broken snapshots give exit 2, the exact message, and write nothing;
good ones give the plan files and a readable summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from checker import check_plan_folder
from click.testing import CliRunner
from helpers import day, write_snapshot

from optimiser.cli import main

ROOT = Path(__file__).resolve().parent.parent


def base(folder: Path) -> Path:
    patients = [
        {
            "patient_id": "P1",
            "site": "H",
            "locality": "A",
            "pathway": 1,
            "ready_date": day(-2),
            "care_hours": 1,
            "equipment": "hoist",
        },
        {"patient_id": "P2", "site": "H", "locality": "A", "pathway": 3, "ready_date": day(0)},
    ]
    services = [{"service_id": "R", "pathway": 1, "locality": "A"}, {"service_id": "C", "pathway": 3, "locality": "A"}]
    capacity = [{"service_id": "R", "date": day(0), "amount": 2}, {"service_id": "C", "date": day(0), "amount": 1}]
    return write_snapshot(
        folder,
        patients,
        services,
        capacity,
        localities=[{"locality_id": "A", "equipment_store": "G"}],
        equipment=[{"store_id": "G", "item": "hoist", "date": day(0), "quantity": 1}],
    )


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1))


def append(folder: Path, name: str, text: str) -> None:
    with open(folder / name, "a") as handle:
        handle.write(text)


def pin_over_capacity(folder: Path) -> None:
    (folder / "pinned.csv").write_text("patient_id,service_id,date\nP1,R,2026-11-27\nP2,C,2026-11-26\n")
    edit(folder, "capacity.csv", "R,2026-11-26,2", "R,2026-11-26,0.5")


HEAD = "The snapshot has {n} problem{s}; nothing was written."

BROKEN = {
    "pathway zero": (
        lambda f: edit(f, "patients.csv", "P2,H,A,3", "P2,H,A,0"),
        ["patients.csv line 3, column pathway = '0': pathway must be 1, 2 or 3 (pathway 0 needs no placement: remove the row)"],
    ),
    "text in numeric column": (
        lambda f: edit(f, "capacity.csv", "C,2026-11-26,1", "C,2026-11-26,one"),
        ["capacity.csv line 3, column amount = 'one': is not a number; amount must be a number >= 0 (beds or carer-hours)"],
    ),
    "negative amount": (
        lambda f: edit(f, "capacity.csv", "C,2026-11-26,1", "C,2026-11-26,-1"),
        ["capacity.csv line 3, column amount = '-1': amount must be a number >= 0 (beds or carer-hours)"],
    ),
    "care hours missing for pathway 1": (
        lambda f: edit(f, "patients.csv", "2026-11-24,,1,", "2026-11-24,,,"),
        ["patients.csv line 2, column care_hours = '': is empty for a pathway-1 patient; give the hours of care a day (> 0)"],
    ),
    "carers three": (
        lambda f: edit(f, "patients.csv", "2026-11-24,,1,", "2026-11-24,,1,3"),
        ["patients.csv line 2, column carers = '3': carers must be 1 or 2 (2 = double-handed care)"],
    ),
    "priority out of range": (
        lambda f: edit(f, "patients.csv", "2026-11-24,,1,", "2026-11-24,4,1,"),
        ["patients.csv line 2, column priority = '4': priority must be 1, 2 or 3 (3 = highest risk)"],
    ),
    "duplicate patient id": (
        lambda f: edit(f, "patients.csv", "P2,H", "P1,H"),
        ["patients.csv line 3, column patient_id = 'P1': repeats the patient_id of line 2; each must be unique"],
    ),
    "unknown locality": (
        lambda f: edit(f, "patients.csv", "P2,H,A", "P2,H,Z"),
        ["patients.csv line 3, column locality = 'Z': is not a locality_id in localities.csv; add the locality or fix the id"],
    ),
    "unknown service in capacity": (
        lambda f: edit(f, "capacity.csv", "C,2026", "X,2026"),
        ["capacity.csv line 3, column service_id = 'X': is not a service_id in services.csv; add the service or fix the id"],
    ),
    "unknown store": (
        lambda f: edit(f, "equipment.csv", "G,hoist", "Q,hoist"),
        [
            "equipment.csv line 2, column store_id = 'Q': is not an equipment_store named in localities.csv; name it there or fix the id"
        ],
    ),
    "unknown preferred service": (
        lambda f: edit(f, "patients.csv", "2026-11-26,,,,,,,,,,", "2026-11-26,,,,,,,,,,NOPE"),
        [
            "patients.csv line 3, column preferred_services = 'NOPE': is not a service_id in services.csv; add the service or fix the id"
        ],
    ),
    "bad boolean": (
        lambda f: edit(f, "services.csv", "C,,3,A,,", "C,,3,A,maybe,"),
        ["services.csv line 3, column dementia = 'maybe': is not a yes/no value; write true/false, 1/0, yes/no or y/n"],
    ),
    "malformed toml": (
        lambda f: (f / "snapshot.toml").write_text("snapshot_date = = 2026-11-26\n"),
        ["snapshot.toml line 1: is not valid TOML (Invalid value); fix the syntax"],
    ),
    "empty patients file": (
        lambda f: (f / "patients.csv").write_text(""),
        [
            "patients.csv: is empty; it needs a header row: patient_id, site, locality, pathway, ready_date, priority, "
            "care_hours, carers, dementia, nursing, bariatric, equipment, earliest_date, max_travel_minutes, preferred_services, "
            "nhs_number, interim_ok"
        ],
    ),
    "binary services file": (
        lambda f: (f / "services.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00"),
        ["services.csv: is a binary file, not UTF-8 text; save it as CSV/TOML text"],
    ),
    "missing required column": (
        lambda f: edit(f, "capacity.csv", "service_id,date,amount", "service_id,date,amt"),
        ["capacity.csv line 1, column amount: required column is missing from the header; add a amount column"],
    ),
    "ragged row": (
        lambda f: append(f, "capacity.csv", "C,2026-11-27\n"),
        ["capacity.csv line 4: has 2 values but the header has 3 columns; fix the row"],
    ),
    "missing required file": (
        lambda f: (f / "localities.csv").unlink(),
        ["localities.csv: is missing; add it with columns locality_id"],
    ),
    "folder in place of a file": (
        lambda f: ((f / "equipment.csv").unlink(), (f / "equipment.csv").mkdir()),
        ["equipment.csv: is a folder, not a file; replace it with the CSV file"],
    ),
    "pinned wrong pathway": (
        lambda f: (f / "pinned.csv").write_text("patient_id,service_id,date\nP2,R,2026-11-26\n"),
        [
            "pinned.csv line 2, column service_id = 'R': breaks rule 1 (pathway): a pathway-3 patient pinned to a pathway-1 service; fix or unpin"
        ],
    ),
    "pinned over capacity": (
        lambda f: pin_over_capacity(f),
        [
            "pinned.csv line 2, column service_id = 'R': breaks rule 5 (capacity): pinned placements exceed the capacity free by 2026-11-27; unpin some or add capacity"
        ],
    ),
    "pinned outside horizon": (
        lambda f: (f / "pinned.csv").write_text("patient_id,service_id,date\nP2,C,2027-01-01\n"),
        ["pinned.csv line 2, column date = '2027-01-01': is outside the horizon; pin a date from 2026-11-26 to 2026-11-30"],
    ),
    "several problems at once": (
        lambda f: edit(f, "patients.csv", "P2,H,A,3,2026-11-26", "P2,H,Z,0,26/11/2026"),
        [
            "patients.csv line 3, column pathway = '0': pathway must be 1, 2 or 3 (pathway 0 needs no placement: remove the row)",
            "patients.csv line 3, column ready_date = '26/11/2026': is not a date; write the date as YYYY-MM-DD",
            "patients.csv line 3, column locality = 'Z': is not a locality_id in localities.csv; add the locality or fix the id",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_snapshot_exit_2_exact_message_nothing_written(tmp_path, case):
    mutate, expected = BROKEN[case]
    folder = base(tmp_path / "snapshot")
    mutate(folder)
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["allocate", str(folder), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0] == HEAD.format(n=len(expected), s="" if len(expected) == 1 else "s")
    assert [line.strip() for line in lines[1:]] == expected
    assert "Traceback" not in result.output
    assert not out.exists()
    validate = CliRunner().invoke(main, ["validate", str(folder)])
    assert validate.exit_code == 2


def test_header_names_match_in_any_case(tmp_path):
    folder = base(tmp_path / "snap")
    edit(folder, "capacity.csv", "service_id,date,amount", " Service_ID ,DATE,Amount")
    result = CliRunner().invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "plan.csv").read_text().count("\n") == 3  # header + both patients placed


def test_base_snapshot_is_valid(tmp_path):
    folder = base(tmp_path / "snapshot")
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_allocate_demo_writes_contract_files(tmp_path):
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["allocate", str(ROOT / "instances" / "demo"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Status optimal" in result.output
    assert (out / "plan.csv").read_text().splitlines()[0] == "patient_id,service_id,start_date,wait_days,cost"
    assert (out / "unplaced.csv").read_text().splitlines()[0] == "patient_id,reason"
    summary = json.loads((out / "summary.json").read_text())
    for key in ("status", "objective", "bound", "gap", "solver", "placed", "unplaced", "build_seconds", "solve_seconds"):
        assert key in summary
    violations, objective = check_plan_folder(ROOT / "instances" / "demo", out)
    assert violations == [] and objective == pytest.approx(summary["objective"], rel=1e-9)
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_json_flag_prints_summary(tmp_path):
    result = CliRunner().invoke(
        main, ["allocate", str(ROOT / "instances" / "demo"), "--out", str(tmp_path / "p"), "--solver", "greedy", "--json"]
    )
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["solver"] == "greedy" and summary["status"] == "feasible"


def test_same_snapshot_same_plan(tmp_path):
    for name in ("a", "b"):
        CliRunner().invoke(main, ["allocate", str(ROOT / "instances" / "demo"), "--out", str(tmp_path / name)])
    assert (tmp_path / "a" / "plan.csv").read_text() == (tmp_path / "b" / "plan.csv").read_text()
    assert (tmp_path / "a" / "unplaced.csv").read_text() == (tmp_path / "b" / "unplaced.csv").read_text()


def test_generate_writes_a_valid_snapshot(tmp_path):
    result = CliRunner().invoke(main, ["generate", str(tmp_path / "g"), "--size", "demo", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(main, ["validate", str(tmp_path / "g")]).exit_code == 0


def test_missing_folder_is_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["allocate", str(tmp_path / "nope"), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "is not a folder" in result.stderr
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("signal_name, name", [("SIGINT", "Ctrl-C"), ("SIGTERM", "SIGTERM")])
def test_ctrl_c_stops_the_solve_and_writes_the_best_plan(tmp_path, signal_name, name):
    """SIGINT (Ctrl-C) or SIGTERM (what schedulers and containers send) during a long solve:
    exit 0, a valid plan written with status feasible, no worse than greedy."""
    import signal
    import subprocess
    import sys
    import time

    snapshot = ROOT / "instances" / "ics"
    out = tmp_path / "plan"
    import threading

    command = [sys.executable, "-m", "optimiser", "allocate", str(snapshot), "--out", str(out), "--json", "--log"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    solving = threading.Event()

    def read_log() -> None:  # the solver's log is on stderr: signal once a MIP is being solved
        for line in process.stderr:
            lines.append(line)
            if line.startswith("MIP has"):
                solving.set()

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    assert solving.wait(timeout=60), "".join(lines)[-2000:]
    time.sleep(1)
    process.send_signal(getattr(signal, signal_name))
    stdout = process.stdout.read()
    process.wait(timeout=60)
    reader.join(timeout=10)
    stderr = "".join(lines)
    report = f"exit {process.returncode}\nstdout: {stdout!r}\nstderr: {stderr[-2000:]!r}"
    assert process.returncode == 0, report
    assert f"{name}: stopping" in stderr, report
    summary = json.loads(stdout)
    assert summary["status"] == "feasible", report
    assert summary["message"] == f"stopped by {name}"
    assert summary["gap"] is None or summary["gap"] > 0
    violations, objective = check_plan_folder(snapshot, out)
    assert violations == [] and objective == pytest.approx(summary["objective"], rel=1e-9)
    greedy = CliRunner().invoke(main, ["allocate", str(snapshot), "--out", str(tmp_path / "g"), "--solver", "greedy", "--json"])
    assert objective <= json.loads(greedy.stdout)["objective"] + 1e-6


def test_second_ctrl_c_aborts():
    """Inside a solve session the first Ctrl-C stops the solvers, the second raises KeyboardInterrupt."""
    import signal

    from optimiser.solve.cancel import session

    stopped = []
    with session() as cancellation:
        key = cancellation.register(lambda: stopped.append(True))
        handler = signal.getsignal(signal.SIGINT)
        handler(signal.SIGINT, None)
        assert stopped == [True] and cancellation.cancelled
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, None)
        cancellation.unregister(key)
    assert signal.getsignal(signal.SIGINT) is not handler
    with session() as cancellation:  # a new session starts uninterrupted
        assert not cancellation.cancelled


def test_global_options_are_accepted_after_the_command(tmp_path):
    """--db URL and --no-history typed after the command act as before it: the first run is
    recorded in the given database, the second (--no-history at the end) is not."""
    database = f"sqlite:///{tmp_path / 'h.db'}"
    demo = str(ROOT / "instances" / "demo")
    first = CliRunner().invoke(main, ["allocate", demo, "--out", str(tmp_path / "a"), "--solver", "greedy", "--db", database])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(
        main, ["allocate", demo, "--out", str(tmp_path / "b"), "--solver", "greedy", f"--db={database}", "--no-history"]
    )
    assert second.exit_code == 0, second.output
    listed = CliRunner().invoke(main, ["history", "list", "--json", "--db", database])
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.output)) == 1


def test_hoisting_keeps_values_and_stops_at_double_dash():
    from optimiser.cli import hoist_global_options

    assert hoist_global_options(["allocate", "s", "--db", "x.db", "--out", "p", "--quiet"]) == [
        "--db",
        "x.db",
        "--quiet",
        "allocate",
        "s",
        "--out",
        "p",
    ]
    assert hoist_global_options(["explain", "--", "--quiet"]) == ["explain", "--", "--quiet"]
