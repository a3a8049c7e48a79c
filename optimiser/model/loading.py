"""Load a snapshot: read its files (``data/``), check them across files and against the
placement rules (``validation.py``), put every table in id order.

``load_snapshot(folder)`` either returns a :class:`~optimiser.data.snapshot.Snapshot`
whose tables are typed and cross-referenced, or raises
:class:`~optimiser.data.problems.InputError` listing every problem.
"""

from __future__ import annotations

from pathlib import Path

from optimiser.data.problems import InputError, ProblemList
from optimiser.data.snapshot import Snapshot, read_snapshot, sort_by_ids
from optimiser.model.validation import check_snapshot


def load_snapshot(folder: str | Path) -> Snapshot:
    """Read and check a snapshot folder; raise InputError listing every problem."""
    problems = ProblemList()
    snapshot = read_snapshot(folder, problems)
    if snapshot is None:
        raise InputError(problems)
    check_snapshot(snapshot, problems)
    if problems:
        raise InputError(problems)
    sort_by_ids(snapshot)
    return snapshot
