"""optimiser: where discharge-ready hospital patients should go next, and when.

>>> from optimiser import load_snapshot, allocate
>>> plan = allocate(load_snapshot("instances/demo"))
>>> plan.placements.head(); plan.unplaced; plan.summary["objective"]
>>> plan.write("plan")
"""

from .api import allocate, solve
from .explain import explain
from .formulation import Formulation, build_formulation
from .plan import Plan
from .problems import Problem, SnapshotError
from .snapshot import Snapshot, load_snapshot
from .solvers.result import SolveResult, Status
from .value import capacity_value
from .whatif import AddCapacity, AddStock, Close, whatif

__all__ = [
    "AddCapacity",
    "AddStock",
    "Close",
    "capacity_value",
    "explain",
    "whatif",
    "Formulation",
    "Plan",
    "Problem",
    "Snapshot",
    "SnapshotError",
    "SolveResult",
    "Status",
    "allocate",
    "build_formulation",
    "load_snapshot",
    "solve",
]
__version__ = "0.1.0"
