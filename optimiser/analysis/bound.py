"""How good a plan is: a proven lower bound on a snapshot's best objective, stronger than
the solve's own where home care has time-of-day bands (``solve/pricing.py``: the model
bounded piece by piece, band services by column generation). It takes minutes, not seconds:
an analysis to run beside the daily plan, not part of it (``optimiser bound``)."""

from __future__ import annotations

from optimiser.data.snapshot import Snapshot
from optimiser.model.formulation import build_formulation
from optimiser.solve.cancel import Cancellation
from optimiser.solve.pricing import DecomposedBound, decomposed_bound


def proven_bound(
    snapshot: Snapshot, time_limit: float = 600.0, threads: int = 1, cancel: Cancellation | None = None
) -> DecomposedBound:
    """A lower bound on the objective of every feasible plan of ``snapshot`` (section 4, with
    v2's terms), found in about ``time_limit`` seconds on ``threads`` threads."""
    return decomposed_bound(build_formulation(snapshot), time_limit=time_limit, threads=threads, cancel=cancel)
