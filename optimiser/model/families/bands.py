"""Carer capacity by time of day (rule 5b, contract v2): a pathway-1 placement holds its
carers' hours in each band of the day (morning, lunch, ...) from its start on, so each band
of a service with band rows is a cumulative capacity of its own."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE
from optimiser.data.snapshot import Snapshot
from optimiser.model.families.base import DIRECT, Family, Room, names, stage_of, starts
from optimiser.model.rows import RowBlock, cumulative_rows, integral
from optimiser.model.rules import band_capacity, band_use, suffix_min


def _positions(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """(k of each service: its row in ``band_capacity``, -1 without band rows; the capacity)."""
    services, capacity = band_capacity(snapshot)
    position = np.full(len(snapshot.services), -1)
    position[services] = np.arange(len(services))
    return position, capacity


def _band_terms(snapshot: Snapshot, patient: np.ndarray, service: np.ndarray):
    """For starts (patient[i], service[i]): each (start i, band b) whose use is > 0 at a
    service with band rows, as arrays (i, k, b, use)."""
    position, _ = _positions(snapshot)
    use = band_use(snapshot)
    k = position[service]
    start, band = np.nonzero((k[:, None] >= 0) & (use[patient] > 0))
    return start, k[start], band, use[patient[start], band]


class BandsRoom(Room):
    """Band capacity left: ``slack[k, b, d]`` = Cap_b(k, d) - band-b use started by day d; a
    start fits where, in each band it needs, the least slack from its day on is enough."""

    def __init__(self, snapshot: Snapshot, placed: pd.DataFrame) -> None:
        self.snapshot = snapshot
        self.position, capacity = _positions(snapshot)
        self.use = band_use(snapshot)
        used = np.zeros_like(capacity)
        placed = starts(placed)
        i, k, b, use = _band_terms(snapshot, placed["patient"].to_numpy(), placed["service"].to_numpy())
        np.add.at(used, (k, b, placed["day"].to_numpy()[i]), use)
        self.slack = capacity - np.cumsum(used, axis=2)
        self.floor = (
            suffix_min(self.slack.reshape(-1, snapshot.horizon)).reshape(self.slack.shape) if self.slack.size else self.slack
        )

    def _short(self, p: int, service: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Per start, per band: how much more of the band it needs than is free (<= 0: fits)."""
        service, day = np.asarray(service, dtype=np.int64), np.asarray(day, dtype=np.int64)
        short = np.full((len(service), len(self.snapshot.settings.bands)), -np.inf)
        k = self.position[service]
        has = k >= 0
        if has.any():
            short[has] = self.use[p][None, :] - self.floor[k[has], :, day[has]]
            short[has] = np.where(self.use[p][None, :] > 0, short[has], -np.inf)
        return short

    def fits(self, p, service, day):
        return (self._short(p, service, day) <= TOLERANCE).all(axis=1)

    def take(self, p, service, day):
        k = self.position[service]
        if k < 0:
            return
        self.slack[k, :, day:] -= self.use[p][:, None]
        self.floor[k] = suffix_min(self.slack[k])

    def why(self, p, service, day):
        bands = self.snapshot.settings.bands
        short = self._short(p, service, day)
        k = self.position[service]
        out = []
        for i in range(len(service)):
            blocked = [b for b in range(len(bands)) if short[i, b] > TOLERANCE]
            out.append(
                "; ".join(
                    f"{bands[b]} capacity: {max(self.floor[k[i], b, day[i]], 0):g} carer-hours a day free "
                    f"(the least from this day on), needs {self.use[p, b]:g}"
                    for b in blocked
                )
            )
        return out

    def reason(self, p, service, day, open_before):
        snapshot = self.snapshot
        bands = snapshot.settings.bands
        short = self._short(p, service, day)
        blocked = [bands[b] for b in range(len(bands)) if (short[open_before, b] > TOLERANCE).any()]
        last = snapshot.date_of([snapshot.horizon - 1])[0]
        locality = snapshot.patients["locality"].iat[p]
        return f"bands: no {' or '.join(blocked) or 'band'} capacity at any provider covering {locality} through {last} after the plan's placements"


class Bands(Family):
    name = "bands"
    cause = "bands"
    alone_rank = 2

    def rows(self, snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
        """Band capacity (rule 5b), cumulative as rule 5, for every pathway-1 service s with
        band rows, band b and day d:

            sum_{p, d' <= d} hours_b(p) * carers(p) * x[p, s, d'] <= Cap_b(s, d)

        Cap_b(s, d) = the band-b amounts of s arrived by day d (0 in a band s has no rows
        for). Written on breakpoint days only, where the eligible use could exceed it, and
        scaled to integer coefficients as the capacity rows are. No band rows: no rows (v1).
        """
        position, capacity = _positions(snapshot)
        bands = snapshot.settings.bands
        if capacity.size == 0:
            nothing = np.zeros(0, dtype=np.int64)
            return RowBlock(
                "bands", pd.DataFrame({"service_id": [], "band": [], "date": []}), nothing, nothing, np.zeros(0), np.zeros(0)
            )
        start = np.flatnonzero(stage_of(variables) == DIRECT)  # v2: starts only (entries are to beds)
        i, k, b, use = _band_terms(snapshot, variables["patient"].to_numpy()[start], variables["service"].to_numpy()[start])
        i = start[i]
        entity = k * len(bands) + b
        order = np.lexsort((i, entity))
        block = cumulative_rows(
            "bands",
            entity=entity[order],
            day=variables["day"].to_numpy()[i[order]],
            col=i[order],
            coef=use[order],
            cumulative=capacity.reshape(-1, snapshot.horizon),
            naive=naive,
        )
        services, _ = band_capacity(snapshot)
        k_row, b_row = np.divmod(block.keys["entity"].to_numpy(), len(bands))
        block.keys = pd.DataFrame(
            {
                "service_id": snapshot.services["service_id"].to_numpy()[services[k_row]],
                "band": np.asarray(bands, dtype=object)[b_row],
                "date": snapshot.date_of(block.keys["day"].to_numpy()).to_numpy(),
            }
        )
        return block if naive else integral(block)

    def room(self, snapshot: Snapshot, placed: pd.DataFrame) -> Room:
        return BandsRoom(snapshot, placed)

    def check_pinned(self, snapshot: Snapshot, pinned: pd.DataFrame, problems: ProblemList) -> None:
        """Pinned band use summed by service and band may not exceed the band's capacity
        arrived by any day."""
        position, capacity = _positions(snapshot)
        if capacity.size == 0:
            return
        i, k, b, use = _band_terms(snapshot, pinned["patient"].to_numpy(), pinned["service"].to_numpy())
        used = np.zeros_like(capacity)
        np.add.at(used, (k, b, pinned["day"].to_numpy()[i]), use)
        over = np.cumsum(used, axis=2) > capacity + TOLERANCE
        bands = snapshot.settings.bands
        services, _ = band_capacity(snapshot)
        for kk, bb in zip(*np.nonzero(over.any(axis=2))):
            day = int(np.argmax(over[kk, bb]))
            rows = (k == kk) & (b == bb) & (pinned["day"].to_numpy()[i] <= day)
            for line in pinned[LINE].to_numpy()[i[rows]]:
                problems.add(
                    "pinned.csv",
                    int(line),
                    "service_id",
                    snapshot.services["service_id"].iat[services[kk]],
                    f"breaks rule 5b ({bands[bb]} capacity): pinned placements exceed the {bands[bb]} carer-hours free by "
                    f"{snapshot.date_of([day])[0]}; unpin some or add capacity",
                )

    def alone(self, snapshot: Snapshot):
        """The patient alone needs more of a band than any eligible service ever has in it."""
        position, capacity = _positions(snapshot)
        use = band_use(snapshot)
        bands = snapshot.settings.bands
        ids = snapshot.services["service_id"].to_numpy()

        def reason(p: int, services: np.ndarray) -> str | None:
            if capacity.size == 0 or not (use[p] > 0).any():
                return None
            k = position[services]
            if (k < 0).any():
                return None  # a service without bands: rule 5b does not bind there
            most = capacity[k, :, -1]  # services x bands
            short = (most < use[p][None, :] - TOLERANCE) & (use[p][None, :] > 0)
            if not short.any(axis=1).all():
                return None
            band = int(np.argmax(short.sum(axis=0)))
            return (
                f"bands: needs {use[p, band]:g} {bands[band]} carer-hours a day; eligible services {names(ids[services])} "
                f"have at most {most[:, band].max():g} in the horizon"
            )

        return reason

    def start_intervals(self, snapshot: Snapshot, triples: pd.DataFrame) -> np.ndarray | None:
        """A band's capacity at the triple's service grows: the count of such days so far,
        over the bands the patient needs."""
        position, capacity = _positions(snapshot)
        if capacity.size == 0:
            return None
        changes = np.zeros_like(capacity, dtype=np.int64)
        changes[:, :, 1:] = np.cumsum(capacity[:, :, 1:] > capacity[:, :, :-1] + TOLERANCE, axis=2)
        use = band_use(snapshot)
        p, s, d = (triples[c].to_numpy() for c in ("patient", "service", "day"))
        k = position[s]
        label = np.zeros(len(triples), dtype=np.int64)
        has = k >= 0
        for band in range(len(snapshot.settings.bands)):
            needs = has & (use[p, band] > 0)
            label[needs] += changes[k[needs], band, d[needs]]  # counts add up: still monotone in d
        return label
