"""A part that interim beds join (v2), split at the interim beds: a Lagrangian decomposition.

Interim beds join the three pathways into one part only through the rows of the interim
services themselves: their capacity (rule 5: pathway-2 stays and bridging patients' interim
days share the beds) and admission limits (rule 6: pathway-2 starts and interim entries).
Call those rows ``A_L x <= b_L`` (the *linking* rows). With multipliers ``lambda >= 0`` on
them,

    L(lambda) = min { c x + lambda (A_L x - b_L) : x in X' }

over the part's other rows X' is a lower bound on the part's optimum for every lambda
(weak duality), and without the linking rows the part falls apart into pieces again: the
pathway-1 packing with its bridging patients, the pathway-3 beds with theirs, the pathway-2
bed network (integral). Each piece is solved by the usual solve by parts, so the bound is
the sum of the pieces' bounds (each proven or the MIP's own dual bound) plus
``- lambda b_L``. With lambda the LP's duals on the linking rows, ``L >= LP``: the
pieces' integrality is counted, which the LP of the joined part leaves out.

Measured on ics-v2 (benchmarks/README.md, "The joined part of ics-v2"): the LP of the part
is 3,284, with the interim entries integral 3,285 (the interim linking is not what makes it
weak), the linking rows' duals add up to 113, and the pieces are the pathway-1 packing of
8.6k columns (the hard one: bands), pathway 3 with its bridging patients (53k, closed in
seconds) and the pathway-2 network.

The plan: the pieces' plans together keep every row but the linking ones; the *repair*
fixes the starts of patients outside pathway 2 at the pieces' values and solves what is
left (pathway-2 starts at interim services, the interim entries and stays: a small MILP,
always feasible, as an entry can be dropped and a pathway-2 patient left waiting); the
neighbourhood search then improves the repaired plan on the whole part for the time left.
The result is the better of that and the part's start.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from optimiser.constants import TOLERANCE
from optimiser.model.families.base import DIRECT, INTERIM, stage_of
from optimiser.model.families.interim import complete_stays, interim_services
from optimiser.model.formulation import Formulation
from optimiser.model.rows import RowBlock
from optimiser.solve.cancel import Cancellation
from optimiser.solve.result import SolveResult, Status, Termination

LINKING_FAMILIES = ("capacity", "admissions")  # the rows of a service (rules 5 and 6) that interim beds share
LP_SHARE = 0.25  # of the part's time at most, for its LP (the multipliers): a slower LP, no split
PIECES_END = 0.75  # of the part's time after the LP: when the pieces' solve stops
REPAIR_SHARE = 0.1  # of the part's time at most, for the repair MILP


def has_links(formulation: Formulation) -> bool:
    """Some row links the pathways (module doc): the model can be split."""
    return any(mask.any() for mask in linking_rows(formulation))


def linking_rows(formulation: Formulation) -> list[np.ndarray]:
    """Per row block, which of its rows link the pathways: the capacity and admission rows
    of the interim services (module doc)."""
    snapshot = formulation.snapshot
    interim_ids = set(snapshot.services["service_id"][interim_services(snapshot)].tolist())
    masks = []
    for block in formulation.blocks:
        if block.family in LINKING_FAMILIES and "service_id" in block.keys.columns:
            masks.append(block.keys["service_id"].isin(interim_ids).to_numpy())
        else:
            masks.append(np.zeros(block.size, dtype=bool))
    return masks


def relaxed(formulation: Formulation, duals: dict[str, np.ndarray], masks: list[np.ndarray]) -> tuple[Formulation, float]:
    """The Lagrangian model: the linking rows dropped, their multipliers ``lambda = -dual``
    (HiGHS gives a <= row of a minimisation a dual <= 0) moved into the objective,
    ``c + lambda A_L``; and the term ``- lambda b_L`` to add to its optimum."""
    objective = formulation.objective.astype(float).copy()
    shift = 0.0
    blocks = []
    for block, mask in zip(formulation.blocks, masks):
        if not mask.any():
            blocks.append(block)
            continue
        multiplier = np.maximum(-duals[block.family], 0.0) * mask  # >= 0 on the linking rows only
        np.add.at(objective, block.col, multiplier[block.row] * block.coef)
        shift -= float(multiplier @ block.upper)
        blocks.append(_rows_kept(block, ~mask))
    return dataclasses.replace(formulation, objective=objective, blocks=blocks), shift


def _rows_kept(block: RowBlock, keep: np.ndarray, upper: np.ndarray | None = None) -> RowBlock:
    """The block's rows where ``keep``, renumbered (``upper``: new right-hand sides, all rows)."""
    local = np.full(block.size, -1, dtype=np.int64)
    local[keep] = np.arange(int(keep.sum()))
    nonzero = keep[block.row]
    upper = block.upper if upper is None else upper
    return dataclasses.replace(
        block,
        keys=block.keys[keep].reset_index(drop=True),
        row=local[block.row[nonzero]],
        col=block.col[nonzero],
        coef=block.coef[nonzero],
        upper=upper[keep],
    )


def restricted(formulation: Formulation, free: np.ndarray, x: np.ndarray) -> Formulation:
    """The model on the ``free`` columns with every other column fixed at ``x``: each row's
    right-hand side less the fixed columns' use, rows with no free column dropped (``x``
    keeps them: the caller checks the whole plan), the fixed columns' cost in the constant."""
    fixed = ~free
    index = np.full(len(free), -1, dtype=np.int64)
    index[free] = np.arange(int(free.sum()))
    blocks = []
    for block in formulation.blocks:
        on_fixed = fixed[block.col]
        used = np.bincount(block.row[on_fixed], weights=block.coef[on_fixed] * x[block.col[on_fixed]], minlength=block.size)
        keep = np.zeros(block.size, dtype=bool)
        keep[block.row[~on_fixed]] = True
        trimmed = dataclasses.replace(block, row=block.row[~on_fixed], col=block.col[~on_fixed], coef=block.coef[~on_fixed])
        kept = _rows_kept(trimmed, keep, upper=block.upper - used)
        blocks.append(dataclasses.replace(kept, col=index[kept.col]))
    return dataclasses.replace(
        formulation,
        variables=formulation.variables[free].reset_index(drop=True),
        objective=formulation.objective[free],
        constant=float(formulation.constant + formulation.objective[fixed] @ x[fixed]),
        lower=formulation.lower[free],
        blocks=blocks,
    )


def repair_columns(formulation: Formulation, masks: list[np.ndarray]) -> np.ndarray:
    """The columns the repair may change: every column of a patient on a linking row, but the
    starts of patients who may bridge (their pathway-1 or -3 start stays as the pieces chose
    it; only the interim entry before it, and its stay, may go)."""
    patient = formulation.variables["patient"].to_numpy()
    stage = stage_of(formulation.variables)
    on_link = np.zeros(len(patient), dtype=bool)
    for block, mask in zip(formulation.blocks, masks):
        on_link[block.col[mask[block.row]]] = True
    touching = np.zeros(int(patient.max()) + 1, dtype=bool)
    touching[patient[on_link]] = True
    bridging = np.zeros_like(touching)
    bridging[patient[stage == INTERIM]] = True
    return touching[patient] & ~((stage == DIRECT) & bridging[patient])


def split_solve(part, policy, tuning, cancel: Cancellation, share: float, solve_pieces, search_plan, lp) -> SolveResult:
    """Solve a joined part in ``share`` seconds as the module doc says, from its LP ``lp``
    (solved: the multipliers): the pieces of the Lagrangian model by ``solve_pieces`` (the
    solve by parts: the bound, and a plan of the pieces), the repair, then the search by
    ``search_plan`` (``(model, x, bound, seconds) -> (x, SearchReport)``: every thread
    searching); the caller keeps the part's start if it is better."""
    began = time.perf_counter()
    model = part.model
    masks = linking_rows(model)
    lagrangian, shift = relaxed(model, lp.duals, masks)
    inner_tuning = dataclasses.replace(tuning, parts=dataclasses.replace(tuning.parts, joined="plain"))
    pieces_time = max(share * PIECES_END - (time.perf_counter() - began), 0.05)
    options = policy.options.replace(time_limit=pieces_time, warm_start=part.start, work_limit=None, on_progress=None)
    pieces = solve_pieces(lagrangian, policy.route, options, cancel, polish=policy.polish, tuning=inner_tuning)
    bound = max(pieces.bound + shift, lp.objective)
    x = pieces.x if pieces.x is not None else part.start
    if x is not None:
        x = _repaired(model, x, masks, policy, max(share * REPAIR_SHARE, 0.05), cancel)
    x = _better(model, x, part.start)
    if x is None:
        return SolveResult(Status.FEASIBLE, None, float("inf"), bound, "split", time.perf_counter() - began)
    value = model.value(x)
    search = None
    left = share - (time.perf_counter() - began)
    if value > bound + TOLERANCE and policy.polish and left > 0.05:
        x, search = search_plan(model, x, bound, left)
        value = model.value(x)
    optimal = value <= bound + 1e-9 * max(1.0, abs(value))
    return SolveResult(
        Status.OPTIMAL if optimal else Status.FEASIBLE,
        x,
        value,
        min(bound, value),
        f"split+{policy.route.name}",
        time.perf_counter() - began,
        "optimal" if optimal else "split at the interim beds: Lagrangian bound, repaired plan, search",
        Termination.OPTIMAL if optimal else Termination.TIME_LIMIT,
        search=search,
    )


def _repaired(model: Formulation, x: np.ndarray, masks, policy, seconds: float, cancel: Cancellation) -> np.ndarray | None:
    """The pieces' plan made feasible on the linking rows: the repair MILP (module doc) from a
    start with no interim entry and no pathway-2 start on the free columns, if that start is
    feasible (a pinned row can forbid it; the route then starts from nothing)."""
    x = np.round(np.asarray(x, dtype=float))
    if not model.violations(x):
        return x
    free = repair_columns(model, masks)
    sub = restricted(model, free, x)
    start = x.copy()
    start[free] = 0.0  # complete_stays sets the bridging patients' states again from their fixed starts
    start = complete_stays(model.variables, start)
    start_free = start[free] if not sub.violations(start[free]) else None
    options = policy.options.replace(time_limit=seconds, threads=1, warm_start=start_free, work_limit=None, on_progress=None)
    result = policy.route.solve(sub, options, cancel)
    chosen = result.x if result.x is not None else start_free
    if chosen is None:
        return None
    y = x.copy()
    y[free] = np.round(chosen)
    y = complete_stays(model.variables, y)
    return y if not model.violations(y) else None


def _better(model: Formulation, x: np.ndarray | None, start: np.ndarray | None) -> np.ndarray | None:
    if x is None:
        return start
    if start is None:
        return x
    return x if model.value(x) <= model.value(start) else start
