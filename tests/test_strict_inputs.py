"""A typo in snapshot.toml is an error with a "did you mean", not a silent default."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from optimiser import InputError, load_snapshot

DEMO = Path(__file__).resolve().parent.parent / "instances" / "demo"


def test_unknown_keys_of_snapshot_toml_are_errors_with_a_hint(tmp_path):
    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    (folder / "snapshot.toml").write_text(
        "snapshot_date = 2026-11-26\nhorizon_day = 7\nband = []\n[weights]\ntravel_weigth = 0.02\n"
    )
    with pytest.raises(InputError) as error:
        load_snapshot(folder)
    assert [str(problem) for problem in error.value.problems] == [
        "snapshot.toml line 2, key horizon_day: is not a key of snapshot.toml; did you mean horizon_days?",
        "snapshot.toml line 3, key band: is not a key of snapshot.toml; did you mean bands?",
        "snapshot.toml line 5, key weights.travel_weigth = '0.02': is not a known weight; did you mean travel_weight?",
    ]


def test_a_semicolon_separated_file_gets_that_hint(tmp_path):
    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    (folder / "travel.csv").write_text((folder / "travel.csv").read_text().replace(",", ";"))
    with pytest.raises(InputError) as error:
        load_snapshot(folder)
    assert [str(p) for p in error.value.problems] == [
        "travel.csv line 1: looks separated by ';', not ','; save it as comma-separated CSV"
    ]


def test_plausible_but_unlikely_inputs_load_with_a_warning(tmp_path):
    from click.testing import CliRunner

    from optimiser.cli import main

    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    (folder / "snapshot.toml").write_text("snapshot_date = 2026-11-26\nhorizon_days = 61\n")
    lines = (folder / "patients.csv").read_text().splitlines()
    lines[1] = lines[1].replace("2026-12-01", "2024-01-01")
    (folder / "patients.csv").write_text("\n".join(lines) + "\n")
    snapshot = load_snapshot(folder)
    assert len(snapshot.notes) == 2 and "horizon_days = 61 is over 60 days" in snapshot.notes[0]
    assert snapshot.notes[1].startswith("patients.csv lines 2: ready_date over a year before")
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0 and result.stderr.count("Warning: ") == 2
    assert load_snapshot(DEMO).notes == []


def test_what_if_changes_that_change_nothing_are_said(tmp_path):
    import datetime as dt

    from optimiser.analysis.whatif import AddCapacity, AddStock, apply_changes

    snapshot = load_snapshot(DEMO)
    changes = [AddStock("S01-G1", "unicorn", dt.date(2026, 11, 27), 3), AddCapacity("S01-HC01", dt.date(2027, 1, 30), 2)]
    notes = apply_changes(snapshot, changes).notes
    assert notes == [
        "add 3 unicorn at store S01-G1 from 2026-11-27: no patient of store S01-G1 needs unicorn; it changes nothing",
        "add 2 capacity at S01-HC01 from 2027-01-30 is dated after the horizon's last day (2026-12-09); it changes nothing",
    ]
    assert apply_changes(snapshot, [AddCapacity("S01-HC01", dt.date(2026, 11, 27), 2)]).notes == []


def test_ids_keep_their_exact_text_or_the_file_is_rejected(tmp_path):
    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    lines = (folder / "patients.csv").read_text().splitlines()
    lines[1] = lines[1].replace("PT000001,", " PT000001\t,", 1)
    (folder / "patients.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as error:
        load_snapshot(folder)
    assert [str(p) for p in error.value.problems] == [
        "patients.csv line 2, column patient_id = ' PT000001\\t': has spaces or tabs around the id; remove them"
    ]
