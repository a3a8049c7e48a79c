"""A snapshot kept as one Excel workbook, and the empty workbook a hub can fill in by hand.

The workbook has a sheet per snapshot file, named as the file without ``.csv``
(``patients``, ``services``, ``capacity``, ...; the optional ones may be left out), each with
the file's header in row 1, and a sheet ``snapshot`` of ``key`` / ``value`` rows for
``snapshot.toml`` (``snapshot_date``, ``horizon_days``, ``bands`` as ``morning;lunch``, and
``weights.travel_weight`` for a weight). Each sheet is read into the same text the file
would have (one sheet row a line, so a problem's line is the sheet's row) and checked by the
same code as a folder; problems name the workbook and sheet instead of the file
(:func:`relabel`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

from optimiser.data import schema
from optimiser.data.problems import Problem, ProblemList

SETTINGS_SHEET = "snapshot"
SUFFIXES = (".xlsx", ".xlsm")


def is_workbook(path: str | Path) -> bool:
    return Path(path).suffix.lower() in SUFFIXES and Path(path).is_file()


def sheet_of(file: str) -> str:
    return file.removesuffix(".csv").removesuffix(".toml")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _toml_value(key: str, value) -> str:
    if key == "bands":
        names = [part.strip() for part in str(value).replace(",", ";").split(";") if part.strip()]
        return json.dumps(names)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, (dt.date, bool)):
        return value.isoformat() if isinstance(value, dt.date) else str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        float(text)
        return text
    except ValueError:
        return json.dumps(text)


def workbook_texts(path: str | Path, problems: ProblemList) -> tuple[str | None, dict[str, str], str]:
    """(``snapshot.toml``'s text or None, each present file's CSV text, the workbook's sha256)."""
    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        import openpyxl  # deferred here and below: a folder snapshot never needs it

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # a damaged or non-xlsx file: openpyxl raises many kinds
        problems.add(
            path.name, None, None, None, f"cannot be read as an Excel workbook ({type(error).__name__}); save it as .xlsx"
        )
        return None, {}, digest
    texts = {}
    for table in schema.TABLES:
        name = sheet_of(table.file)
        if name not in book.sheetnames:
            continue
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in book[name].iter_rows(values_only=True):
            writer.writerow([_cell_text(value) for value in row])
        texts[table.file] = out.getvalue()
    settings = None
    if SETTINGS_SHEET in book.sheetnames:
        lines = ["# the workbook's snapshot sheet"]
        for number, row in enumerate(book[SETTINGS_SHEET].iter_rows(values_only=True), start=1):
            if number == 1:
                continue
            key, value = (list(row) + [None, None])[:2]
            if key is None or not str(key).strip():
                lines.append("")
                continue
            lines.append("" if value is None else f"{str(key).strip()} = {_toml_value(str(key).strip(), value)}")
        settings = "\n".join(lines) + "\n"
    book.close()
    return settings, texts, digest


def relabel(problems: list[Problem], source: str, unit: str = "sheet") -> list[Problem]:
    """Problems naming a snapshot's files named by the source's sheets (or tables) instead."""
    out = []
    for problem in problems:
        file = problem.file
        if file.endswith(".csv") or file == schema.SNAPSHOT_FILE:
            file = f"{source} {unit} '{sheet_of(file)}'"
        out.append(Problem(file, problem.line, problem.column, problem.value, problem.message))
    return out


BOOLEAN_COLUMNS = ("dementia", "nursing", "bariatric", "double_handed", "weekend_admissions")


def write_template(path: str | Path) -> Path:
    """An empty snapshot workbook: every sheet with its header, a note on each column (kind,
    default, hint), drop-down lists for pathway and the yes/no columns, and the snapshot sheet."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    first = book.active
    settings = first
    settings.title = SETTINGS_SHEET
    settings.append(["key", "value"])
    settings.append(["snapshot_date", dt.date.today()])
    settings.append(["horizon_days", schema.DEFAULT_HORIZON_DAYS])
    settings["A1"].comment = Comment(
        "snapshot.toml as rows: snapshot_date, horizon_days, bands (morning;lunch;...), weights.NAME", "optimiser"
    )
    for table in schema.TABLES:
        sheet = book.create_sheet(sheet_of(table.file))
        sheet.append(table.names)
        for index, column in enumerate(table.columns, start=1):
            cell = sheet.cell(row=1, column=index)
            default = (
                "required"
                if column.required
                else f"default {column.default!r}"
                if column.default not in (None, "", ())
                else "optional"
            )
            note = f"{column.kind}, {default}" + (f": {column.hint}" if column.hint else "")
            cell.comment = Comment(note, "optimiser")
            letter = cell.column_letter
            choices = None
            if column.name == "pathway":
                choices = '"1,2,3"'
            elif column.name in BOOLEAN_COLUMNS or column.kind == "bool":
                choices = '"yes,no"'
            elif column.name == "carers":
                choices = '"1,2"'
            elif column.name == "priority":
                choices = '"1,2,3"'
            if choices:
                rule = DataValidation(type="list", formula1=choices, allow_blank=True)
                sheet.add_data_validation(rule)
                rule.add(f"{letter}2:{letter}5000")
    path = Path(path)
    book.save(path)
    return path
