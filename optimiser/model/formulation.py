"""The one formulation every solver route translates (contract sections 3 and 4).

Data:        the snapshot's patients p, services s, days d = 0 .. D-1.
Variables:   x[p, s, d] in {0, 1}: patient p starts at service s on day d,
             one per eligible triple (``eligibility.py``).
Constraints: one RowBlock per constraint family (``families/``: assignment,
             capacity, admissions, equipment), pinned as lower bounds; all rows ``<=``.
Objective:   the contract's objective is
                 sum_{p,s,d} cost(p,s,d) x[p,s,d] + sum_p U(p) (1 - sum_{s,d} x[p,s,d])
             with U(p) = delay(p, D + tail_days); it is written as
                 constant + sum (cost - U(p)) x   with constant = sum_p U(p).
v2 (interim stays, ``families/interim.py``): an entry z costs the move penalty and its
travel, each day w in an interim bed -(1 - interim_weight) times that day's harm; a start x
(direct or onward) costs cost - U(p) as in v1, so a journey costs the contract's 6.2 sum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimiser.constants import FEASIBILITY
from optimiser.data.snapshot import Snapshot
from optimiser.model.costs import unplaced_cost
from optimiser.model.eligibility import eligible_triples, pinned_lower_bounds
from optimiser.model.families import Family, active
from optimiser.model.families.base import DIRECT, stage_of
from optimiser.model.rows import RowBlock


@dataclass
class Formulation:
    """A MILP: minimise constant + objective @ x, s.t. A x <= upper, lower <= x <= 1, x binary."""

    snapshot: Snapshot
    variables: pd.DataFrame  # patient, service, day, minutes, use, cost
    objective: np.ndarray
    constant: float
    lower: np.ndarray
    blocks: list[RowBlock]
    unplaced_cost: np.ndarray  # U(p) per patient
    build_seconds: float = 0.0
    families: tuple[Family, ...] = ()  # the constraint families whose rows these are

    @property
    def num_variables(self) -> int:
        return len(self.variables)

    @property
    def num_rows(self) -> int:
        return sum(block.size for block in self.blocks)

    def matrix(self) -> tuple[sp.csr_matrix, np.ndarray]:
        """The stacked rows A (CSR) and their upper bounds."""
        rows, cols, coefs, upper = [], [], [], []
        offset = 0
        for block in self.blocks:
            rows.append(block.row + offset)
            cols.append(block.col)
            coefs.append(block.coef)
            upper.append(block.upper)
            offset += block.size
        if not rows:
            return sp.csr_matrix((0, self.num_variables)), np.zeros(0)
        matrix = sp.csr_matrix(
            (np.concatenate(coefs), (np.concatenate(rows), np.concatenate(cols))),
            shape=(offset, self.num_variables),
        )
        return matrix, np.concatenate(upper)

    def patients_in_model(self) -> np.ndarray:
        """Indices of the patients that have at least one variable."""
        return np.unique(self.variables["patient"].to_numpy())

    def subset(self, columns: np.ndarray) -> Formulation:
        """The sub-model on these variables: rows keep only their nonzeros in ``columns``,
        empty rows are dropped; the constant is U(p) of the subset's patients only.

        Exact for a union of connected components (no row is split).
        """
        columns = np.asarray(columns, dtype=np.int64)
        new_index = np.full(self.num_variables, -1, dtype=np.int64)
        new_index[columns] = np.arange(len(columns))
        blocks = []
        for block in self.blocks:
            keep = new_index[block.col] >= 0
            rows = block.row[keep]
            kept_rows = np.unique(rows)
            local = np.full(block.size, -1, dtype=np.int64)
            local[kept_rows] = np.arange(len(kept_rows))
            blocks.append(
                RowBlock(
                    block.family,
                    block.keys.iloc[kept_rows].reset_index(drop=True),
                    local[rows],
                    new_index[block.col[keep]],
                    block.coef[keep],
                    block.upper[kept_rows],
                )
            )
        variables = self.variables.iloc[columns].reset_index(drop=True)
        patients = np.unique(variables["patient"].to_numpy())
        return Formulation(
            snapshot=self.snapshot,
            variables=variables,
            objective=self.objective[columns],
            constant=float(self.unplaced_cost[patients].sum()),
            lower=self.lower[columns],
            blocks=blocks,
            unplaced_cost=self.unplaced_cost,
            build_seconds=0.0,
            families=self.families,
        )

    def row_names(self) -> list[str]:
        return [name for block in self.blocks for name in block.names()]

    def value(self, x: np.ndarray) -> float:
        """The contract objective of a 0/1 vector x."""
        return float(self.constant + self.objective @ np.round(x))

    def violations(self, x: np.ndarray, tolerance: float = FEASIBILITY) -> list[str]:
        """Names of rows or bounds a 0/1 vector breaks (empty when feasible)."""
        matrix, upper = self.matrix()
        x = np.round(x)
        broken = [name for name, bad in zip(self.row_names(), matrix @ x > upper + tolerance) if bad]
        broken += [f"pinned[{i}]" for i in np.flatnonzero(x < self.lower - tolerance)]
        return broken


def build_formulation(
    snapshot: Snapshot,
    naive: bool = False,
    protect: pd.DataFrame | None = None,
    families: tuple[Family, ...] | None = None,
    pairs: pd.DataFrame | None = None,
) -> Formulation:
    """Variables, rows and objective of the snapshot's MILP.

    ``naive=True`` keeps every eligible day and writes the capacity and
    equipment rows on every day, as the contract states them, without the
    dominated-day, implied-row and integer-rounding reductions: the baseline
    the benchmarks compare against. ``protect``: triples (patient, service,
    day) kept whatever the reductions say (see ``eligible_triples``).
    ``families``: the constraint families (default: the registry's, ``families.active()``).
    ``pairs``: the (patient, service, minutes) rules 1-3 allow, if known already
    (``eligibility.eligible_pairs``; the simulation knows them from the patients copied).
    """
    started = time.perf_counter()
    families = active() if families is None else tuple(families)
    variables = eligible_triples(snapshot, pairs=pairs, drop_dominated=not naive, protect=protect, families=families)
    patients = snapshot.patients
    unplaced = unplaced_cost(
        patients["priority"].to_numpy(), patients["ready_day"].to_numpy(), snapshot.horizon, snapshot.weights
    )
    start = stage_of(variables) == DIRECT  # v2: entries and stays cost what they add and save (families/interim.py)
    objective = variables["cost"].to_numpy() - unplaced[variables["patient"].to_numpy()] * start
    blocks = [family.rows(snapshot, variables, naive=naive) for family in families]
    lower = pinned_lower_bounds(snapshot, variables)
    return Formulation(
        snapshot=snapshot,
        variables=variables,
        objective=objective,
        constant=float(unplaced.sum()),
        lower=lower,
        blocks=blocks,
        unplaced_cost=unplaced,
        build_seconds=time.perf_counter() - started,
        families=families,
    )
