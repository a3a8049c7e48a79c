"""A stronger bound for the band packing (v2): Dantzig-Wolfe over the home care services,
by column generation.

Why: the LP of the pathway-1 packing with time-of-day bands counts a patient's start as
divisible between services and days; HiGHS's cuts close little of that (on the pathway-1
piece of ics-v2: LP 2,959, HiGHS's bound 3,102 after 60 s and 3,109 after 300 s, plans
3,193). Each service's own rows (rule 5b per band and day, rule 6, rule 5) are a small
knapsack over time that its LP leaves fractional; Dantzig-Wolfe convexifies each of them.

The blocks: ``b`` = a pathway-1 service with band rows; its columns ``J_b`` are the direct
starts at it, its rows ``X_b = {x in {0,1}^J_b : A_b x <= b_b}`` the rows whose every
column is in ``J_b``. Every other row (``M x <= m``: one start per patient, equipment,
interim stays, the other services) and column stays in the *master*, where block ``b``'s
columns are a convex combination of its *patterns* ``P`` (points of ``X_b``, weights
``w_bP >= 0, sum_P w_bP = 1``):

    min  c_0 x_0 + sum_bP (c_b x_P) w_bP
    s.t. M_0 x_0 + sum_bP (M_b x_P) w_bP <= m,   sum_P w_bP = 1 (each b),  0 <= x_0 <= 1.

The restricted master (RMP: the patterns found so far) is an LP; with its duals ``y <= 0``
on ``M`` and ``mu_b`` on the convexity rows, *pricing* block ``b`` is the MILP
``min {(c_b - M_b' y) x : x in X_b}``, and a pattern of reduced cost ``< mu_b`` joins the
RMP. For every ``y <= 0`` (weak duality, ``M`` relaxed with multipliers ``-y``)

    L(y) = constant + y m + sum_j in 0 min_{l_j <= x_j <= 1} (c_j - M_j' y) x_j
           + sum_b min {(c_b - M_b' y) x : x in X_b}

is a lower bound on the model's optimum; a pricing MILP stopped early counts its own dual
bound, so ``L`` stays proven. ``max_y L(y)`` is the Dantzig-Wolfe bound, at least the LP's
(``L`` at the LP's duals is already at least the LP) and reached when no pattern prices
out (then ``L`` = RMP).

Each pricing MILP gives every improving solution HiGHS met on its way (its
``cbMipImprovingSolution`` callback; each checked against the block's rows), not only its
last, and every one that prices out joins the RMP: on the ics-v2 piece, one thread, from the
60 s HiGHS plan, 3,114 after 213 s against 3,083 with the last solution only.

Duals are smoothed (Wentges): pricing is at ``alpha y_best + (1 - alpha) y_RMP``, where
``y_best`` gave the best ``L`` so far (the LP's duals to begin with); when that finds no
pattern for the RMP, the next pricing is at the RMP's duals, and none there ends it.

Measured (benchmarks/README.md, "A priced bound"): on the pathway-1 piece of ics-v2 it
reaches 3,144 in 600 s where HiGHS stops at 3,102-3,109 (LP 2,959), which puts the 60 s
plan within 1.35% of optimal against 2.6% by the solve's own bound. It takes minutes, so it
is an analysis (``decomposed_bound``, ``optimiser bound``), not a step of the daily solve.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimiser.model.components import components
from optimiser.model.families.base import DIRECT, stage_of
from optimiser.model.formulation import Formulation
from optimiser.model.rows import RowBlock
from optimiser.solve.cancel import Cancellation
from optimiser.solve.highs import make_highs, run, solve_highs, solve_lp
from optimiser.solve.split import has_links, linking_rows, relaxed

SMOOTHING = 0.5  # alpha above: the weight of the best duals so far
PRICING_SECONDS = 5.0  # at most, for one block's pricing MILP (its dual bound counts if it stops)
CONVERGED = 1e-4  # relative gap between the RMP and the best L that ends the generation


@dataclass(frozen=True)
class PricedBound:
    """What ``priced_bound`` found: ``bound`` is proven (a lower bound on the optimum);
    the Dantzig-Wolfe bound lies between ``bound`` and ``master`` (the RMP's LP value)."""

    bound: float
    master: float
    lp: float  # the LP relaxation's bound, for comparison
    blocks: int
    patterns: int
    iterations: int
    seconds: float
    converged: bool


@dataclass(frozen=True)
class Blocks:
    """The Dantzig-Wolfe blocks of a formulation (module doc): ``columns[b]`` are block
    ``b``'s columns, ``own_rows`` marks the stacked rows local to a block, ``block_of_row``
    says whose (-1: a master row)."""

    columns: list[np.ndarray]
    block_of_row: np.ndarray

    @property
    def own_rows(self) -> np.ndarray:
        return self.block_of_row >= 0


def band_blocks(formulation: Formulation) -> Blocks:
    """One block per pathway-1 service with band rows: its direct starts, and the rows
    whose every column is one of them."""
    matrix, _ = formulation.matrix()
    variables = formulation.variables
    banded = set()
    for block in formulation.blocks:
        if block.family == "bands" and block.size:
            banded.update(variables["service"].to_numpy()[block.col].tolist())
    service = variables["service"].to_numpy()
    in_block = (stage_of(variables) == DIRECT) & np.isin(service, sorted(banded))
    services = sorted(banded)
    label = np.full(formulation.num_variables, -1, dtype=np.int64)
    label[in_block] = np.searchsorted(services, service[in_block])
    coo = matrix.tocoo()
    rows = matrix.shape[0]
    low = np.full(rows, np.iinfo(np.int64).max)
    high = np.full(rows, -2)
    np.minimum.at(low, coo.row, label[coo.col])
    np.maximum.at(high, coo.row, label[coo.col])
    block_of_row = np.where((low == high) & (low >= 0), low, -1)
    columns = [np.flatnonzero(label == b) for b in range(len(services))]
    return Blocks(columns, block_of_row)


def block_rows(
    formulation: Formulation, matrix: sp.csr_matrix, upper: np.ndarray, blocks: Blocks, b: int, implied: bool = False
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Block ``b``'s rows for its pricing (over its columns ``J_b``): its own rows, and every
    master row with no negative coefficient restricted to ``J_b``:

        sum_{j in J_b} a_ij x_j <= m_i - sum_{j not in J_b} a_ij l_j     (a_ij >= 0 for all j)

    which every point of the model keeps (the other columns are at least their lower bounds
    ``l``), so ``X_b`` with them still holds the block of every plan and the bound stays
    proven. Kept where they can bind (the block's coefficients add up to more than the right
    side). The one that matters is one start a patient: without it a pattern may start a
    patient twice at the service (on two days), which the master can only mix away; at the
    ics-v2 piece's LP duals 11 of the 18 blocks' best patterns did. Converged, it raises the
    bound (demo snapshots with bands and interim stays, seeds 1-8: by up to 9.5, e.g. 588.6
    to 598.1 with the optimum at 610.4); but its pricing MILPs are harder, and on the ics-v2
    piece (one thread, from the 60 s plan) it reached 3,063 in 223 s (17 rounds) against
    3,120 (26 rounds) without, so ``priced_bound`` prices without it by default. ``matrix, upper``:
    ``formulation.matrix()``; ``implied=False`` (the default, as in ``priced_bound``): the own rows only."""
    columns = blocks.columns[b]
    own = matrix[blocks.block_of_row == b][:, columns]
    master_rows = np.flatnonzero(~blocks.own_rows)
    master = matrix[master_rows].tocsr()
    negative = np.zeros(len(master_rows), dtype=bool)
    coo = master.tocoo()
    negative[coo.row[coo.data < 0]] = True
    inside = master[:, columns]
    lower = formulation.lower.astype(float)
    outside = master @ lower - inside @ lower[columns]
    right = upper[master_rows] - outside
    touches = np.diff(inside.indptr)
    binds = np.asarray(inside.sum(axis=1)).ravel() > right + 1e-9
    kept = np.flatnonzero(~negative & (touches >= 2) & binds & implied)
    rows = sp.vstack([own, inside[kept]]).tocsr()
    return rows, np.concatenate([upper[blocks.block_of_row == b], right[kept]])


class _Pricing:
    """Block ``b``'s pricing MILP over ``rows`` (``block_rows``), built once; each call changes
    its costs only."""

    def __init__(
        self,
        formulation: Formulation,
        rows: sp.csr_matrix,
        upper: np.ndarray,
        columns: np.ndarray,
        all_improving: bool = True,
    ):
        self.rows, self.upper, self.columns = rows, upper, len(columns)
        sub = Formulation(
            snapshot=formulation.snapshot,
            variables=formulation.variables.iloc[columns].reset_index(drop=True),
            objective=formulation.objective[columns],
            constant=0.0,
            lower=formulation.lower[columns],
            blocks=[_block_of(self.rows, self.upper)],
            unplaced_cost=formulation.unplaced_cost,
            build_seconds=0.0,
            families=formulation.families,
        )
        self.highs = make_highs(sub, threads=1, mip_gap=1e-6)
        self.found: list[np.ndarray] = []
        if all_improving:
            self.highs.cbMipImprovingSolution.subscribe(self._improving)

    def solve(self, cost: np.ndarray, seconds: float, cancel: Cancellation) -> tuple[float, list[np.ndarray]]:
        """The pricing bound (proven) and the patterns found, best last: every improving
        solution HiGHS met on its way (its callback), not only the last (empty if none)."""
        highs = self.highs
        highs.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost.astype(float))
        highs.setOptionValue("time_limit", float(max(seconds, 0.01)))
        self.found.clear()
        run(highs, cancel)
        info = highs.getInfo()
        bound = float(info.mip_dual_bound)
        if not np.isfinite(bound):
            bound = float(np.minimum(cost, 0.0).sum())  # nothing proven: every column at its cheapest
        patterns = [x for x in self.found if self.fits(x)]
        x = np.asarray(highs.getSolution().col_value)
        if len(x) == len(cost) and np.isfinite(info.objective_function_value) and info.primal_solution_status != 0:
            patterns.append(np.round(x))
        return bound, patterns

    def fits(self, x: np.ndarray) -> bool:
        """x keeps the block's own rows (a solution from the callback is checked, not trusted)."""
        return bool(np.all(self.rows @ x <= self.upper + 1e-6))

    def _improving(self, event) -> None:
        solution = np.round(np.asarray(event.data_out.mip_solution, dtype=float)[: self.columns])
        if len(solution) == self.columns:
            self.found.append(solution)


def _block_of(matrix: sp.csr_matrix, upper: np.ndarray):
    coo = matrix.tocoo()
    return RowBlock("block", pd.DataFrame(index=range(matrix.shape[0])), coo.row, coo.col, coo.data, upper)


def priced_bound(
    formulation: Formulation,
    start: np.ndarray | None = None,
    time_limit: float = 300.0,
    smoothing: float = SMOOTHING,
    pricing_seconds: float = PRICING_SECONDS,
    cancel: Cancellation | None = None,
    on_iteration=None,
    threads: int = 1,
    all_improving: bool = True,
    implied_rows: bool = False,
) -> PricedBound:
    """The Dantzig-Wolfe bound over the band services (module doc), generated for at most
    ``time_limit`` seconds from the LP's duals and the patterns of ``start`` (a feasible
    plan; without one, the empty patterns). ``on_iteration(iteration, master, L, best)``
    is called after each round of pricing; ``threads`` blocks are priced at once;
    ``implied_rows``: the master rows each block keeps (``block_rows``) priced in the block
    too (off by default: a stronger bound at convergence, slower rounds; see ``block_rows``)."""
    import highspy

    cancel = cancel or Cancellation()
    began = time.perf_counter()
    lp = solve_lp(formulation, cancel=cancel)
    blocks = band_blocks(formulation)
    if not blocks.columns or lp.x is None:
        return PricedBound(lp.objective, lp.objective, lp.objective, 0, 0, 0, time.perf_counter() - began, lp.x is not None)
    matrix, upper = formulation.matrix()
    master_rows = np.flatnonzero(~blocks.own_rows)
    in_block = np.zeros(formulation.num_variables, dtype=bool)
    for columns in blocks.columns:
        in_block[columns] = True
    plain = np.flatnonzero(~in_block)
    cost = formulation.objective.astype(float)
    lower = formulation.lower.astype(float)
    master = matrix[master_rows].tocsc()
    m = len(master_rows)
    count = len(blocks.columns)
    pricing = [
        _Pricing(formulation, *block_rows(formulation, matrix, upper, blocks, b, implied_rows), columns, all_improving)
        for b, columns in enumerate(blocks.columns)
    ]

    rmp = highspy.Highs()
    rmp.setOptionValue("output_flag", False)
    rmp.setOptionValue("solver", "simplex")
    rmp.setOptionValue("threads", 1)
    inf = highspy.kHighsInf
    none_int, none_float = np.zeros(0, dtype=np.int32), np.zeros(0)
    rmp.addRows(m, np.full(m, -inf), upper[master_rows].astype(float), 0, none_int, none_int, none_float)
    rmp.addRows(count, np.ones(count), np.ones(count), 0, none_int, none_int, none_float)
    plain_matrix = master[:, plain]
    rmp.addCols(
        len(plain),
        cost[plain],
        lower[plain],
        np.ones(len(plain)),
        plain_matrix.nnz,
        plain_matrix.indptr[:-1].astype(np.int32),
        plain_matrix.indices.astype(np.int32),
        plain_matrix.data.astype(float),
    )
    patterns = 0

    def add(b: int, x_block: np.ndarray) -> None:
        nonlocal patterns
        columns = blocks.columns[b]
        used = master[:, columns] @ x_block
        index = np.flatnonzero(np.abs(used) > 1e-12)
        rmp.addCol(
            float(cost[columns] @ x_block),
            0.0,
            inf,
            len(index) + 1,
            np.append(index, m + b).astype(np.int32),
            np.append(used[index], 1.0),
        )
        patterns += 1

    for b, columns in enumerate(blocks.columns):
        if start is not None:
            add(b, np.round(np.asarray(start, dtype=float)[columns]))
        if not (lower[columns] > 0).any():
            add(b, np.zeros(len(columns)))

    all_duals = np.concatenate([lp.duals[block.family] for block in formulation.blocks])
    best_y = np.minimum(all_duals[master_rows], 0.0)
    best = lp.objective
    master_value = float("inf")
    iteration = 0
    weight = 1.0  # the first pricing is at the LP's duals
    converged = False
    with ThreadPoolExecutor(max(1, int(threads))) as pool:
        while time.perf_counter() - began < time_limit and not cancel.cancelled:
            run(rmp, cancel)
            if rmp.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                break  # no start and pinned block columns: the RMP has no point yet
            master_value = float(rmp.getInfo().objective_function_value) + formulation.constant
            duals = np.asarray(rmp.getSolution().row_dual)
            y_rmp, mu = np.minimum(duals[:m], 0.0), duals[m:]
            y = weight * best_y + (1.0 - weight) * y_rmp
            reduced = cost - master.T @ y
            value = formulation.constant + float(y @ upper[master_rows])
            reduced_plain = reduced[plain]
            value += float(np.where(lower[plain] > 0, reduced_plain, np.minimum(reduced_plain, 0.0)).sum())
            added = 0
            seconds = min(pricing_seconds, max(time_limit - (time.perf_counter() - began), 0.01))
            costs = [reduced[columns] for columns in blocks.columns]
            priced_blocks = list(pool.map(_Pricing.solve, pricing, costs, [seconds] * count, [cancel] * count))
            for b, columns in enumerate(blocks.columns):
                bound, found = priced_blocks[b]
                value += bound
                seen = set()
                for x_block in found:
                    key = x_block.tobytes()
                    priced = float(cost[columns] @ x_block - (master[:, columns] @ x_block) @ y_rmp - mu[b])
                    if key not in seen and priced < -1e-7 * max(1.0, abs(mu[b])):
                        seen.add(key)
                        add(b, x_block)
                        added += 1
            if cancel.cancelled:
                break  # a pricing stopped part-way: its bound still counts, but end here
            iteration += 1
            if value > best:
                best, best_y = value, y
            if on_iteration is not None:
                on_iteration(iteration, master_value, value, best)
            if master_value - best <= CONVERGED * max(1.0, abs(master_value)):
                converged = True
                break
            if added == 0:
                if weight == 0.0:
                    break  # no pattern prices out at the RMP's duals (L there is the RMP if every pricing was proven)
                weight = 0.0
            else:
                weight = smoothing
    return PricedBound(
        bound=best,
        master=master_value,
        lp=lp.objective,
        blocks=count,
        patterns=patterns,
        iterations=iteration,
        seconds=time.perf_counter() - began,
        converged=converged,
    )


@dataclass(frozen=True)
class PieceBound:
    """One piece of the model (a part, or a piece of a joined part split at the interim
    beds): its columns, pathways, HiGHS's bound and the priced bound (None: no band block)."""

    columns: int
    pathways: tuple[int, ...]
    highs: float
    priced: PricedBound | None

    @property
    def bound(self) -> float:
        return self.highs if self.priced is None else max(self.highs, self.priced.bound)


@dataclass(frozen=True)
class DecomposedBound:
    """A proven lower bound on the whole model's optimum, and where it comes from."""

    bound: float
    pieces: list[PieceBound]
    seconds: float

    def to_dict(self) -> dict:
        """For ``--json``: the bound and, per piece with band services, its HiGHS, LP and priced bounds."""
        return {
            "bound": self.bound,
            "seconds": round(self.seconds, 1),
            "pieces": [
                {
                    "columns": piece.columns,
                    "pathways": list(piece.pathways),
                    "highs_bound": piece.highs,
                    "priced_bound": None if piece.priced is None else piece.priced.bound,
                    "lp": None if piece.priced is None else piece.priced.lp,
                    "converged": None if piece.priced is None else piece.priced.converged,
                }
                for piece in self.pieces
            ],
        }


def decomposed_bound(
    formulation: Formulation,
    time_limit: float = 600.0,
    highs_seconds: float = 60.0,
    threads: int = 1,
    cancel: Cancellation | None = None,
) -> DecomposedBound:
    """The model's optimum bounded below piece by piece: its independent parts, a part that
    interim beds join split at the interim beds (``split.py``: the Lagrangian at its LP's
    duals), each piece by HiGHS (at most ``highs_seconds``) and, where it has band services,
    by ``priced_bound`` too (the time left, shared by columns). The sum, with the split's
    ``- lambda b_L``, is a lower bound by weak duality."""
    cancel = cancel or Cancellation()
    began = time.perf_counter()
    total = formulation.constant  # U(p) of every patient; each piece adds (its bound - its patients' U)
    pieces: list[tuple[Formulation, tuple[int, ...]]] = []
    for component in components(formulation):
        part = formulation.subset(component.columns)
        if not has_links(part):
            pieces.append((part, component.pathways))
            continue
        lp = solve_lp(part, cancel=cancel)
        if lp.x is None:
            return DecomposedBound(-float("inf"), [], time.perf_counter() - began)
        lagrangian, shift = relaxed(part, lp.duals, linking_rows(part))
        total += shift
        pieces.extend((lagrangian.subset(piece.columns), piece.pathways) for piece in components(lagrangian))
    banded = [len(band_blocks(piece).columns) > 0 for piece, _ in pieces]
    banded_columns = sum(piece.num_variables for (piece, _), has in zip(pieces, banded) if has)
    results = []
    for (piece, pathways), has in zip(pieces, banded):
        highs = solve_highs(piece, cancel, time_limit=highs_seconds, threads=1)
        priced = None
        if has:
            left = time_limit - (time.perf_counter() - began)
            share = left * piece.num_variables / max(banded_columns, 1)
            banded_columns -= piece.num_variables
            priced = priced_bound(piece, start=highs.x, time_limit=max(share, 1.0), cancel=cancel, threads=threads)
        result = PieceBound(piece.num_variables, pathways, float(highs.bound), priced)
        results.append(result)
        total += result.bound - piece.constant
    return DecomposedBound(float(total), results, time.perf_counter() - began)
