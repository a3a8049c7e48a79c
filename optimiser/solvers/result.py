"""One status enum and one small report shared by every solver route."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class Status(str, Enum):
    """``optimal``: proven optimal within the gap; ``feasible``: stopped at a limit
    (time, interrupt) with a plan; ``error``: no plan."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    ERROR = "error"


@dataclass
class SolveResult:
    status: Status
    x: np.ndarray | None
    objective: float
    bound: float
    solver: str
    solve_seconds: float
    message: str = ""
    details: dict = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative gap (objective - bound) / |objective|; 0 when both are 0."""
        return relative_gap(self.objective, self.bound)


def relative_gap(objective: float, bound: float) -> float:
    if not np.isfinite(objective) or not np.isfinite(bound):
        return float("inf")
    difference = max(objective - bound, 0.0)
    if difference <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return difference / max(abs(objective), 1e-9)
