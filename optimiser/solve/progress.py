"""How far a running solve has got, for a progress line: the best plan and bound so far.

A ``Board`` is handed to ``solve(progress=...)``. The solve by parts tells it each part's
plan and bound as they improve (HiGHS reports its primal and dual bounds from its MIP
callback; a part's warm start is its first plan; a finished part its result), and the
whole is what the final result sums: the patients in no part, plus every part's plan (or
bound). Any thread may read ``state()`` while the solve runs; nothing here prints.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SolveState:
    """The solve so far: seconds since it began, the plan's objective and the bound (None
    until every part has one), and parts finished of all."""

    elapsed: float
    plan: float | None
    bound: float | None
    parts_done: int
    parts: int

    @property
    def gap(self) -> float | None:
        if self.plan is None or self.bound is None:
            return None
        return max(self.plan - self.bound, 0.0) / max(1.0, abs(self.plan))


class Board:
    """Each part's best plan and bound so far (thread-safe); see the module doc."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._began = time.perf_counter()
        self._outside = 0.0
        self._plans: list[float] = []
        self._bounds: list[float] = []
        self._done: list[bool] = []

    def begin(self, outside: float, parts: int) -> None:
        """A solve of ``parts`` parts begins; ``outside``: the cost of the patients in none."""
        with self._lock:
            self._outside = outside
            self._plans = [math.inf] * parts
            self._bounds = [-math.inf] * parts
            self._done = [False] * parts

    def part(self, i: int, plan: float | None = None, bound: float | None = None, done: bool = False) -> None:
        """Part i has a plan of this objective and a bound (kept when better)."""
        with self._lock:
            if i >= len(self._plans):
                return
            if plan is not None and math.isfinite(plan):
                self._plans[i] = min(self._plans[i], plan)
            if bound is not None and math.isfinite(bound):
                self._bounds[i] = max(self._bounds[i], bound)
            self._done[i] = self._done[i] or done

    def reporter(self, i: int) -> Callable[[float, float], None]:
        """What part i's route calls with (plan, bound) as its MIP goes."""
        return lambda plan, bound: self.part(i, plan, bound)

    def state(self) -> SolveState:
        with self._lock:
            plans, bounds = self._plans, self._bounds
            plan = self._outside + sum(plans) if plans and all(math.isfinite(p) for p in plans) else None
            bound = self._outside + sum(bounds) if bounds and all(math.isfinite(b) for b in bounds) else None
            if plan is not None and bound is not None:
                bound = min(bound, plan)
            return SolveState(time.perf_counter() - self._began, plan, bound, sum(self._done), len(plans))
