"""Load a snapshot: read its files (``data/``), check them across files and against the
placement rules (``validation.py``), put every table in id order.

``load_snapshot(folder)`` either returns a :class:`~optimiser.data.snapshot.Snapshot`
whose tables are typed and cross-referenced, or raises
:class:`~optimiser.data.problems.InputError` listing every problem.
"""

from __future__ import annotations

from pathlib import Path

from optimiser.data.checks import plausibility_notes
from optimiser.data.database import is_database_url, shown
from optimiser.data.identifiers import pseudonymise
from optimiser.data.problems import InputError, ProblemList
from optimiser.data.snapshot import Snapshot, read_snapshot, sort_by_ids
from optimiser.data.workbook import is_workbook, relabel
from optimiser.model.validation import check_snapshot


def load_snapshot(folder: str | Path, pseudonym_key: bytes | None = None) -> Snapshot:
    """Read and check a snapshot folder; raise InputError listing every problem.

    ``pseudonym_key``: replace the patient_id of every patient with an NHS number by its
    keyed pseudonym (``data/identifiers.py``), stable from one day to the next."""
    problems = ProblemList()
    snapshot = read_snapshot(folder, problems, pseudonym_key)
    if is_database_url(folder):
        named = lambda found: relabel(found, shown(str(folder)), "table")  # noqa: E731
    elif is_workbook(folder):
        named = lambda found: relabel(found, Path(folder).name)  # noqa: E731
    else:
        named = list
    if snapshot is None:
        raise InputError(named(problems))
    check_snapshot(snapshot, problems)
    if problems:
        raise InputError(named(problems))
    if pseudonym_key is not None:
        pseudonymise(snapshot, pseudonym_key)
    snapshot.patients["nhs_number"] = ""  # checked; never needed again, never written
    snapshot.notes = plausibility_notes(snapshot)
    sort_by_ids(snapshot)
    return snapshot
