"""What every solver route reports, as types: one status, one termination, one result.

Each route maps its solver's native status onto :class:`Termination` (as linopy's
``CONDITION_MAP`` does) and fills one :class:`SolveResult`; a time limit with an
incumbent is ``Status.FEASIBLE``, and the plan is still returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from optimiser.constants import TOLERANCE


class Status(str, Enum):
    """``optimal``: proven optimal within the gap; ``feasible``: stopped at a limit
    (time, interrupt) with a plan; ``error``: no plan."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    ERROR = "error"


class Termination(str, Enum):
    """Why a solve ended, whatever the solver."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time limit"
    WORK_LIMIT = "work limit"  # nodes, iterations, deterministic time: a count, not seconds
    INTERRUPTED = "interrupted"  # Ctrl-C, the watchdog, or a stop asked by another thread
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no solution"  # stopped with no plan
    ERROR = "error"


@dataclass(frozen=True)
class SearchReport:
    """What the large-neighbourhood search did (``search.py``)."""

    steps: int = 0
    improvements: int = 0
    seconds: float = 0.0

    def __add__(self, other: SearchReport) -> SearchReport:
        return SearchReport(self.steps + other.steps, self.improvements + other.improvements, self.seconds + other.seconds)


def combined(*reports: SearchReport | None) -> SearchReport | None:
    """The sum of the searches' reports given (None where none was given)."""
    given = [report for report in reports if report is not None]
    return sum(given[1:], given[0]) if given else None


@dataclass(frozen=True)
class PartFacts:
    """Which independent part this is: its pathways, patients, services and hospital sites."""

    pathways: tuple[int, ...]
    patients: int
    services: int
    sites: tuple[str, ...]


@dataclass(frozen=True)
class PartReport:
    """One independent part of a solve by parts: proven optimal or not, its gap
    (objective - bound, objective units; None without a plan), its seconds."""

    facts: PartFacts
    optimal: bool
    gap: float | None
    seconds: float


@dataclass
class SolveResult:
    status: Status
    x: np.ndarray | None
    objective: float
    bound: float
    solver: str
    solve_seconds: float
    message: str = ""
    termination: Termination = Termination.OPTIMAL
    nodes: int | None = None  # branch-and-bound nodes (HiGHS)
    parts: list[PartReport] | None = None  # a solve by parts: one report per part
    search: SearchReport | None = None  # the neighbourhood search after the route, if any
    threads: int = 1  # threads that worked on this model
    warm_start_kept: bool = False  # the route's plan was dearer than the warm start, which was kept

    @property
    def gap(self) -> float:
        """Relative gap (objective - bound) / |objective|; 0 when both are 0."""
        return relative_gap(self.objective, self.bound)


@dataclass
class LPResult:
    """The LP relaxation's optimum: ``x`` (a vertex), ``objective`` (with the constant), and
    the row duals of each row family (``duals[family]``, one per row of that RowBlock, <= 0).
    ``x`` is None if the LP was not solved to optimality."""

    x: np.ndarray | None
    objective: float
    duals: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0


def relative_gap(objective: float, bound: float) -> float:
    if not np.isfinite(objective) or not np.isfinite(bound):
        return float("inf")
    difference = max(objective - bound, 0.0)
    if difference <= TOLERANCE * max(1.0, abs(objective)):
        return 0.0
    return difference / max(abs(objective), 1e-9)
