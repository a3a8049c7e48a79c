"""Admissions (rule 6): a service takes at most max_admissions_per_day new starts a day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE
from optimiser.data.snapshot import Snapshot
from optimiser.model.families.base import Family, Room, moves, names
from optimiser.model.rows import RowBlock, per_day_rows
from optimiser.model.rules import cumulative_capacity


def admission_limits(snapshot: Snapshot) -> np.ndarray:
    """max_admissions_per_day per service, inf where there is no limit."""
    return np.nan_to_num(snapshot.services["max_admissions_per_day"].to_numpy(dtype=float), nan=np.inf)


class AdmissionsRoom(Room):
    """Starts left per service and day: the limit less the starts taken."""

    def __init__(self, snapshot: Snapshot, placed: pd.DataFrame) -> None:
        self.snapshot = snapshot
        admitted = np.zeros((len(snapshot.services), snapshot.horizon))
        placed = placed[moves(placed)]
        np.add.at(admitted, (placed["service"].to_numpy(), placed["day"].to_numpy()), 1)
        self.left = admission_limits(snapshot)[:, None] - admitted

    def fits(self, p, service, day):
        return self.left[service, day] >= 1 - TOLERANCE

    def take(self, p, service, day):
        self.left[service, day] -= 1

    def why(self, p, service, day):
        return ["" if ok else "admission limit reached" for ok in self.fits(p, service, day)]

    def reason(self, p, service, day, open_before):
        ids = self.snapshot.services["service_id"].to_numpy()
        limited = names(np.unique(ids[service[open_before]]))
        return f"admissions: daily admission limits of {limited} are reached on the days there is room"


class Admissions(Family):
    name = "admissions"
    cause = "admissions"

    def rows(self, snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
        """Admissions (rule 6): at most max_admissions_per_day(s) starts a day.

            sum_p x[p, s, d] <= max_admissions_per_day(s)     for services s with a limit, days d

        Written only where more triples than the limit start at (s, d). v2: interim
        entries count as admissions too (the sum is over x and z).
        """
        limit = snapshot.services["max_admissions_per_day"].to_numpy(dtype=float)
        counted = np.flatnonzero(moves(variables))
        block, row_service, row_day = per_day_rows(
            "admissions",
            variables["service"].to_numpy()[counted],
            variables["day"].to_numpy()[counted],
            len(limit),
            snapshot.horizon,
            limit,
        )
        block.col = counted[block.col]
        block.keys = pd.DataFrame(
            {
                "service_id": snapshot.services["service_id"].to_numpy()[row_service],
                "date": snapshot.date_of(row_day).to_numpy(),
            }
        )
        return block

    def room(self, snapshot: Snapshot, placed: pd.DataFrame) -> Room:
        return AdmissionsRoom(snapshot, placed)

    def check_pinned(self, snapshot: Snapshot, pinned: pd.DataFrame, problems: ProblemList) -> None:
        """At most the limit of pinned starts at a service on one day."""
        services = snapshot.services
        s, d = pinned["service"].to_numpy(), pinned["day"].to_numpy()
        limit = services["max_admissions_per_day"].to_numpy()
        admitted = np.zeros((len(services), snapshot.horizon))
        np.add.at(admitted, (s, d), 1)
        for service, day in zip(*np.nonzero(admitted > np.nan_to_num(limit, nan=np.inf)[:, None])):
            for line in pinned.loc[(s == service) & (d == day), LINE]:
                problems.add(
                    "pinned.csv",
                    int(line),
                    "service_id",
                    services["service_id"].iat[service],
                    f"breaks rule 6 (admissions): more than {int(limit[service])} pinned admissions on "
                    f"{snapshot.date_of([day])[0]}; move or unpin one",
                )

    def start_intervals(self, snapshot: Snapshot, triples: pd.DataFrame) -> None:
        return None  # a per-day row, but ``days_kept`` accounts for it

    def days_kept(self, snapshot: Snapshot, triples: pd.DataFrame) -> np.ndarray:
        """With at most m starts a day at s, p's first ceil(N / m) days of an interval
        suffice, N the patients that could start at s (those with triples there, and at
        most Cap(s, D-1) / smallest use): were p to start later, those days hold at least
        N admission slots, the others fill at most N - 1, and p could move to a free one
        at lower cost. No limit: one day; a limit of 0: none."""
        patient = triples["patient"].to_numpy()
        service = triples["service"].to_numpy()
        limit = snapshot.services["max_admissions_per_day"].to_numpy(dtype=float)
        capacity = cumulative_capacity(snapshot)
        candidates = pd.Series(patient).groupby(service).nunique()
        smallest_use = pd.Series(triples["use"].to_numpy()).groupby(service).min()
        per_service = np.zeros(len(limit))
        index = candidates.index.to_numpy()
        fit = np.floor(capacity[index, -1] / smallest_use.loc[index].to_numpy() + TOLERANCE)
        per_service[index] = np.minimum(candidates.to_numpy(), fit)
        with np.errstate(divide="ignore", invalid="ignore"):
            keep_days = np.where(np.isnan(limit), 1, np.ceil(per_service / limit))
        return np.where(limit == 0, 0, keep_days)
