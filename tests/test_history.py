"""The run history, on SQLite and on a real PostgreSQL server (started here when its binaries
are present, skipped with the reason otherwise): every command records a run, ``show`` and
``export`` give back what the run wrote, ``diff`` lists the exact moves of two hand-made
plans, ``--keep last`` takes the earlier plan from the history, two processes writing at
once are both recorded, a run killed mid-write leaves nothing, an older schema is upgraded
in place, and a history that cannot be written warns and changes nothing else."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from postgres import server_or_skip

from optimiser.cli import main
from optimiser.history import History, RunRecord
from optimiser.history.schema import CURRENT

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "instances" / "demo"
COUNTER = iter(range(10**6))


@pytest.fixture(scope="module")
def postgres_server():
    server = server_or_skip()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """A new, empty history database of each kind: its URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"history_{os.getpid()}_{next(COUNTER)}")


def run(db: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["--db", db, *args])
    assert result.exit_code == 0, result.output
    return result.output


def listed(db: str, *filters: str) -> list[dict]:
    return json.loads(run(db, "history", "list", "--json", *filters))


def test_every_command_records_a_run_and_export_gives_back_what_it_wrote(db, tmp_path):
    run(db, "allocate", str(DEMO), "--out", str(tmp_path / "plan"), "--work-limit", "5")
    run(db, "value", str(DEMO), "--out", str(tmp_path / "value"), "--candidates", "1", "--solver", "greedy")
    run(db, "whatif", str(DEMO), "--close", "S01-HC01", "--solver", "greedy")
    run(
        db,
        "simulate",
        str(DEMO),
        "--out",
        str(tmp_path / "sim"),
        "--days",
        "2",
        "--runs",
        "1",
        "--policy",
        "fifo",
        "--workers",
        "0",
    )
    runs = listed(db)
    assert [r["command"] for r in runs] == ["simulate", "whatif", "value", "allocate"]  # newest first
    assert len({r["run_id"] for r in runs}) == 4
    snapshot_hash = json.loads((tmp_path / "plan" / "summary.json").read_text())["snapshot_hash"]
    assert {r["snapshot_hash"] for r in runs} == {snapshot_hash}
    for command, folder in (("allocate", "plan"), ("value", "value"), ("simulate", "sim")):
        (record,) = [r for r in runs if r["command"] == command]
        run(db, "history", "export", record["run_id"], "--out", str(tmp_path / f"again-{command}"))
        written = sorted(p.name for p in (tmp_path / folder).iterdir())
        assert sorted(p.name for p in (tmp_path / f"again-{command}").iterdir()) == written
        for name in written:
            assert (tmp_path / f"again-{command}" / name).read_bytes() == (tmp_path / folder / name).read_bytes()
    allocate = next(r for r in runs if r["command"] == "allocate")
    summary = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert allocate["objective"] == pytest.approx(summary["objective"]) and allocate["placed"] == summary["placed"]
    shown = json.loads(run(db, "history", "show", allocate["run_id"][-6:], "--json"))
    assert shown["run"]["run_id"] == allocate["run_id"] and shown["files"] == ["plan.csv", "summary.json", "unplaced.csv"]
    assert shown["placements"] == summary["placed"] and set(shown["snapshot_files"]) >= {"patients.csv", "snapshot.toml"}
    assert listed(db, "--command", "value")[0]["command"] == "value"
    assert listed(db, "--snapshot", snapshot_hash[:10]) == runs and listed(db, "--snapshot", "ffff0000") == []
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).date().isoformat()
    assert listed(db, "--since", tomorrow) == [] and len(listed(db, "--until", tomorrow)) == 4


def _hand_made(history: History, rows: list[tuple], unplaced: list[str], objective: float, when: dt.datetime) -> str:
    plan = "patient_id,service_id,start_date,wait_days,cost\n" + "".join(f"{p},{s},{d},0,1.0\n" for p, s, d in rows)
    left = "patient_id,reason\n" + "".join(f"{p},no capacity\n" for p in unplaced)
    files = {"plan.csv": plan.encode(), "unplaced.csv": left.encode(), "summary.json": b"{}\n"}
    placements = pd.DataFrame(
        [{"patient_id": p, "service_id": s, "start_date": d, "stage": "direct", "wait_days": 0, "cost": 1.0} for p, s, d in rows]
    )
    return history.record(
        RunRecord(
            "allocate",
            {},
            when,
            when,
            files,
            objective=objective,
            placements=placements,
            unplaced_rows=pd.DataFrame({"patient_id": unplaced, "reason": "no capacity"}),
        )
    )


def test_diff_of_two_hand_made_plans_lists_the_exact_moves(db):
    monday = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.timezone.utc)
    with History(db) as history:
        first = _hand_made(
            history,
            [("P1", "S1", "2026-11-30"), ("P2", "S1", "2026-12-01"), ("P3", "S2", "2026-11-30"), ("P4", "S3", "2026-12-02")],
            ["P5", "P6"],
            50.0,
            monday,
        )
        second = _hand_made(
            history,
            [("P1", "S1", "2026-11-30"), ("P2", "S2", "2026-12-01"), ("P3", "S2", "2026-12-03"), ("P5", "S1", "2026-12-01")],
            ["P4", "P7"],
            42.5,
            monday + dt.timedelta(days=1),
        )
    found = json.loads(run(db, "history", "diff", first, second, "--json"))
    assert found["moved"] == [
        {
            "patient_id": "P2",
            "from": {"service_id": "S1", "start_date": "2026-12-01"},
            "to": {"service_id": "S2", "start_date": "2026-12-01"},
        },
        {
            "patient_id": "P3",
            "from": {"service_id": "S2", "start_date": "2026-11-30"},
            "to": {"service_id": "S2", "start_date": "2026-12-03"},
        },
    ]
    assert found["newly_placed"] == [{"patient_id": "P5", "service_id": "S1", "start_date": "2026-12-01"}]
    assert found["left_out"] == [{"patient_id": "P4", "reason": "no capacity"}]
    assert found["newly_listed_unplaced"] == ["P7"] and found["no_longer_listed"] == ["P6"]
    assert found["unchanged"] == 1 and found["objective_change"] == pytest.approx(-7.5)
    text = run(db, "history", "diff", first, second)
    assert "P2: S1 2026-12-01 -> S2 2026-12-01" in text and "objective 50 -> 42.5 (-7.5)" in text


def test_keep_last_takes_the_earlier_plan_from_the_history(db, tmp_path):
    run(db, "allocate", str(DEMO), "--out", str(tmp_path / "monday"), "--work-limit", "5")
    run(db, "allocate", str(DEMO), "--out", str(tmp_path / "tuesday"), "--work-limit", "5", "--keep", "last")
    keep = json.loads((tmp_path / "tuesday" / "summary.json").read_text())["keep"]
    monday = pd.read_csv(tmp_path / "monday" / "plan.csv")
    assert keep["previous_placements"] == len(monday) > 0 and keep["kept"] == len(monday)
    first = listed(db)[-1]["run_id"]
    run(db, "allocate", str(DEMO), "--out", str(tmp_path / "wednesday"), "--work-limit", "5", "--keep", first)
    assert json.loads((tmp_path / "wednesday" / "summary.json").read_text())["keep"]["previous_placements"] == len(monday)
    result = CliRunner().invoke(main, ["--db", db, "allocate", str(DEMO), "--out", str(tmp_path / "x"), "--keep", "nosuchrun"])
    assert result.exit_code == 2 and "nosuchrun" in result.output and not (tmp_path / "x").exists()


def _script(db: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "optimiser", "--db", db, "allocate", str(DEMO), "--out", str(out), "--solver", "greedy"]


def test_two_processes_writing_at_once_are_both_recorded(db, tmp_path):
    processes = [subprocess.Popen(_script(db, tmp_path / f"plan{i}"), stderr=subprocess.PIPE) for i in range(2)]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        assert b"history" not in err.lower() or b"recorded" in err.lower()  # no warning: both recorded
    runs = listed(db)
    assert len(runs) == 2 and {r["out_dir"] for r in runs} == {str((tmp_path / f"plan{i}").resolve()) for i in range(2)}


KILLED = """
import os, sys, time, zlib
import optimiser.history.store as store
calls = []
real = zlib.compress
def slow(data, *args):
    calls.append(1)
    if len(calls) == 3:  # the snapshot's and the run's rows are written; now the run's files
        print("writing", flush=True)
        time.sleep(60)
    return real(data, *args)
store.zlib.compress = slow
from optimiser.cli import main
main(["--db", sys.argv[1], "allocate", sys.argv[2], "--out", sys.argv[3], "--solver", "greedy"])
"""


def test_a_run_killed_mid_write_leaves_no_half_written_run(db, tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED))
    process = subprocess.Popen(
        [sys.executable, str(script), db, str(DEMO), str(tmp_path / "plan")], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    line = process.stdout.readline()
    assert line.strip() == b"writing", process.stderr.read().decode()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert listed(db) == []
    engine = sa.create_engine(db)
    with engine.connect() as connection:
        for table in ("runs", "run_files", "placements", "unplaced"):
            assert connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one() == 0
    engine.dispose()
    run(db, "allocate", str(DEMO), "--out", str(tmp_path / "again"), "--solver", "greedy")  # the database is fine
    assert len(listed(db)) == 1


def test_a_database_of_the_previous_schema_is_upgraded_and_still_readable(db, tmp_path):
    History.create_version_1(db)
    engine = sa.create_engine(db)
    with engine.begin() as connection:  # a run as version 1 wrote it
        connection.exec_driver_sql(
            "INSERT INTO runs (run_id, started_at, ended_at, command, options, snapshot_hash, versions, status, objective, "
            "placed, unplaced) VALUES ('20261101-070000-aaaaaa', '2026-11-01T07:00:00.000Z', '2026-11-01T07:00:05.000Z', "
            "'allocate', '{}', 'abc', '{}', 'optimal', 12.5, 3, 1)"
        )
    engine.dispose()
    old = listed(db)
    assert [r["run_id"] for r in old] == ["20261101-070000-aaaaaa"] and old[0]["objective"] == 12.5
    assert old[0]["user_name"] is None
    with History(db) as history:
        assert history.version == CURRENT
    run(db, "allocate", str(DEMO), "--out", str(tmp_path / "plan"), "--solver", "greedy")
    runs = listed(db)
    assert len(runs) == 2 and runs[0]["user_name"] is not None


def test_a_history_that_cannot_be_written_warns_and_changes_nothing_else(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    broken = f"sqlite:///{blocker / 'history.db'}"  # its folder is a file
    result = CliRunner().invoke(main, ["--db", broken, "allocate", str(DEMO), "--out", str(tmp_path / "a"), "--work-limit", "5"])
    assert result.exit_code == 0 and "Warning: the run was not recorded in the history" in result.output
    quiet = CliRunner().invoke(main, ["--no-history", "allocate", str(DEMO), "--out", str(tmp_path / "b"), "--work-limit", "5"])
    assert quiet.exit_code == 0 and "Recorded as run" not in quiet.output and "Warning" not in quiet.output
    for name in ("plan.csv", "unplaced.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_history_commands_say_plainly_what_is_wrong(tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    for args in (["show", "nosuch"], ["diff", "a", "b"], ["export", "nosuch", "--out", str(tmp_path / "x")]):
        result = CliRunner().invoke(main, ["--db", db, "history", *args])
        assert result.exit_code == 2 and "no run" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_a_hubs_week_from_workbooks(db, tmp_path):
    """Monday and Tuesday from workbooks (Tuesday a day on, its first patient discharged),
    Tuesday keeping Monday's plan, the two diffed, Monday's plan exported again."""
    from test_sources import workbook_of

    def tuesday(book):
        settings = book["snapshot"]
        for row in settings.iter_rows(min_row=2):
            if row[0].value == "snapshot_date":
                row[1].value = "2026-11-27"
        book["patients"].delete_rows(2)

    monday_book = workbook_of(DEMO, tmp_path / "monday.xlsx")
    tuesday_book = workbook_of(DEMO, tmp_path / "tuesday.xlsx", tuesday)
    run(db, "allocate", str(monday_book), "--out", str(tmp_path / "monday"), "--work-limit", "5")
    run(db, "allocate", str(tuesday_book), "--out", str(tmp_path / "tuesday"), "--work-limit", "5", "--keep", "last")
    first, second = listed(db)[::-1]
    assert first["snapshot_source"] == str(monday_book.resolve()) and first["snapshot_hash"] != second["snapshot_hash"]
    shown = json.loads(run(db, "history", "show", first["run_id"], "--json"))
    assert shown["snapshot_files"] == ["monday.xlsx"]
    found = json.loads(run(db, "history", "diff", first["run_id"], second["run_id"], "--json"))
    gone = pd.read_csv(DEMO / "patients.csv")["patient_id"].iloc[0]
    assert found["no_longer_listed"] == [gone]
    assert json.loads((tmp_path / "tuesday" / "summary.json").read_text())["keep"]["previous_placements"] > 0
    run(db, "history", "export", first["run_id"], "--out", str(tmp_path / "monday-again"))
    for name in ("plan.csv", "unplaced.csv", "summary.json"):
        assert (tmp_path / "monday-again" / name).read_bytes() == (tmp_path / "monday" / name).read_bytes()


def test_a_snapshot_kept_in_postgresql_is_the_snapshot_of_its_folder(postgres_server):
    """The snapshot source by URL, on the real server: one table per file, and `snapshot`."""
    from test_sources import TABLE_NAMES, database_of

    from optimiser import load_snapshot

    url = database_of(DEMO, postgres_server.create_database(f"snapshot_{os.getpid()}"))
    ours, theirs = load_snapshot(url), load_snapshot(DEMO)
    assert ours.settings == theirs.settings
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(ours, name), getattr(theirs, name), check_dtype=False, obj=name)
