"""Lengths of stay: how long a placement holds its place, and what is left of an occupant's.

A stay L (days) is lognormal (from its median and mean: mu = ln median,
sigma^2 = 2 ln(mean / median)), exponential, or fixed. A place taken on day t is held on
days t .. t + ceil(L) - 1.

Occupants already in a place on day 0 have a remaining stay R drawn from the equilibrium
residual of L, P(R > u) = (1 / E[L]) * integral_u^inf P(L > v) dv. R has the density
P(L > u) / E[L], which is that of U * L' with U uniform on (0, 1) and L' the
length-biased L (density v f(v) / E[L]); so R is drawn as U * L':

- lognormal(mu, sigma): L' is lognormal(mu + sigma^2, sigma);
- exponential(m): L' is gamma(2, m), and U * L' is again exponential(m);
- fixed(c): L' = c, R is uniform on (0, c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Stay:
    distribution: str  # "lognormal", "exponential" or "fixed"
    mean: float
    median: float | None = None  # lognormal
    days: float | None = None  # fixed

    @property
    def sigma(self) -> float:
        return math.sqrt(2.0 * math.log(self.mean / self.median))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n stays L (days, > 0)."""
        if self.distribution == "lognormal":
            return rng.lognormal(math.log(self.median), self.sigma, n)
        if self.distribution == "exponential":
            return rng.exponential(self.mean, n)
        return np.full(n, float(self.days))

    def draw_residual(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n remaining stays R of occupants in equilibrium (module doc)."""
        u = rng.random(n)
        if self.distribution == "lognormal":
            sigma = self.sigma
            return u * rng.lognormal(math.log(self.median) + sigma * sigma, sigma, n)
        if self.distribution == "exponential":
            return u * rng.gamma(2.0, self.mean, n)
        return u * float(self.days)

    def as_dict(self) -> dict:
        if self.distribution == "lognormal":
            return {"distribution": "lognormal", "median": self.median, "mean": self.mean}
        if self.distribution == "exponential":
            return {"distribution": "exponential", "mean": self.mean}
        return {"distribution": "fixed", "days": self.days}


def lognormal(median: float, mean: float) -> Stay:
    if mean == median:
        return fixed(median)
    return Stay("lognormal", float(mean), median=float(median))


def exponential(mean: float) -> Stay:
    return Stay("exponential", float(mean))


def fixed(days: float) -> Stay:
    return Stay("fixed", float(days), days=float(days))
