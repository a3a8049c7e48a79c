"""Capacity (rule 5): a placement holds its place (a bed, or carer-hours a day) from its
start to the end of the horizon, so capacity is cumulative."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE
from optimiser.data.snapshot import Snapshot
from optimiser.model.families.base import DIRECT, INTERIM, STAY, Family, Room, departures, entries, names, stage_of, starts
from optimiser.model.rows import RowBlock, cumulative_rows, integral
from optimiser.model.rules import cumulative_capacity, suffix_min


def unit_of(snapshot: Snapshot, p: int, plural_beds: bool = False) -> str:
    if snapshot.patients["pathway"].iat[p] == 1:
        return "carer-hours a day"
    return "beds" if plural_beds else "bed"


class CapacityRoom(Room):
    """Capacity left: ``slack[s, d]`` = Cap(s, d) - use started by day d; a start on day d
    holds its place on every later day, so it fits where the least slack from d on
    (``floor``) is at least its use."""

    def __init__(self, snapshot: Snapshot, placed: pd.DataFrame) -> None:
        self.snapshot = snapshot
        self.use = snapshot.patients["use"].to_numpy()
        used = np.zeros((len(snapshot.services), snapshot.horizon))
        x, z, freed = starts(placed), entries(placed), departures(placed)
        np.add.at(used, (x["service"].to_numpy(), x["day"].to_numpy()), self.use[x["patient"].to_numpy()])
        np.add.at(used, (z["service"].to_numpy(), z["day"].to_numpy()), 1.0)  # v2: an interim bed, from entry
        np.add.at(used, (freed["service"].to_numpy(), freed["day"].to_numpy()), -1.0)  # ... to the onward start
        self.slack = cumulative_capacity(snapshot) - np.cumsum(used, axis=1)
        self.floor = suffix_min(self.slack)

    def fits(self, p, service, day):
        return self.floor[service, day] >= self.use[p] - TOLERANCE

    def take(self, p, service, day):
        self._hold(service, day, self.use[p])

    def fits_entry(self, p, service, day):
        return self.floor[service, day] >= 1 - TOLERANCE

    def enter(self, p, service, day):
        self._hold(service, day, 1.0)

    def leave(self, p, service, day):
        self._hold(service, day, -1.0)

    def why_entry(self, p, service, day):
        free = self.floor[service, day]
        return [
            "" if ok else f"capacity: {max(room, 0):g} beds free (the least from this day on), needs 1"
            for ok, room in zip(self.fits_entry(p, service, day), free)
        ]

    def _hold(self, service: int, day: int, amount: float) -> None:
        self.slack[service, day:] -= amount
        self.floor[service] = suffix_min(self.slack[service])

    def why(self, p, service, day):
        use, unit = self.use[p], unit_of(self.snapshot, p, plural_beds=True)
        free = self.floor[service, day]
        return [
            "" if ok else f"capacity: {max(room, 0):g} {unit} free (the least from this day on), needs {use:g}"
            for ok, room in zip(self.fits(p, service, day), free)
        ]

    def reason(self, p, service, day, open_before):
        snapshot = self.snapshot
        ids = snapshot.services["service_id"].to_numpy()
        last = snapshot.date_of([snapshot.horizon - 1])[0]
        if snapshot.patients["pathway"].iat[p] != 1:
            return f"capacity: no bed free at {names(np.unique(ids[service]))} through {last} after the plan's placements"
        order = np.argsort(service, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(service[order]) != 0])
        most = np.maximum.reduceat(self.floor[service, day][order], starts)  # per service, in service order
        room = [f"{ids[s]} {max(free, 0):g}" for s, free in zip(service[order][starts], most)]
        return (
            f"capacity: needs {self.use[p]:g} carer-hours a day; the most free through {last} after the plan's placements: "
            f"{names(room)}"
        )


class Capacity(Family):
    name = "capacity"
    cause = "capacity"
    alone_rank = 1

    def rows(self, snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
        """Capacity (rule 5), cumulative because a placement holds its place:

            sum_{p, d' <= d} use(p, s) * x[p, s, d'] <= Cap(s, d)     for services s, days d

        with use = care_hours * carers (pathway 1) or 1 (beds), Cap(s, d) the
        amounts arrived by day d. Written only on breakpoint days (the last day,
        and days just before new capacity arrives: the others are implied), and
        only where the eligible use could exceed Cap; rows are then scaled to
        integer coefficients with the right-hand side rounded down (``integral``).
        ``naive=True`` writes every day's row as the contract states it (the
        benchmark baseline).

        v2 (interim stays): a patient in an interim bed of v on day d (w[p, v, d], fixed by
        the entry and the onward start: ``interim.py``) holds one that day, so at v

            sum_{d' <= d} x[., v, d'] + sum_p w[p, v, d] <= Cap(v, d)

        written on every day (the stays' load falls when a patient moves on).
        """
        stage = stage_of(variables)
        start, stay = np.flatnonzero(stage == DIRECT), np.flatnonzero(stage == STAY)
        service, day = variables["service"].to_numpy(), variables["day"].to_numpy()
        point = (service[stay], day[stay], stay, np.ones(len(stay))) if len(stay) else None
        block = cumulative_rows(
            "capacity",
            entity=service[start],
            day=day[start],
            col=start,
            coef=variables["use"].to_numpy(dtype=float)[start],
            cumulative=cumulative_capacity(snapshot),
            naive=naive,
            point=point,
        )
        block.keys = pd.DataFrame(
            {
                "service_id": snapshot.services["service_id"].to_numpy()[block.keys["entity"].to_numpy()],
                "date": snapshot.date_of(block.keys["day"].to_numpy()).to_numpy(),
            }
        )
        return block if naive else integral(block)

    def room(self, snapshot: Snapshot, placed: pd.DataFrame) -> Room:
        return CapacityRoom(snapshot, placed)

    def check_pinned(self, snapshot: Snapshot, pinned: pd.DataFrame, problems: ProblemList) -> None:
        """Pinned use summed by service may not exceed the capacity arrived by any day."""
        services, patients = snapshot.services, snapshot.patients
        s, d, p = pinned["service"].to_numpy(), pinned["day"].to_numpy(), pinned["patient"].to_numpy()
        used = np.zeros((len(services), snapshot.horizon))
        use = np.where(stage_of(pinned) == INTERIM, 1.0, patients["use"].to_numpy()[p])  # v2: an interim bed
        np.add.at(used, (s, d), use)
        over = np.cumsum(used, axis=1) > cumulative_capacity(snapshot) + TOLERANCE
        for service in np.flatnonzero(over.any(axis=1)):
            day = int(np.argmax(over[service]))
            for line in pinned.loc[(s == service) & (d <= day), LINE]:
                problems.add(
                    "pinned.csv",
                    int(line),
                    "service_id",
                    services["service_id"].iat[service],
                    f"breaks rule 5 (capacity): pinned placements exceed the capacity free by "
                    f"{snapshot.date_of([day])[0]}; unpin some or add capacity",
                )

    def alone(self, snapshot: Snapshot):
        """The patient alone needs more than any eligible service ever has free."""
        last = cumulative_capacity(snapshot)[:, -1]
        uses = snapshot.patients["use"].to_numpy()
        ids = snapshot.services["service_id"].to_numpy()

        def reason(p: int, services: np.ndarray) -> str | None:
            use, most = uses[p], last[services]
            if not (most < use - TOLERANCE).all():
                return None
            return (
                f"capacity: needs {use:g} {unit_of(snapshot, p)}; eligible services {names(ids[services])} "
                f"have at most {most.max():g} free in the horizon"
            )

        return reason

    def start_intervals(self, snapshot: Snapshot, triples: pd.DataFrame) -> np.ndarray:
        """Cap(s, .) changes: the count of days so far on which new capacity arrived."""
        capacity = cumulative_capacity(snapshot)
        changes = np.zeros_like(capacity, dtype=np.int64)
        changes[:, 1:] = np.cumsum(capacity[:, 1:] > capacity[:, :-1] + TOLERANCE, axis=1)
        return changes[triples["service"].to_numpy(), triples["day"].to_numpy()]
