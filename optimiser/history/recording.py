"""What a run's record holds, made from what the run read and wrote.

- the snapshot's files as read: a folder's files (those its content hash covers), a
  workbook's bytes, a database's tables as the CSV text they were read as; a pseudonymised
  snapshot is kept as loaded (pseudonyms, no NHS numbers), never as the files with them;
- the files the run wrote, read back from its output folder (so ``history export`` gives
  them back byte for byte);
- the plan's rows, from its ``plan.csv`` and ``unplaced.csv``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from optimiser.data import schema
from optimiser.data.database import database_texts, is_database_url, shown
from optimiser.data.files import restored, snapshot_files
from optimiser.data.problems import ProblemList
from optimiser.data.workbook import is_workbook

PLACEMENT_COLUMNS = ["patient_id", "service_id", "start_date", "stage", "wait_days", "cost"]


def snapshot_copy(snapshot, pseudonymised: bool = False) -> dict[str, bytes]:
    """The snapshot's files as the run read them (module doc)."""
    source = snapshot.source
    if pseudonymised or source is None:
        files = snapshot_files(snapshot)
        return {name: text.encode("utf-8") for name, text in files.items()}
    if is_database_url(source):
        settings, texts, _ = database_texts(str(source), ProblemList())
        found = {name: text.encode("utf-8") for name, text in texts.items()}
        if settings is not None:
            found[schema.SNAPSHOT_FILE] = settings.encode("utf-8")
        return found
    if is_workbook(source):
        return {Path(source).name: Path(source).read_bytes()}
    folder = Path(source)
    names = [schema.SNAPSHOT_FILE, *(table.file for table in schema.TABLES)]
    return {name: (folder / name).read_bytes() for name in sorted(names) if (folder / name).is_file()}


def source_label(snapshot) -> str | None:
    """Where the snapshot was read from, as it may be printed (a URL's password hidden)."""
    source = snapshot.source
    if source is None:
        return None
    if is_database_url(source):
        return shown(str(source))
    return str(Path(source).resolve())


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder, by name."""
    return {path.name: path.read_bytes() for path in sorted(Path(folder).iterdir()) if path.is_file()}


def _rows(text: bytes | None) -> list[dict]:
    if not text:
        return []
    return list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"), newline="")))


def plan_rows(files: dict[str, bytes]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(placements, unplaced) from a plan folder's plan.csv and unplaced.csv (v1 plans have no
    stage: every row is ``direct``)."""
    placements = pd.DataFrame(
        [
            {
                "patient_id": restored(row["patient_id"]),
                "service_id": restored(row["service_id"]),
                "start_date": row["start_date"],
                "stage": row.get("stage") or "direct",
                "wait_days": int(row["wait_days"]) if row.get("wait_days") not in (None, "") else None,
                "cost": float(row["cost"]) if row.get("cost") not in (None, "") else None,
            }
            for row in _rows(files.get("plan.csv"))
        ],
        columns=PLACEMENT_COLUMNS,
    )
    unplaced = pd.DataFrame(
        [{"patient_id": restored(row["patient_id"]), "reason": row.get("reason")} for row in _rows(files.get("unplaced.csv"))],
        columns=["patient_id", "reason"],
    )
    return placements, unplaced
