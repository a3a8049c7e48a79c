"""The exact dominated-day reduction: start days no optimal plan uses, dropped before the
model is built."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.data.snapshot import Snapshot
from optimiser.model.families import Family


def drop_dominated_days(
    snapshot: Snapshot, triples: pd.DataFrame, families: tuple[Family, ...], basis: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Drop start days that no optimal plan uses (an exact reduction).

    Call an *interval* of (p, s) a run of days on which no family's rows for p at s
    change (``Family.start_intervals``: for capacity, Cap(s, .) grows; for
    equipment, the stock of an item p needs grows). Moving p's start earlier
    within an interval keeps every cumulative row (the load at the earlier days
    is at most the load at the later day, and the right-hand side is the same),
    and strictly lowers its cost (delay grows with d). So only p's first day in
    each interval can be optimal, or its first ``Family.days_kept`` days where a
    per-day row (admissions) allows only so many starts a day. A family with
    other per-day rows gives a label per day, so that none of its days is dropped.

    ``basis``: when ``triples`` is one part of the candidates (pairs taken a part at a
    time, to bound memory), the (patient, service, use) of all of them, from which the
    families count what ``days_kept`` needs; default ``triples`` itself.
    """
    if triples.empty:
        return triples
    labels = {"patient": triples["patient"].to_numpy(), "service": triples["service"].to_numpy()}
    kept = None
    for family in families:
        interval = family.start_intervals(snapshot, triples)
        if interval is not None:
            labels[family.name] = interval
        days = family.days_kept(snapshot, triples if basis is None else basis)
        if days is not None:
            days = days[labels["service"]]
            kept = days if kept is None else np.maximum(kept, days)
    if kept is None:
        kept = np.ones(len(triples))
    rank = pd.DataFrame(labels).groupby(list(labels), sort=False).cumcount().to_numpy()
    return triples[rank < kept]
