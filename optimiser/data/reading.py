"""Reading raw snapshot files into typed tables, collecting every problem.

Files are read with the ``csv`` module so that line numbers are the file's
own (quoted newlines included); columns are then parsed vectorised by their
schema kind. Nothing here knows about other files: cross-references are
checked in ``validation.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.data.problems import ProblemList
from optimiser.data.schema import (
    BOOL_FALSE,
    BOOL_TRUE,
    DEFAULT_HORIZON_DAYS,
    LIST_SEPARATOR,
    SNAPSHOT_FILE,
    WEIGHT_RULES,
    Column,
    Settings,
    Table,
    Weights,
)

LINE = "line"  # every table keeps the file line of each row in this column
SETTINGS_KEYS = ("snapshot_date", "horizon_days", "weights", "bands")


def did_you_mean(key: str, known) -> str:
    """ "; did you mean X?" for the known key nearest a mistyped one, or ""."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def read_text(path: Path, file: str, problems: ProblemList) -> str | None:
    """The file's text, or None (with a problem) if it is binary or not UTF-8."""
    raw = path.read_bytes()
    if b"\x00" in raw:
        problems.add(file, None, None, None, "is a binary file, not UTF-8 text; save it as CSV/TOML text")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.add(file, line, None, None, "is not UTF-8 text; save the file as UTF-8")
        return None


def read_settings(folder: Path, problems: ProblemList) -> Settings | None:
    """Parse ``snapshot.toml``: snapshot_date, horizon_days and [weights]."""
    path = folder / SNAPSHOT_FILE
    if not path.is_file():
        problems.add(SNAPSHOT_FILE, None, None, None, "is missing; add snapshot.toml with snapshot_date = YYYY-MM-DD")
        return None
    text = read_text(path, SNAPSHOT_FILE, problems)
    if text is None:
        return None
    return parse_settings(text, problems)


def parse_settings(text: str, problems: ProblemList) -> Settings | None:
    """``snapshot.toml``'s text as Settings, every problem added."""
    if not text.strip():
        problems.add(SNAPSHOT_FILE, None, None, None, "is empty; it needs snapshot_date = YYYY-MM-DD")
        return None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"at line (\d+)", str(error))
        line = int(found.group(1)) if found else None
        message = str(error).split(" (at ")[0]
        problems.add(SNAPSHOT_FILE, line, None, None, f"is not valid TOML ({message}); fix the syntax")
        return None

    start = len(problems)
    for key in document:
        if key not in SETTINGS_KEYS:
            problems.add(SNAPSHOT_FILE, None, key, None, "is not a key of snapshot.toml" + did_you_mean(key, SETTINGS_KEYS))
    snapshot_date = _settings_date(document.get("snapshot_date"), problems)
    horizon = document.get("horizon_days", DEFAULT_HORIZON_DAYS)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        problems.add(SNAPSHOT_FILE, None, "horizon_days", horizon, "horizon_days must be a whole number of days >= 1")
        horizon = None
    weights = _settings_weights(document.get("weights", {}), problems)
    bands = _settings_bands(document.get("bands"), problems)
    _locate_keys(text, problems, start)
    if snapshot_date is None or horizon is None or weights is None or bands is None:
        return None
    return Settings(snapshot_date=snapshot_date, horizon_days=horizon, weights=weights, bands=bands)


def _settings_bands(value, problems: ProblemList) -> tuple[str, ...] | None:
    """v2: ``bands = ["morning", ...]``, at least one name, each once; absent: none."""
    if value is None:
        return ()
    names = value if isinstance(value, list) else None
    if not names or not all(isinstance(name, str) and name.strip() and name == name.strip() for name in names):
        problems.add(SNAPSHOT_FILE, None, "bands", value, 'must be a list of one or more band names, e.g. ["morning", "lunch"]')
        return None
    if len(set(names)) < len(names):
        problems.add(SNAPSHOT_FILE, None, "bands", value, "names a band twice; give each once")
        return None
    return tuple(names)


def _locate_keys(text: str, problems: ProblemList, start: int) -> None:
    """Give each snapshot.toml problem the line its key is on."""
    lines = text.splitlines()
    for index in range(start, len(problems)):
        problem = problems[index]
        key = (problem.column or "").split(".")[-1]
        for number, line in enumerate(lines, start=1):
            if key and line.strip().startswith(key) and line.strip()[len(key) :].lstrip().startswith("="):
                problems[index] = type(problem)(problem.file, number, problem.column, problem.value, problem.message)
                break


def _settings_date(value, problems: ProblemList) -> dt.date | None:
    if value is None:
        problems.add(SNAPSHOT_FILE, None, "snapshot_date", None, "is missing; add snapshot_date = YYYY-MM-DD")
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add(SNAPSHOT_FILE, None, "snapshot_date", value, "must be a date written as YYYY-MM-DD (no quotes)")
    return None


def _settings_weights(table, problems: ProblemList) -> Weights | None:
    if not isinstance(table, dict):
        problems.add(SNAPSHOT_FILE, None, "weights", table, "must be a [weights] table")
        return None
    values = {}
    ok = True
    for key, value in table.items():
        if key not in WEIGHT_RULES:
            known = ", ".join(WEIGHT_RULES)
            hint = did_you_mean(key, WEIGHT_RULES) or f"; use one of {known}"
            problems.add(SNAPSHOT_FILE, None, f"weights.{key}", value, "is not a known weight" + hint)
            ok = False
            continue
        kind, minimum, strict = WEIGHT_RULES[key]
        number_ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
        if kind == "int":
            number_ok = number_ok and float(value).is_integer()
        if not number_ok or value < minimum or (strict and value == minimum):
            relation = ">" if strict else ">="
            what = "a whole number" if kind == "int" else "a number"
            problems.add(SNAPSHOT_FILE, None, f"weights.{key}", value, f"must be {what} {relation} {minimum}")
            ok = False
            continue
        values[key] = int(value) if kind == "int" else float(value)
    return Weights(**values) if ok else None


def read_table(folder: Path, table: Table, problems: ProblemList) -> pd.DataFrame | None:
    """Read one CSV file of the snapshot into typed columns (plus ``line``).

    Returns None when the file is absent (and optional), or too broken to
    read; an optional absent file gives an empty table.
    """
    path = folder / table.file
    if path.exists() and not path.is_file():
        problems.add(table.file, None, None, None, "is a folder, not a file; replace it with the CSV file")
        return None
    if not path.is_file():
        if table.required:
            problems.add(table.file, None, None, None, f"is missing; add it with columns {', '.join(_required_names(table))}")
            return None
        return _empty(table)
    text = read_text(path, table.file, problems)
    if text is None:
        return None
    return parse_table(text, table, problems)


def parse_table(text: str, table: Table, problems: ProblemList) -> pd.DataFrame | None:
    """One file's CSV text as typed columns (plus ``line``); None if too broken to read."""
    rows, lines = [], []
    reader = csv.reader(io.StringIO(text))
    header = None
    try:
        for record in reader:
            if not any(field.strip() for field in record):
                continue  # blank line
            if header is None:
                header = [field.strip().lower() for field in record]  # column names match in any case
                header_line = reader.line_num
                continue
            rows.append(record)
            lines.append(reader.line_num)
    except csv.Error as error:
        problems.add(table.file, reader.line_num, None, None, f"is not valid CSV ({error}); fix the quoting")
        return None
    if header is None:
        problems.add(table.file, None, None, None, f"is empty; it needs a header row: {', '.join(table.names)}")
        return None
    return _typed(table, header, header_line, rows, lines, problems)


def _required_names(table: Table) -> list[str]:
    return [column.name for column in table.columns if column.required]


def empty_table(table: Table) -> pd.DataFrame:
    """An absent optional file: its columns, no rows."""
    return _empty(table)


def _empty(table: Table) -> pd.DataFrame:
    frame = pd.DataFrame({LINE: pd.Series([], dtype="int64")})
    for column in table.columns:
        frame[column.name] = _parse(column, pd.Series([], dtype=object), frame[LINE], table.file, ProblemList())
    return frame


def _typed(table: Table, header, header_line, rows, lines, problems: ProblemList) -> pd.DataFrame | None:
    file = table.file
    if len(header) == 1 and ";" in header[0]:
        problems.add(file, header_line, None, None, "looks separated by ';', not ','; save it as comma-separated CSV")
        return None
    seen = set()
    for name in header:
        if name in seen:
            problems.add(file, header_line, name, None, "the header names this column twice; keep one")
        seen.add(name)
    derived = [
        column.name for column in table.columns if column.required and column.name not in seen and column.derivable_from in seen
    ]
    missing = [name for name in _required_names(table) if name not in seen and name not in derived]
    for name in missing:
        problems.add(file, header_line, name, None, f"required column is missing from the header; add a {name} column")
    if missing or len(seen) < len(header):
        return None

    width = len(header)
    good_rows, good_lines = [], []
    for record, line in zip(rows, lines):
        if len(record) != width:
            problems.add(file, line, None, None, f"has {len(record)} values but the header has {width} columns; fix the row")
            continue
        good_rows.append(record)
        good_lines.append(line)
    raw = pd.DataFrame(good_rows, columns=header, dtype=object) if good_rows else pd.DataFrame(columns=header, dtype=object)
    line_numbers = pd.Series(good_lines, dtype="int64")
    frame = pd.DataFrame({LINE: line_numbers})
    for column in table.columns:
        if column.name in derived:
            frame[column.name] = pd.Series([""] * len(raw), dtype=object)  # filled by the reader's caller
            continue
        values = raw[column.name].astype(str).str.strip() if column.name in raw else pd.Series([""] * len(raw), dtype=object)
        if column.kind == "id" and column.name in raw:
            _check_exact_ids(
                raw[column.name].astype(str).reset_index(drop=True),
                values.reset_index(drop=True),
                column,
                line_numbers,
                file,
                problems,
            )
        frame[column.name] = _parse(column, values.reset_index(drop=True), line_numbers, file, problems)
    if not derived:
        _check_unique(table, frame, problems)
    frame.attrs["derived"] = tuple(derived)
    return frame


def _check_exact_ids(
    raw: pd.Series, stripped: pd.Series, column: Column, lines: pd.Series, file: str, problems: ProblemList
) -> None:
    """An id is kept exactly as written, so one with spaces or tabs around it would not match
    the same id written without them elsewhere: it is an error, not silently trimmed."""
    padded = (raw != stripped) & (stripped != "")
    for index in np.flatnonzero(padded.to_numpy()):
        problems.add(file, int(lines.iloc[index]), column.name, raw.iloc[index], "has spaces or tabs around the id; remove them")


def _parse(column: Column, values: pd.Series, lines: pd.Series, file: str, problems: ProblemList) -> pd.Series:
    """Parse one column of stripped strings by its kind; report each bad value."""
    empty = values == ""
    if column.required:
        for index in np.flatnonzero(empty.to_numpy()):
            problems.add(file, int(lines.iloc[index]), column.name, "", f"is empty; {column.hint or 'give a value'}")

    def report(bad: pd.Series, message: str) -> None:
        for index in np.flatnonzero(bad.to_numpy()):
            problems.add(file, int(lines.iloc[index]), column.name, values.iloc[index], message)

    kind = column.kind
    if kind in ("id", "text"):
        default = "" if column.default is None else column.default
        if column.choices is not None:  # a word from a short list, in any case
            values = values.str.lower()
            report(~empty & ~values.isin(column.choices), column.hint)
        return values.where(~empty, default).astype(object)
    if kind in ("int", "number"):
        numbers = pd.to_numeric(values.where(~empty, None), errors="coerce").astype(float)
        bad = ~empty & ~np.isfinite(numbers)
        if kind == "int":
            bad |= ~empty & np.isfinite(numbers) & (numbers != np.round(numbers))
            what = "a whole number"
        else:
            what = "a number"
        report(bad, f"is not {what}; {column.hint or 'give ' + what}")
        ok = ~empty & ~bad
        if column.choices is not None:
            report(ok & ~numbers.isin(column.choices), column.hint)
        if column.minimum is not None:
            below = numbers <= column.minimum if column.strict_minimum else numbers < column.minimum
            report(ok & below, column.hint)
        default = np.nan if column.default is None else float(column.default)
        return numbers.where(ok, default)
    if kind == "bool":
        lowered = values.str.lower()
        bad = ~empty & ~lowered.isin(BOOL_TRUE | BOOL_FALSE)
        report(bad, "is not a yes/no value; write true/false, 1/0, yes/no or y/n")
        result = lowered.isin(BOOL_TRUE)
        return result.where(~(empty | bad), bool(column.default)).astype(bool)
    if kind == "date":
        dates = pd.to_datetime(values.where(~empty, None), format="%Y-%m-%d", errors="coerce")
        bad = ~empty & dates.isna()
        report(bad, f"is not a date; {column.hint or 'write the date as YYYY-MM-DD'}")
        return dates
    if kind == "list":
        return values.map(lambda text: tuple(part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()))
    raise ValueError(f"unknown column kind {kind!r}")


def _check_unique(table: Table, frame: pd.DataFrame, problems: ProblemList) -> None:
    if not table.key or frame.empty:
        return
    keys = list(table.key)
    present = (frame[keys] != "").all(axis=1)
    repeated = frame[present & frame.duplicated(keys, keep="first")]
    first_line = frame[present].drop_duplicates(keys).set_index(keys)[LINE]
    for _, row in repeated.iterrows():
        key = tuple(row[k] for k in keys)
        earlier = first_line.loc[key if len(keys) > 1 else key[0]]
        value = " -> ".join(key)
        problems.add(
            table.file,
            int(row[LINE]),
            keys[0] if len(keys) == 1 else ",".join(keys),
            value,
            f"repeats the {' and '.join(keys)} of line {int(earlier)}; each must be unique",
        )
