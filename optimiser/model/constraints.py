"""One function per constraint family of contract section 3, each returning a RowBlock.

Every row is ``sum coef * x <= upper``; x[p, s, d] are the eligible triples
(``eligibility.py``). Rows that can never bind are not written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.snapshot import Snapshot
from optimiser.model.rules import breakpoint_days, cumulative_capacity, cumulative_stock, equipment_needs


@dataclass
class RowBlock:
    """Rows of one family: ``keys`` has one row per constraint (what it is about);
    nonzeros are (``row`` local to the block, ``col`` variable, ``coef``)."""

    family: str
    keys: pd.DataFrame
    row: np.ndarray
    col: np.ndarray
    coef: np.ndarray
    upper: np.ndarray
    scale: float = 1.0  # rows were multiplied by this (``_integral``): one unit of right-hand side is ``scale``

    @property
    def size(self) -> int:
        return len(self.upper)

    def names(self) -> list[str]:
        """Row names ``family[key,...]``, e.g. ``capacity[S12,2026-11-30]``."""
        columns = [self.keys[c].astype(str) for c in self.keys.columns]
        if not columns:
            return [f"{self.family}[{i}]" for i in range(self.size)]
        joined = columns[0]
        for column in columns[1:]:
            joined = joined + "," + column
        return (self.family + "[" + joined + "]").tolist()


def define_assignment(snapshot: Snapshot, variables: pd.DataFrame) -> RowBlock:
    """Assignment: each patient starts at most once.

        sum_{s, d} x[p, s, d] <= 1        for every patient p with two or more triples

    (a patient with one triple needs no row: x <= 1 is its bound).
    """
    patient = variables["patient"].to_numpy()
    counts = np.bincount(patient, minlength=len(snapshot.patients))
    rows_of = np.flatnonzero(counts >= 2)
    local = np.full(len(counts), -1)
    local[rows_of] = np.arange(len(rows_of))
    in_row = local[patient] >= 0
    keys = pd.DataFrame({"patient_id": snapshot.patients["patient_id"].to_numpy()[rows_of]})
    return RowBlock(
        "assignment",
        keys,
        local[patient][in_row],
        np.flatnonzero(in_row),
        np.ones(int(in_row.sum())),
        np.ones(len(rows_of)),
    )


def define_capacity(snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
    """Capacity (rule 5), cumulative because a placement holds its place:

        sum_{p, d' <= d} use(p, s) * x[p, s, d'] <= Cap(s, d)     for services s, days d

    with use = care_hours * carers (pathway 1) or 1 (beds), Cap(s, d) the
    amounts arrived by day d. Written only on breakpoint days (the last day,
    and days just before new capacity arrives: the others are implied), and
    only where the eligible use could exceed Cap; rows are then scaled to
    integer coefficients with the right-hand side rounded down (``_integral``).
    ``naive=True`` writes every day's row as the contract states it (the
    benchmark baseline).
    """
    cumulative = cumulative_capacity(snapshot)
    block = _cumulative_rows(
        "capacity",
        entity=variables["service"].to_numpy(),
        day=variables["day"].to_numpy(),
        col=np.arange(len(variables)),
        coef=variables["use"].to_numpy(dtype=float),
        cumulative=cumulative,
        naive=naive,
    )
    block.keys = pd.DataFrame(
        {
            "service_id": snapshot.services["service_id"].to_numpy()[block.keys["entity"].to_numpy()],
            "date": snapshot.date_of(block.keys["day"].to_numpy()).to_numpy(),
        }
    )
    return block if naive else _integral(block)


def _integral(block: RowBlock) -> RowBlock:
    """Scale the rows to integer coefficients and round the right-hand side down.

    With x binary the left side is then an integer, so flooring the right side
    keeps every integer solution and cuts off fractional ones (e.g. 2.5 free
    beds admit 2 patients). If a coefficient is not a small-denominator
    rational, the block is left as it is.
    """
    from optimiser.model.scaling import ScalingError, integer_multiplier

    if block.size == 0:
        return block
    try:
        multiplier = integer_multiplier(block.coef)
    except ScalingError:
        return block
    block.coef = np.round(block.coef * multiplier)
    block.upper = np.floor(block.upper * multiplier + TOLERANCE)
    block.scale = float(multiplier)
    return block


def define_admissions(snapshot: Snapshot, variables: pd.DataFrame) -> RowBlock:
    """Admissions (rule 6): at most max_admissions_per_day(s) starts a day.

        sum_p x[p, s, d] <= max_admissions_per_day(s)     for services s with a limit, days d

    Written only where more triples than the limit start at (s, d).
    """
    limit = snapshot.services["max_admissions_per_day"].to_numpy(dtype=float)
    service = variables["service"].to_numpy()
    day = variables["day"].to_numpy()
    horizon = snapshot.horizon
    code = service * horizon + day
    counts = np.bincount(code, minlength=len(limit) * horizon).reshape(len(limit), horizon)
    needed = counts > np.nan_to_num(limit, nan=np.inf)[:, None]
    row_code = np.flatnonzero(needed.ravel())
    local = np.full(len(limit) * horizon, -1)
    local[row_code] = np.arange(len(row_code))
    in_row = local[code] >= 0
    row_service, row_day = np.divmod(row_code, horizon)
    keys = pd.DataFrame(
        {
            "service_id": snapshot.services["service_id"].to_numpy()[row_service],
            "date": snapshot.date_of(row_day).to_numpy(),
        }
    )
    return RowBlock(
        "admissions",
        keys,
        local[code][in_row],
        np.flatnonzero(in_row),
        np.ones(int(in_row.sum())),
        limit[row_service],
    )


def define_equipment(snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
    """Equipment (rule 7), cumulative per store g, item i, day d:

        sum_{p needs i, store(p) = g} sum_{s, d' <= d} x[p, s, d'] <= Stock(g, i, d)

    Stock(g, i, d) = units arrived by day d. Breakpoint days only, as for capacity.
    """
    needs = equipment_needs(snapshot)
    needs = needs[needs["key"] >= 0]
    keys, stock = cumulative_stock(snapshot)
    per_variable = pd.DataFrame({"col": np.arange(len(variables)), "patient": variables["patient"].to_numpy()})
    per_variable = per_variable.merge(needs[["patient", "key"]], on="patient").sort_values(["key", "col"], kind="stable")
    col = per_variable["col"].to_numpy()
    block = _cumulative_rows(
        "equipment",
        entity=per_variable["key"].to_numpy(),
        day=variables["day"].to_numpy()[col],
        col=col,
        coef=np.ones(len(col)),
        cumulative=stock,
        naive=naive,
    )
    entity = block.keys["entity"].to_numpy()
    block.keys = pd.DataFrame(
        {
            "store": keys["store"].to_numpy()[entity],
            "item": keys["item"].to_numpy()[entity],
            "date": snapshot.date_of(block.keys["day"].to_numpy()).to_numpy(),
        }
    )
    return block


def define_pinned(snapshot: Snapshot, variables: pd.DataFrame) -> np.ndarray:
    """Pinned (rule 8): x[p, s, d] = 1 for every pinned row, as a lower bound of 1.

    Returns the variables' lower bounds. (The pinned patient's other triples
    were already left out of the model by ``eligible_triples``.)
    """
    from optimiser.model.eligibility import pinned_triples

    lower = np.zeros(len(variables))
    if snapshot.pinned.empty:
        return lower
    pinned = pinned_triples(snapshot)
    located = (
        variables[["patient", "service", "day"]]
        .reset_index(drop=True)
        .reset_index()
        .merge(pinned, on=["patient", "service", "day"])
    )
    if len(located) != len(pinned):
        raise AssertionError("a pinned row has no eligible triple; validation should have caught it")
    lower[located["index"].to_numpy()] = 1.0
    return lower


def _cumulative_rows(family, entity, day, col, coef, cumulative, naive: bool = False) -> RowBlock:
    """Rows sum_{d' <= b} coef * x <= cumulative[entity, b] on each breakpoint day b.

    A nonzero at day d enters every breakpoint row of its entity with b >= d;
    the breakpoint rows of an entity are numbered consecutively, so these are
    the rows first[entity, d] .. last[entity].
    """
    breakpoints = np.ones_like(cumulative, dtype=bool) if naive else breakpoint_days(cumulative)
    bp_entity, bp_day = np.nonzero(breakpoints)  # sorted by entity, then day
    number = np.cumsum(breakpoints.ravel()).reshape(breakpoints.shape) - breakpoints  # index of first bp >= d
    remaining = np.cumsum(breakpoints[:, ::-1], axis=1)[:, ::-1]  # count of bps >= d
    first = number[entity, day]
    count = remaining[entity, day]
    rows = np.repeat(first, count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
    cols = np.repeat(col, count)
    coefs = np.repeat(coef, count)
    upper = cumulative[bp_entity, bp_day]
    load = np.bincount(rows, weights=coefs, minlength=len(upper))
    binding = np.ones(len(upper), dtype=bool) if naive else load > upper + TOLERANCE
    local = np.full(len(upper), -1)
    local[binding] = np.arange(int(binding.sum()))
    keep = local[rows] >= 0
    keys = pd.DataFrame({"entity": bp_entity[binding], "day": bp_day[binding]})
    return RowBlock(family, keys, local[rows][keep], cols[keep], coefs[keep], upper[binding])
