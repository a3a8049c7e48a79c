"""The Python API: load a snapshot, allocate, get a Plan; the decision-support calls beside it.
The CLI is a thin layer over these."""

from optimiser.analysis.allocate import allocate
from optimiser.analysis.bound import proven_bound
from optimiser.analysis.explain import explain
from optimiser.analysis.plan import Plan
from optimiser.analysis.value import capacity_value
from optimiser.analysis.whatif import AddCapacity, AddStock, Close, MakeInterim, whatif
from optimiser.data.problems import InputError, Problem, SnapshotError
from optimiser.data.snapshot import Snapshot
from optimiser.ipacs.compare import Comparison, compare_ipacs
from optimiser.ipacs.convert import convert_ipacs
from optimiser.ipacs.outputs import IpacsResult, run_ipacs
from optimiser.ipacs.workbook import Workbook, read_workbook
from optimiser.model.formulation import Formulation, build_formulation
from optimiser.model.loading import load_snapshot
from optimiser.simulate import simulate
from optimiser.simulate.flow import Flow, read_flow
from optimiser.simulate.results import SimulationResult
from optimiser.simulate.sweep import sweep
from optimiser.solve.dispatch import ROUTES, SOLVERS, solve
from optimiser.solve.options import PartsSettings, SearchSettings, SolveOptions, Tuning
from optimiser.solve.pricing import DecomposedBound
from optimiser.solve.result import SolveResult, Status, Termination

__all__ = [
    "AddCapacity",
    "Comparison",
    "IpacsResult",
    "Workbook",
    "compare_ipacs",
    "convert_ipacs",
    "read_workbook",
    "run_ipacs",
    "AddStock",
    "Close",
    "MakeInterim",
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
    "proven_bound",
    "DecomposedBound",
    "build_formulation",
    "capacity_value",
    "explain",
    "load_snapshot",
    "solve",
    "whatif",
    "simulate",
    "sweep",
    "Flow",
    "read_flow",
    "SimulationResult",
]
