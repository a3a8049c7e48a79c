"""Plan files: atomic writes (a temporary file in the same folder, then a rename), and
reading an earlier plan's placements back."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import pandas as pd

from optimiser.data.problems import InputError, ProblemList

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


def read_plan_placements(folder: str | Path) -> pd.DataFrame:
    """plan.csv of a plan folder: patient_id, service_id, start_date (ISO text); InputError lists problems."""
    path = Path(folder) / "plan.csv"
    problems = ProblemList()
    if not path.is_file():
        problems.add(str(path), None, None, None, "is missing; give a folder that `optimiser allocate` wrote")
        raise InputError(problems)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [column for column in PLAN_REQUIRED if column not in header]
        for column in missing:
            problems.add(str(path), 1, column, None, "column is missing; plan.csv needs patient_id, service_id, start_date")
        rows = []
        if not missing:
            for line, row in enumerate(reader, start=2):
                try:
                    pd.Timestamp(row["start_date"]).date()
                except (ValueError, TypeError):
                    problems.add(str(path), line, "start_date", row["start_date"], "is not a date; write YYYY-MM-DD")
                    continue
                rows.append({column: row[column].strip() for column in PLAN_REQUIRED})
    if problems:
        raise InputError(problems)
    return pd.DataFrame(rows, columns=list(PLAN_REQUIRED))
