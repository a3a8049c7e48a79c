"""What a constraint family is: the owner of one rule of contract section 3.

A family knows everything about its rule, and everyone else asks it:

- ``rows``: its rows of the formulation (a ``RowBlock``, maths in the docstring);
- ``room``: the room its rows leave given some placements (a ``Room``): whether
  one more start of patient p at service s on day d fits, taking a start, why a
  start is blocked (``explain``), and why a patient crowded out of every place is
  unplaced (``reasons``); the greedy plan is built by asking every family's room;
- ``check_pinned``: the problems pinned rows make under its rule (validation);
- ``alone``: why a patient has no triple at all because of this rule alone
  (the reduction in ``eligibility.py`` drops such triples);
- ``start_intervals`` and ``days_kept``: what the exact dominated-day reduction
  (``reductions.py``) may assume of its rows.

A new family is one module with a ``Family`` subclass, and an entry in
``families.FAMILIES`` (or ``families.registered(...)`` for a while, as tests do).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from optimiser.data.problems import ProblemList
from optimiser.data.snapshot import Snapshot
from optimiser.model.rows import RowBlock

# a variable's stage (v2): a start x, an interim entry z; and what these fix for a patient who
# may bridge: a day in an interim bed w, started by a day (``families/interim.py``)
DIRECT, INTERIM, STAY, LEFT = 0, 1, 2, 3


def moves(frame: pd.DataFrame) -> np.ndarray:
    """True on the rows that are moves of a patient (starts and interim entries), not the
    states they fix (days in an interim bed, started by a day)."""
    return stage_of(frame) <= INTERIM


def stage_of(frame: pd.DataFrame) -> np.ndarray:
    """Each row's stage (``DIRECT`` for tables of v1 plans, which have no stage column)."""
    if "stage" not in frame.columns:
        return np.zeros(len(frame), dtype=np.int8)
    return frame["stage"].to_numpy()


def starts(placed: pd.DataFrame) -> pd.DataFrame:
    """The x starts among placements: direct, or onward from an interim bed."""
    return placed[stage_of(placed) == DIRECT]


def entries(placed: pd.DataFrame) -> pd.DataFrame:
    """The interim entries (z) among placements."""
    return placed[stage_of(placed) == INTERIM]


def departures(placed: pd.DataFrame) -> pd.DataFrame:
    """Where interim beds are freed: (patient, service = the interim bed left, day = the
    onward start), for each start of a patient who entered an interim bed."""
    z, x = entries(placed), starts(placed)
    moved = x[["patient", "day"]].merge(z[["patient", "service"]], on="patient")
    return moved[["patient", "service", "day"]]


class Room:
    """The room a family's rows leave, given the placements taken so far (``take``).

    v2 (interim stays): ``fits_entry`` and ``enter`` are for an interim entry z (by default,
    as a start), ``leave`` frees an interim bed on the onward start day (by default nothing)."""

    def fits(self, p: int, service: np.ndarray, day: np.ndarray) -> np.ndarray:
        """For one patient p: True where starting at service[i] on day[i] keeps the rows."""
        return np.ones(len(service), dtype=bool)

    def take(self, p: int, service: int, day: int) -> None:
        """Patient p starts at the service on that day: less room from then on."""

    def why(self, p: int, service: np.ndarray, day: np.ndarray) -> list[str]:
        """What blocks each start ("" where it fits), in words for ``explain``."""
        return [""] * len(service)

    def fits_entry(self, p: int, service: np.ndarray, day: np.ndarray) -> np.ndarray:
        """For one patient p: True where entering interim service[i] on day[i] keeps the rows."""
        return self.fits(p, service, day)

    def enter(self, p: int, service: int, day: int) -> None:
        """Patient p enters the interim service on that day."""
        self.take(p, service, day)

    def why_entry(self, p: int, service: np.ndarray, day: np.ndarray) -> list[str]:
        """What blocks each interim entry ("" where it fits), for ``explain``."""
        return self.why(p, service, day)

    def leave(self, p: int, service: int, day: int) -> None:
        """Patient p leaves the interim service on that day (its onward start)."""

    def reason(self, p: int, service: np.ndarray, day: np.ndarray, open_before: np.ndarray) -> str:
        """Why p is unplaced when this rule blocks every start the earlier families leave
        open (``open_before``); service and day are all of p's triples."""
        return ""


class Family:
    """One constraint family (see the module doc). ``cause``: the unplaced cause it names
    (``capacity``, ``admissions``, ...), None if it never names one."""

    name: str = ""
    cause: str | None = None
    alone_rank: int = 100  # families' ``alone`` checks are asked in this order (most specific first)

    def rows(self, snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
        raise NotImplementedError

    def room(self, snapshot: Snapshot, placed: pd.DataFrame) -> Room:
        """The room left once ``placed`` (integer patient, service, day) have started."""
        return Room()

    def check_pinned(self, snapshot: Snapshot, pinned: pd.DataFrame, problems: ProblemList) -> None:
        """Add the problems the pinned rows (patient, service, day, line) make under this rule."""

    def alone(self, snapshot: Snapshot) -> Callable[[int, np.ndarray], str | None]:
        """A check, prepared once for the snapshot: why patient p, eligible for ``services``
        by rules 1-3, has no triple because of this rule alone (None if this rule is not why)."""
        return lambda p, services: None

    def start_intervals(self, snapshot: Snapshot, triples: pd.DataFrame) -> np.ndarray | None:
        """A label per triple that changes with the day exactly where this family's rows for
        it may change (its right-hand side grows, or it is a per-day row); None: its rows
        never stop an earlier start."""
        return None

    def days_kept(self, snapshot: Snapshot, triples: pd.DataFrame) -> np.ndarray | None:
        """Per service, how many first days of each interval an optimal plan may need (None:
        one). ``triples``: the candidates' (patient, service, use), at least one row per
        (patient, service) that has a candidate day; their days do not matter."""
        return None


def names(ids, most: int = 3) -> str:
    """The first few ids, then "and N more"."""
    ids = list(ids)
    shown = ", ".join(ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")
