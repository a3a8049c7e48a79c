"""Independent parts of the model: connected components of the variable-row graph.

Two variables are linked when some row (assignment, capacity, admissions,
equipment) holds both. Components share no row, so the optimum of the whole
is the sum of the components' optima, and the sum of their bounds is a bound.
The three pathways never share a row; within a pathway, patients and services
split by locality, needs and equipment store.

A component of bed pathways only (2, 3: use 1, no equipment) is a
min-cost-flow network in disguise (cumulative rows are balance rows of a
bed inventory, right-hand sides are integers): its LP optimum is integral.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from optimiser.model.families.base import INTERIM, stage_of
from optimiser.model.formulation import Formulation


@dataclass
class Component:
    columns: np.ndarray  # variable indices in the whole formulation
    pathways: tuple[int, ...]
    journeys: bool = False  # v2: interim entries join pathways in this part

    @property
    def network(self) -> bool:
        """Bed pathways only, without interim stays: the LP relaxation has an integral optimum."""
        return 1 not in self.pathways and not self.journeys


def components(formulation: Formulation) -> list[Component]:
    """Connected components, largest first (ties by first variable, so the order is fixed)."""
    n = formulation.num_variables
    if n == 0:
        return []
    matrix, _ = formulation.matrix()
    coo = matrix.tocoo()
    m = matrix.shape[0]
    graph = sp.coo_matrix((np.ones(coo.nnz), (coo.col, n + coo.row)), shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    label = label[:n]
    order = np.argsort(label, kind="stable")
    bounds = np.flatnonzero(np.diff(label[order])) + 1
    groups = np.split(order, bounds)
    pathway_of = formulation.snapshot.patients["pathway"].to_numpy()[formulation.variables["patient"].to_numpy()]
    bridging = stage_of(formulation.variables) == INTERIM
    parts = [
        Component(np.sort(group), tuple(sorted(set(pathway_of[group].tolist()))), bool(bridging[group].any())) for group in groups
    ]
    parts.sort(key=lambda part: (-len(part.columns), part.columns[0]))
    return parts
