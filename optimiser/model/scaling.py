"""Exact integer scaling of rows and objective, for routes that need integer data (CP-SAT).

Every coefficient of the contract is a rational with a small denominator
(carer-hours such as 0.75, costs with 1 / (2 * wait_growth_days) and
travel_weight * minutes). Each row is multiplied by the least common multiple
of its coefficients' denominators, its right-hand side rounded down (valid
because the left side is then an integer); the objective is multiplied by the
LCM of its denominators so that the integer optimum, divided back, is the
contract's optimum.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

MAX_DENOMINATOR = 10**6
MAX_MULTIPLIER = 10**9
EXACT = 1e-12  # how near k * v must be to an integer


class ScalingError(ValueError):
    """A coefficient is not a rational with a small denominator."""


def integer_multiplier(values: np.ndarray) -> int:
    """Least k >= 1 such that k * v is (within 1e-9) an integer for every v."""
    multiplier = 1
    for value in np.unique(np.asarray(values, dtype=float)):
        fraction = Fraction(float(value)).limit_denominator(MAX_DENOMINATOR)
        if abs(float(fraction) - value) > EXACT * max(1.0, abs(value)):
            raise ScalingError(f"{value!r} is not a ratio of small integers")
        multiplier = math.lcm(multiplier, fraction.denominator)
        if multiplier > MAX_MULTIPLIER:
            raise ScalingError("the coefficients need a common multiplier over 10^9 to become integers")
    return multiplier


def scale_rows(matrix: sp.csr_matrix, upper: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rows multiplied to integer coefficients (each row by the least common multiple of its
    coefficients' denominators); right-hand sides floored.

    Vectorised: each distinct coefficient is turned into a fraction once, and a row's
    multiplier is the LCM of its distinct denominators (one ``math.lcm`` per distinct set).
    A search sets this up for every part it searches: on a simulated ics-v2 day's 3,443
    rows it takes 0.8 ms where the loop over rows took 42 ms (benchmarks/README.md, "Ninth
    session")."""
    matrix = matrix.tocsr()
    rows = matrix.shape[0]
    factors = np.ones(rows)
    data = matrix.data
    fractional = np.abs(data - np.round(data)) > EXACT * np.maximum(1.0, np.abs(data))
    if fractional.any():
        values, which = np.unique(data[fractional], return_inverse=True)
        denominators = np.array([integer_multiplier(np.array([value])) for value in values], dtype=np.int64)
        row_of = np.repeat(np.arange(rows), np.diff(matrix.indptr))[fractional]
        pairs = np.unique(np.stack([row_of, denominators[which]], axis=1), axis=0)  # (row, denominator), sorted
        bounds = np.flatnonzero(np.diff(pairs[:, 0], prepend=-1, append=rows + 1))
        known: dict[tuple[int, ...], int] = {}
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            key = tuple(pairs[lo:hi, 1].tolist())
            if key not in known:
                known[key] = math.lcm(*key)
                if known[key] > MAX_MULTIPLIER:
                    raise ScalingError("the coefficients need a common multiplier over 10^9 to become integers")
            factors[pairs[lo, 0]] = known[key]
    scaled = sp.diags(factors) @ matrix
    scaled.data = np.round(scaled.data)
    return scaled.tocsr(), np.floor(upper * factors + EXACT)


def scale_objective(objective: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer objective coefficients and the multiplier used."""
    multiplier = integer_multiplier(objective)
    return np.round(objective * multiplier).astype(np.int64), multiplier
