"""The standard objective's cost terms (contract section 4)."""

from __future__ import annotations

import numpy as np

from optimiser.data.schema import Weights


def delay_cost(priority, ready_day, start_day, weights: Weights) -> np.ndarray:
    """delay(p, d) = priority * sum_{k = max(0, -r)}^{d - r - 1} f(k), f(k) = 1 + k / w.

    With a = max(0, -r) and n = d - max(r, 0) terms (0 if negative), the sum is
    n + (n * a + n * (n - 1) / 2) / w: days already waited are sunk but make
    each further day dearer.
    """
    priority = np.asarray(priority, dtype=float)
    ready = np.asarray(ready_day, dtype=float)
    start = np.asarray(start_day, dtype=float)
    first = np.maximum(0.0, -ready)
    terms = np.maximum(start - np.maximum(ready, 0.0), 0.0)
    return priority * (terms + (terms * first + terms * (terms - 1.0) / 2.0) / weights.wait_growth_days)


def unplaced_cost(priority, ready_day, horizon: int, weights: Weights) -> np.ndarray:
    """An unplaced patient costs delay(p, D + tail_days)."""
    return delay_cost(priority, ready_day, np.full(np.shape(ready_day), horizon + weights.tail_days), weights)


def placement_cost(priority, ready_day, start_day, minutes, pathway, off_preference, weights: Weights) -> np.ndarray:
    """cost(p, s, d) = delay(p, d) + travel_weight * minutes (pathways 2, 3)
    + preference_penalty where p lists preferred services and s is not one."""
    travel = np.where(np.asarray(pathway) == 1, 0.0, weights.travel_weight * np.asarray(minutes, dtype=float))
    preference = weights.preference_penalty * np.asarray(off_preference, dtype=float)
    return delay_cost(priority, ready_day, start_day, weights) + travel + preference


def interim_cost(priority, ready_day, entry_day, minutes, horizon: int, weights: Weights) -> np.ndarray:
    """v2, an interim entry on day d with no onward start (d' = D + tail_days): the acute
    days to d, interim_weight times the delay from d to d', the move penalty and the travel:

        delay(p, d) + interim_weight * (delay(p, D + tail) - delay(p, d)) + move_penalty + travel_weight * minutes
    """
    acute = delay_cost(priority, ready_day, entry_day, weights)
    tail = unplaced_cost(priority, ready_day, horizon, weights)
    return (
        acute
        + weights.interim_weight * (tail - acute)
        + weights.move_penalty
        + weights.travel_weight * np.asarray(minutes, dtype=float)
    )
