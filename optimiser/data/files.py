"""Plan files: atomic writes (a temporary file in the same folder, then a rename), and
reading an earlier plan's placements back."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from optimiser.data.problems import InputError, ProblemList
from optimiser.data.schema import LIST_SEPARATOR, SNAPSHOT_FILE, TABLES

PLAN_REQUIRED = ("patient_id", "service_id", "start_date")


def _file_mode() -> int:
    """rw for whom the umask allows, as open() would give (mkstemp makes files private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()


def write_atomic(path: Path, text: str) -> None:
    """Write text to path so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell that starts so (CWE-1236)


def neutralised(text: str) -> str:
    """A text cell as written to an output CSV: one ``'`` before a cell that a spreadsheet
    would take as a formula (OWASP's advice) or that starts with ``'`` itself, so that
    ``restored`` gives back exactly the text; other cells as they are."""
    return "'" + text if text.startswith(FORMULA_STARTS) or text.startswith("'") else text


def restored(text: str) -> str:
    """The text of a cell ``neutralised`` wrote."""
    return text[1:] if text.startswith("'") else text


def safe_csv(frame: pd.DataFrame) -> str:
    """The table as CSV, every text cell ``neutralised``: safe to open in a spreadsheet."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(lambda value: neutralised(value) if isinstance(value, str) else value)
    return frame.to_csv(index=False)


def write_files(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write several files of a folder together: all are written to temporary files first,
    and only when every one is written (and no target is in the way, such as a folder of
    that name) are they moved into place; otherwise nothing changes. Other files of the
    folder stay."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    blocked = [name for name in files if (folder / name).exists() and not (folder / name).is_file()]
    if blocked:
        raise OSError(f"{folder / blocked[0]} is in the way (not a file); nothing was written")
    staged: dict[str, str] = {}
    try:
        for name, text in files.items():
            descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
            staged[name] = temporary
            os.chmod(temporary, FILE_MODE)
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        for name, temporary in staged.items():
            os.replace(temporary, folder / name)
    finally:
        for temporary in staged.values():
            if os.path.exists(temporary):
                os.unlink(temporary)
    return [folder / name for name in files]


def write_folder(folder: Path, files: dict[str, str | bytes]) -> list[Path]:
    """Write all the files of an output folder, or none: they go into a new sibling folder,
    which then takes the old one's place (the old one, if any, is removed after). Other
    files the old folder held are gone with it, so no output of an earlier run is left
    beside the new ones. Returns the paths written."""
    folder = Path(folder)
    parent = folder.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".new", dir=parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())
        for name, text in files.items():
            binary = isinstance(text, bytes)  # bytes as they are (history export), text as UTF-8
            with open(
                staging / name, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})
            ) as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.replace(folder, old)
        os.replace(staging, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [folder / name for name in files]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_plan_placements(folder: str | Path) -> pd.DataFrame:
    """plan.csv of a plan folder: patient_id, service_id, start_date (ISO text), and stage when
    the plan has one (v2: direct, interim or onward); InputError lists problems."""
    path = Path(folder) / "plan.csv"
    if not path.is_file():
        problems = ProblemList()
        problems.add(str(path), None, None, None, "is missing; give a folder that `optimiser allocate` wrote")
        raise InputError(problems)
    return plan_placements(path.read_bytes().decode("utf-8-sig"), str(path))


def plan_placements(text: str, label: str) -> pd.DataFrame:
    """A plan.csv's text as ``read_plan_placements`` reads it; ``label`` names it in problems."""
    problems = ProblemList()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = reader.fieldnames or []
    missing = [column for column in PLAN_REQUIRED if column not in header]
    columns = list(PLAN_REQUIRED) + (["stage"] if "stage" in header else [])
    for column in missing:
        problems.add(label, 1, column, None, "column is missing; plan.csv needs patient_id, service_id, start_date")
    rows = []
    if not missing:
        for line, row in enumerate(reader, start=2):
            try:
                pd.Timestamp(restored(row["start_date"])).date()
            except (ValueError, TypeError):
                problems.add(label, line, "start_date", row["start_date"], "is not a date; write YYYY-MM-DD")
                continue
            rows.append({column: restored((row[column] or "").strip()) for column in columns})
    if problems:
        raise InputError(problems)
    return pd.DataFrame(rows, columns=columns if not missing else list(PLAN_REQUIRED))


def snapshot_files(snapshot) -> dict[str, str]:
    """The snapshot as the files of a snapshot folder (its contract columns; dates as
    YYYY-MM-DD, booleans as true/false, lists joined by ';'): what the simulation's daily
    states are written as, for a reader of the contract (the tests' independent checker)."""
    settings = snapshot.settings
    weights = "".join(f"{name} = {value!r}\n" for name, value in vars(settings.weights).items())
    bands = f"bands = {json.dumps(list(settings.bands))}\n" if settings.bands else ""
    files = {
        SNAPSHOT_FILE: f"snapshot_date = {settings.snapshot_date.isoformat()}\nhorizon_days = {settings.horizon_days}\n"
        f"{bands}[weights]\n{weights}"
    }
    for table in TABLES:
        frame = getattr(snapshot, table.file.removesuffix(".csv"))
        columns = {}
        for column in table.columns:
            if column.name not in frame or column.name == "nhs_number":  # never written
                continue
            values = frame[column.name]
            if column.kind == "date":
                columns[column.name] = pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("")
            elif column.kind == "bool":
                columns[column.name] = values.map(lambda v: "true" if v else "false")
            elif column.kind == "list":
                columns[column.name] = values.map(lambda v: LIST_SEPARATOR.join(v))
            elif column.kind in ("int", "number"):
                whole = column.kind == "int"
                columns[column.name] = values.map(
                    lambda v, whole=whole: "" if pd.isna(v) else (f"{int(v)}" if whole else repr(float(v)))
                )
            else:
                columns[column.name] = values.fillna("").astype(str)
        files[table.file] = pd.DataFrame(columns).to_csv(index=False)
    return files
