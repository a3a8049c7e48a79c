"""A snapshot kept as one Excel workbook: the same plan as the folder it was made from,
problems named by sheet and row, and the empty template a hub fills in by hand."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from optimiser import InputError, allocate, load_snapshot
from optimiser.cli import main
from optimiser.data import schema

DEMO = Path(__file__).resolve().parent.parent / "instances" / "demo"


def workbook_of(folder: Path, path: Path, change=None) -> Path:
    """The folder's files as sheets (cells as text, as a hand-typed sheet may have them)."""
    book = openpyxl.Workbook()
    settings = book.active
    settings.title = "snapshot"
    settings.append(["key", "value"])
    for key, value in tomllib.loads((folder / "snapshot.toml").read_text()).items():
        for name, item in value.items() if isinstance(value, dict) else [(None, value)]:
            settings.append([f"{key}.{name}" if name else key, item])
    for file in sorted(folder.glob("*.csv")):
        sheet = book.create_sheet(file.stem)
        for row in csv.reader(file.open()):
            sheet.append(row)
    if change is not None:
        change(book)
    book.save(path)
    return path


def test_a_workbook_gives_the_plan_of_its_folder(tmp_path):
    book = workbook_of(DEMO, tmp_path / "demo.xlsx")
    ours, theirs = allocate(load_snapshot(book)), allocate(load_snapshot(DEMO))
    columns = ["patient_id", "service_id", "start_date", "cost"]
    assert ours.placements[columns].equals(theirs.placements[columns]) and ours.objective == theirs.objective
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(book), "--out", str(tmp_path / "plan")]).exit_code == 0
    report = runner.invoke(main, ["report", str(tmp_path / "plan")])  # the workbook's hash matches
    assert report.exit_code == 0, report.output


def test_problems_name_the_workbook_sheet_and_row(tmp_path):
    def damage(book):
        book["patients"]["D3"] = "4"  # pathway of the second patient
        book["patients"]["C4"] = "NOWHERE"  # a locality that localities does not have
        book["snapshot"].append(["horizon_day", 7])

    book = workbook_of(DEMO, tmp_path / "demo.xlsx", damage)
    with pytest.raises(InputError) as error:
        load_snapshot(book)
    report = error.value.report()
    assert "demo.xlsx sheet 'snapshot'" in report and "did you mean horizon_days?" in report
    result = CliRunner().invoke(main, ["validate", str(workbook_of(DEMO, tmp_path / "two.xlsx", lambda b: damage_rows(b)))])
    assert result.exit_code == 2
    assert "two.xlsx sheet 'patients' line 3, column pathway = '4'" in result.stderr
    assert "two.xlsx sheet 'patients' line 4, column locality = 'NOWHERE'" in result.stderr


def damage_rows(book):
    book["patients"]["D3"] = "4"
    book["patients"]["C4"] = "NOWHERE"


def test_a_missing_sheet_is_named(tmp_path):
    book = workbook_of(DEMO, tmp_path / "demo.xlsx", lambda b: b.remove(b["services"]))
    result = CliRunner().invoke(main, ["validate", str(book)])
    assert result.exit_code == 2 and "demo.xlsx sheet 'services': is missing; add a sheet" in result.stderr


def test_the_template_has_every_sheet_header_note_and_list(tmp_path):
    path = tmp_path / "hub.xlsx"
    result = CliRunner().invoke(main, ["template", "--xlsx", str(path)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["snapshot"] + [table.file.removesuffix(".csv") for table in schema.TABLES]
    for table in schema.TABLES:
        sheet = book[table.file.removesuffix(".csv")]
        assert [cell.value for cell in sheet[1]] == table.names
        assert all(cell.comment is not None for cell in sheet[1])
    lists = {str(rule.sqref).split(":")[0][0]: rule.formula1 for rule in book["patients"].data_validations.dataValidation}
    assert '"1,2,3"' in lists.values() and '"yes,no"' in lists.values()
    assert CliRunner().invoke(main, ["template", "--xlsx", str(path)]).exit_code == 2  # no overwrite without --force
    # filled in by hand: one patient, one home, one bed
    book["localities"].append(["A", "", ""])
    book["patients"].append(["P1", "H", "A", 3, "2026-12-01"])
    book["services"].append(["C1", "Oak House", 3, "A"])
    book["capacity"].append(["C1", "2026-12-01", 1])
    book["snapshot"]["B2"] = "2026-12-01"
    book.save(path)
    plan = allocate(load_snapshot(path))
    assert list(plan.placements["service_id"]) == ["C1"]


def database_of(folder: Path, path, change=None) -> str:
    """The folder's files as tables of a database: a SQLite file at ``path``, or the
    database at the URL ``path``; returns its URL."""
    import sqlalchemy

    url = path if isinstance(path, str) and "://" in path else f"sqlite:///{path}"
    engine = sqlalchemy.create_engine(url)
    for file in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        if change is not None:
            frame = change(file.stem, frame)
        frame.to_sql(file.stem, engine, index=False)
    rows = []
    for key, value in tomllib.loads((folder / "snapshot.toml").read_text()).items():
        rows += [(f"{key}.{k}", str(v)) for k, v in value.items()] if isinstance(value, dict) else [(key, str(value))]
    pd.DataFrame(rows, columns=["key", "value"]).to_sql("snapshot", engine, index=False)
    engine.dispose()
    return url


def test_a_database_gives_the_plan_of_its_folder_and_problems_name_table_and_row(tmp_path):
    url = database_of(DEMO, tmp_path / "hub.db")
    ours, theirs = allocate(load_snapshot(url)), allocate(load_snapshot(DEMO))
    columns = ["patient_id", "service_id", "start_date", "cost"]
    assert ours.placements[columns].equals(theirs.placements[columns])
    runner = CliRunner()
    result = runner.invoke(main, ["allocate", url, "--out", str(tmp_path / "plan")])
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["report", str(tmp_path / "plan")]).exit_code == 0  # found again by its URL

    def damage(name, frame):
        if name == "patients":
            frame.loc[1, "pathway"] = "4"
        return frame

    bad = database_of(DEMO, tmp_path / "bad.db", damage)
    result = runner.invoke(main, ["validate", bad])
    assert result.exit_code == 2 and f"{bad} table 'patients' line 3, column pathway = '4'" in result.stderr


def test_a_database_that_cannot_be_reached_is_an_input_error_without_its_password():
    result = CliRunner().invoke(main, ["validate", "postgresql://hub:s3cret@127.0.0.1:9/none"])
    assert result.exit_code == 2 and "cannot be read as a snapshot database" in result.stderr
    assert "s3cret" not in result.stderr and "***" in result.stderr


TABLE_NAMES = ("patients", "services", "capacity", "localities", "coverage", "travel", "equipment", "pinned", "care_bands")


@pytest.mark.parametrize("instance", ["demo", "ics"])
@pytest.mark.parametrize("source", ["workbook", "database"])
def test_workbook_and_database_give_the_snapshot_of_the_folder(tmp_path, instance, source):
    folder = DEMO.parent / instance
    made = workbook_of(folder, tmp_path / "s.xlsx") if source == "workbook" else database_of(folder, tmp_path / "s.db")
    ours, theirs = load_snapshot(made), load_snapshot(folder)
    assert ours.settings == theirs.settings
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(ours, name), getattr(theirs, name), check_dtype=False, obj=name)
    assert len(ours.patients) == len(theirs.patients) > 0
