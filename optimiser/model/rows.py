"""Rows of the model: the ``RowBlock`` every family returns, and the helpers that build
cumulative rows and scale them to integers.

Every row is ``sum coef * x <= upper``; x[p, s, d] are the eligible triples
(``eligibility.py``). Rows that can never bind are not written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.model.rules import breakpoint_days
from optimiser.model.scaling import ScalingError, integer_multiplier


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
    scale: float = 1.0  # rows were multiplied by this (``integral``): one unit of right-hand side is ``scale``

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


def integral(block: RowBlock) -> RowBlock:
    """Scale the rows to integer coefficients and round the right-hand side down.

    With x binary the left side is then an integer, so flooring the right side
    keeps every integer solution and cuts off fractional ones (e.g. 2.5 free
    beds admit 2 patients). A right-hand side within ``TOLERANCE`` below a multiple
    counts as it (2.4999999999996 carer-hours, a sum's rounding, admit 2.5), as every
    family's room counts it. If a coefficient is not a small-denominator rational, the
    block is left as it is.
    """
    if block.size == 0:
        return block
    try:
        multiplier = integer_multiplier(block.coef)
    except ScalingError:
        return block
    block.coef = np.round(block.coef * multiplier)
    block.upper = np.floor((block.upper + TOLERANCE) * multiplier)  # the rooms' tolerance, in the row's own units
    block.scale = float(multiplier)
    return block


def cumulative_rows(family, entity, day, col, coef, cumulative, naive: bool = False, point=None) -> RowBlock:
    """Rows sum_{d' <= b} coef * x <= cumulative[entity, b] on each breakpoint day b.

    A nonzero at day d enters every breakpoint row of its entity with b >= d;
    the breakpoint rows of an entity are numbered consecutively, so these are
    the rows first[entity, d] .. last[entity]. Rows that cannot bind (the load of
    every eligible triple fits) are left out, unless ``naive``. ``point``: nonzeros
    (entity, day, col, coef) that enter only their own day's row (a bed held on that day,
    v2's interim stays); their entities' rows are written on every day, since their load
    can fall from one day to the next.
    """
    breakpoints = np.ones_like(cumulative, dtype=bool) if naive else breakpoint_days(cumulative)
    if point is not None:
        breakpoints[np.unique(point[0])] = True
    bp_entity, bp_day = np.nonzero(breakpoints)  # sorted by entity, then day
    number = np.cumsum(breakpoints.ravel()).reshape(breakpoints.shape) - breakpoints  # index of first bp >= d
    remaining = np.cumsum(breakpoints[:, ::-1], axis=1)[:, ::-1]  # count of bps >= d
    first = number[entity, day]
    count = remaining[entity, day]
    rows = np.repeat(first, count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
    cols = np.repeat(col, count)
    coefs = np.repeat(coef, count)
    if point is not None:
        point_entity, point_day, point_col, point_coef = point
        rows = np.concatenate([rows, number[point_entity, point_day]])
        cols = np.concatenate([cols, point_col])
        coefs = np.concatenate([coefs, point_coef])
    upper = cumulative[bp_entity, bp_day]
    load = np.bincount(rows, weights=coefs, minlength=len(upper))
    binding = np.ones(len(upper), dtype=bool) if naive else load > upper + TOLERANCE
    local = np.full(len(upper), -1)
    local[binding] = np.arange(int(binding.sum()))
    keep = local[rows] >= 0
    keys = pd.DataFrame({"entity": bp_entity[binding], "day": bp_day[binding]})
    return RowBlock(family, keys, local[rows][keep], cols[keep], coefs[keep], upper[binding])


def per_day_rows(family, entity, day, entities: int, horizon: int, limit: np.ndarray) -> tuple[RowBlock, np.ndarray, np.ndarray]:
    """Rows sum x <= limit[entity] per (entity, day), written only where more triples than
    the limit start there; returns the block (keys ``entity``, ``day``) and each row's
    entity and day."""
    code = entity * horizon + day
    counts = np.bincount(code, minlength=entities * horizon).reshape(entities, horizon)
    needed = counts > np.nan_to_num(limit, nan=np.inf)[:, None]
    row_code = np.flatnonzero(needed.ravel())
    local = np.full(entities * horizon, -1)
    local[row_code] = np.arange(len(row_code))
    in_row = local[code] >= 0
    row_entity, row_day = np.divmod(row_code, horizon)
    keys = pd.DataFrame({"entity": row_entity, "day": row_day})
    block = RowBlock(family, keys, local[code][in_row], np.flatnonzero(in_row), np.ones(int(in_row.sum())), limit[row_entity])
    return block, row_entity, row_day
