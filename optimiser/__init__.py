"""optimiser: where discharge-ready hospital patients should go next, and when.

>>> from optimiser import load_snapshot, allocate
>>> plan = allocate(load_snapshot("instances/demo"))
>>> plan.placements.head(); plan.unplaced; plan.summary["objective"]
>>> plan.write("plan")
"""

from optimiser.api import (
    ROUTES,
    SOLVERS,
    AddCapacity,
    AddStock,
    Close,
    Formulation,
    InputError,
    PartsSettings,
    Plan,
    Problem,
    SearchSettings,
    Snapshot,
    SnapshotError,
    SolveOptions,
    SolveResult,
    Status,
    Termination,
    Tuning,
    allocate,
    build_formulation,
    capacity_value,
    explain,
    load_snapshot,
    solve,
    whatif,
)

__all__ = [
    "AddCapacity",
    "AddStock",
    "Close",
    "Formulation",
    "PartsSettings",
    "Plan",
    "Problem",
    "ROUTES",
    "SOLVERS",
    "SearchSettings",
    "Snapshot",
    "SnapshotError",
    "InputError",
    "SolveOptions",
    "SolveResult",
    "Status",
    "Termination",
    "Tuning",
    "allocate",
    "build_formulation",
    "capacity_value",
    "explain",
    "load_snapshot",
    "solve",
    "whatif",
]

__version__ = "0.1.0"
