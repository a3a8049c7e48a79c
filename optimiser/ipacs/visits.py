"""IPACS's visit model (pathway 1): one scenario, one run, in days.

A provider has ``slots`` visit slots a day. A patient's package is a whole number of days
(a rounded lognormal, redrawn while <= 0 or >= mean + 3 sd) with a profile of visits a
day falling from an initial number (round N(IVR, 0.5), redrawn while <= 0, > IVR + 1.5 or
more than the slots) to a final one (round N(FVR, 0.5), redrawn while <= 0 or > FVR + 1.5),
rounded half to even. On arrival a patient is booked first fit: the first day from today
from which the whole profile fits in each day's free slots. The initial occupants have the
last U(1, L) days (rounded) of a drawn package; they and then the initial queue are booked
from day 1. Each day: that day's arrivals are booked; those booked to start later are the
queue; the day's slots used are recorded; the packages ending that day leave, with their
waits (start day - arrival day).

``compat`` (IPACS): the package length has sdlog 1, not sigma (quirk D), and occupancy is
slots used / the visits a day of the scenario (quirk E: not a head count).
``textbook``: sdlog sigma, occupancy the number of patients whose package covers the day,
and strictly first come first served (nobody starts before an earlier arrival).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimiser.ipacs.streams import VisitStreams
from optimiser.ipacs.workbook import VISIT_SD, Stay


@dataclass(frozen=True)
class VisitRun:
    """Per day 1 .. days: patients queued, slots used, occupancy; and each patient who left
    in the run as (day left, days waited)."""

    queued: np.ndarray
    used: np.ndarray
    occupied: np.ndarray
    leavers: np.ndarray


class _Tape:
    """Draws from a generator a block at a time (the same numbers as one by one)."""

    def __init__(self, rng: np.random.Generator, kind: str, block: int = 512):
        self.rng, self.kind, self.block = rng, kind, block
        self.values: list[float] = []
        self.at = 0

    def next(self) -> float:
        if self.at == len(self.values):
            draw = self.rng.standard_normal if self.kind == "normal" else self.rng.random
            self.values = draw(self.block).tolist()
            self.at = 0
        self.at += 1
        return self.values[self.at - 1]


def package_lengths(stay: Stay, sdlog: float) -> tuple[int, float]:
    """Median and mean of a package length as the visit model draws it: round(lognormal(mu,
    sdlog)), redrawn while <= 0 or >= mean + 3 sd (exact, from the lognormal's distribution)."""
    from scipy import stats  # deferred: scipy.stats takes most of a second to import

    law = stats.lognorm(s=sdlog, scale=math.exp(stay.mu))
    longest = stay.mean + 3 * stay.sd
    days = np.arange(1, int(math.ceil(longest)))
    days = days[days < longest]
    weights = law.cdf(days + 0.5) - law.cdf(days - 0.5)
    weights = weights / weights.sum()
    median = int(days[np.searchsorted(np.cumsum(weights), 0.5)])
    return median, float((days * weights).sum())


def _round(x: float) -> int:
    return int(round(x))  # Python rounds half to even, as R does


def run_visits(days: int, slots: float, stay: Stay, queue: int, occupants: int, streams: VisitStreams, mode: str) -> VisitRun:
    if mode not in ("compat", "textbook"):
        raise ValueError(f"unknown mode {mode!r}: compat or textbook")
    sdlog = 1.0 if mode == "compat" else stay.sigma
    longest = stay.mean + 3 * stay.sd
    ivr, fvr = float(int(stay.ivr)), float(int(stay.fvr))
    visits_a_day = (ivr + fvr) / 2  # the scenario's own mean visits a day (quirk E divides by it)
    stays, visits, shortening = (
        _Tape(streams.stays, "normal"),
        _Tape(streams.visits, "normal"),
        _Tape(streams.shortening, "uniform"),
    )

    def package_days() -> int:
        while True:
            x = _round(math.exp(stay.mu + sdlog * stays.next()))
            if 0 < x < longest:
                return x

    def first_visits() -> int:
        while True:
            x = _round(ivr + VISIT_SD * visits.next())
            if 0 < x <= ivr + 3 * VISIT_SD and x <= slots:
                return x

    def last_visits() -> int:
        while True:
            x = _round(fvr + VISIT_SD * visits.next())
            if 0 < x <= fvr + 3 * VISIT_SD:
                return x

    shapes: dict[tuple[int, int, int], tuple[float, ...]] = {}

    def profile(length: int) -> tuple[float, ...]:
        first, last = first_visits(), last_visits()
        key = (first, last, length)
        if key not in shapes:
            shapes[key] = tuple(np.round(np.linspace(first, last, length)).tolist())
        return shapes[key]

    horizon = days * 10 + 2
    free = [float(slots)] * horizon  # free slots of each day (index = day, 1-based)
    starting = [0] * horizon  # packages starting each day
    ending = [0] * horizon  # ... and ending
    starts: list[int] = []
    ends: list[int] = []
    arrived: list[int] = []
    earliest = 1  # textbook: nobody starts before an earlier arrival's start

    def book(today: int, need: tuple[float, ...]) -> None:
        nonlocal earliest
        length = len(need)
        day = max(today, earliest) if mode == "textbook" else today
        while True:  # first fit: the first day from which every day of the package has room
            if day + length > horizon:
                raise RuntimeError("a visit package found no room in ten times the horizon")
            for k in range(length):
                if free[day + k] < need[k]:
                    break
            else:
                break
            day += 1
        for k in range(length):
            free[day + k] -= need[k]
        starting[day] += 1
        ending[day + length - 1] += 1
        starts.append(day)
        ends.append(day + length - 1)
        arrived.append(today)
        if mode == "textbook":
            earliest = day

    for _ in range(occupants):
        whole = package_days()
        left = _round(1 + shortening.next() * (whole - 1))  # at least 1
        book(1, profile(whole)[-left:])
    for _ in range(queue):
        book(1, profile(package_days()))
    queued = np.zeros(days)
    used = np.zeros(days)
    occupied = np.zeros(days)
    counts = streams.counts.tolist()
    started = ended = 0  # packages started by today, ended before today
    for today in range(1, days + 1):
        for _ in range(counts[today - 1]):
            book(today, profile(package_days()))
        started += starting[today]
        queued[today - 1] = len(starts) - started
        used[today - 1] = slots - free[today]
        if mode == "compat":
            occupied[today - 1] = used[today - 1] / visits_a_day
        else:
            occupied[today - 1] = started - ended
        ended += ending[today]
    start, end = np.asarray(starts), np.asarray(ends)
    left = end <= days
    leavers = np.column_stack([end[left], start[left] - np.asarray(arrived)[left]]).astype(np.int64)
    return VisitRun(queued, used, occupied, leavers)
