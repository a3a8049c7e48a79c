"""How a solve is asked for: limits and settings as dataclasses, and one deadline clock.

``SolveOptions`` is what every route takes; ``SearchSettings`` tunes the
neighbourhood search and ``PartsSettings`` the solve by parts (callers and tests set
them, nothing is a module constant to patch); a ``Deadline`` is passed down so that
each step asks it what is left.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SolveOptions:
    """Limits and settings of one route's solve.

    ``time_limit`` seconds (None: none); ``node_limit``: branch-and-bound nodes (a count,
    the same on every machine; routes with ``Capability.NODE_LIMIT``); ``work_limit``:
    neighbourhoods of the search in all (the solve by parts); ``warm_start``: a feasible
    0/1 vector to start from, used as the route's capabilities allow; ``on_progress``:
    called with (plan, bound) as the route's MIP improves them (a progress line), if it can.
    """

    time_limit: float | None = None
    threads: int = 1
    mip_gap: float = 1e-6
    seed: int = 0
    log: bool = False
    node_limit: int | None = None
    work_limit: int | None = None
    warm_start: np.ndarray | None = field(default=None, compare=False, repr=False)
    on_progress: object = field(default=None, compare=False, repr=False)  # (plan, bound) as a MIP goes (progress.py)

    def replace(self, **changes) -> SolveOptions:
        return dataclasses.replace(self, **changes)


def checked_limits(time_limit: float | None, threads: int, work_limit: int | None) -> float | None:
    """The time limit to use (None for none: ``inf`` means no limit), after checking the three
    limits; ValueError says which is wrong and what to give."""
    if time_limit is not None:
        if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float, np.integer, np.floating)):
            raise ValueError(f"time_limit {time_limit!r} is not a number of seconds")
        if math.isnan(time_limit) or time_limit <= 0:
            raise ValueError(f"time_limit {time_limit!r} must be a number of seconds > 0 (inf, or None, for no limit)")
        if math.isinf(time_limit):
            time_limit = None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads {threads!r} must be a whole number >= 1")
    if work_limit is not None and (
        isinstance(work_limit, bool) or not isinstance(work_limit, (int, np.integer)) or work_limit < 0
    ):
        raise ValueError(f"work_limit {work_limit!r} must be a whole number of neighbourhoods >= 0")
    return time_limit


class Deadline:
    """A point in time (or none): what is left of it, never less than ``floor`` seconds."""

    def __init__(self, seconds: float | None, started: float | None = None) -> None:
        started = time.perf_counter() if started is None else started
        self.at = None if seconds is None else started + seconds

    @classmethod
    def until(cls, at: float | None) -> Deadline:
        deadline = cls(None)
        deadline.at = at
        return deadline

    @property
    def unlimited(self) -> bool:
        return self.at is None

    def left(self, floor: float = 0.01) -> float | None:
        if self.at is None:
            return None
        return max(self.at - time.perf_counter(), floor)

    def remaining(self) -> float:
        """Seconds left, possibly negative (inf without a deadline)."""
        return float("inf") if self.at is None else self.at - time.perf_counter()


@dataclass(frozen=True)
class SearchSettings:
    """The large-neighbourhood search's tuning (``search.py`` explains each)."""

    engine: str = "cpsat"  # the neighbourhood solver: "cpsat" (one worker) or "highs"
    services: int = 2  # services per neighbourhood at first
    step_seconds: float = 0.25
    patience: int = 20  # tries without a better plan before the neighbourhood grows
    most_services: int = 6
    lp_guided_share: float = 0.3
    lp_guided_fraction: float = 0.3
    step_deterministic: float = 0.1  # counted runs, CP-SAT engine: deterministic time per neighbourhood
    step_nodes: int = 50  # counted runs: branch-and-bound nodes per neighbourhood (most close in the root)
    step_checks: int = 40  # counted runs: HiGHS interrupt checks per neighbourhood (about 0.4 s here)
    # CP-SAT parameters of a neighbourhood's solve: its LP with cuts at every node, no probing
    step_parameters: tuple[tuple[str, int], ...] = (("linearization_level", 2), ("cp_model_probing_level", 0))
    helpers: int = 1  # pooled search (parts.search_by_gap): at most this many more searches per part for idle workers


@dataclass(frozen=True)
class PartsSettings:
    """The solve by parts' tuning (``parts.py`` explains each policy)."""

    polish_split: float = 0.5  # share of a part's time for the exact route when the search follows
    search_beside: bool = True  # spare threads run a second exact solve + search beside a part
    search_by_gap: bool = True  # search time pooled over parts and handed out by gap
    pooled_split: float = 0.6  # with the search pooled: share of the whole limit for the exact route
    weak_bound_gap: float = 0.05  # a part stopped with a larger gap also gets its LP optimum as a bound
    exact_nodes: int = 1  # work limit: branch-and-bound nodes per part for the exact route (its root)
    search_first_columns: int = 20_000  # v2: a part joined by interim beds larger than this, and
    root_seconds_per_column: float = 0.002  # with less time left than this per column, is searched, not solved
    slice_steps: int = 10  # work limit: neighbourhoods per part per round of the search
    joined: str = "split"  # v2, a large joined part under a time limit: "split" (split.py), "auto" (root or search), "plain"
    split_direct_share: float = 0.1  # v2 under a time limit with joined="split": the plan without interim stays' share
    split_direct_seconds: float = 30.0  # ... when the limit is at least this (at 2 s a day the start needs its half)


@dataclass(frozen=True)
class Tuning:
    """Every tuning knob of a solve, in one value to pass down."""

    parts: PartsSettings = PartsSettings()
    search: SearchSettings = SearchSettings()
