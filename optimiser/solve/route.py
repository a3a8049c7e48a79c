"""What a solver route is: a name, declared capabilities, and one ``solve`` method.

A route translates the one formulation for its solver, solves it under
``SolveOptions`` and a ``Cancellation``, and reports a typed ``SolveResult``
(``result.py``). Callers ask the capabilities, never the name (as linopy's
``SolverFeature``): a new route is one module and an entry in ``dispatch.ROUTES``.
"""

from __future__ import annotations

from enum import Enum
from typing import Protocol

from optimiser.model.formulation import Formulation
from optimiser.solve.cancel import Cancellation
from optimiser.solve.options import SolveOptions
from optimiser.solve.result import SolveResult


class WarmStart(str, Enum):
    """How a route uses a warm start: as its first incumbent, as a hint, or not at all."""

    EXACT = "exact"
    HINT = "hint"
    NONE = "none"


class Capability(str, Enum):
    NODE_LIMIT = "node limit"  # stops after SolveOptions.node_limit nodes: a count, the same on every machine
    CAN_STOP = "can stop"  # a Cancellation stops it mid-solve with its best plan
    SEARCHED = "searched"  # the solve by parts follows it with the neighbourhood search (its bound kept)


class Route(Protocol):
    name: str
    warm_start: WarmStart
    capabilities: frozenset[Capability]

    def solve(self, formulation: Formulation, options: SolveOptions, cancel: Cancellation) -> SolveResult: ...
