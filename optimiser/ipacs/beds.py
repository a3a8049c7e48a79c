"""IPACS's bed model (pathways 2 and 3): one scenario, one run, in continuous time.

A day's arrivals come at uniform times within the day; a patient is admitted if a bed is
free and otherwise waits; a stay is lognormal(mu, sigma) from admission; the initial
occupants have a uniform share of a lognormal stay still to go (at least a day, as IPACS:
remaining ~ U(1, L), and one whose L is under a day never leaves).

``compat`` reproduces what IPACS computes (``IPACS.md``):

- A: the initial queue is a count, not patients. When a bed frees and nobody real waits,
  the earliest *future* arrival is admitted in its place; when that patient's own arrival
  comes they are processed again (a second bed, or the queue as a phantom nobody picks),
  and at the first of their two ends both go, so the second bed is never freed. With
  nobody left to admit, the freed bed stays counted.
- B: at time 0 the initial queue is not admitted into free beds.
- C: a day's value is IPACS's running blend of the states around each event of the day
  (close to the state at the day's start); a day with no event repeats the day before,
  except day 2 (time 1), which is 0 when it has no event.
- The mean wait is over patients in service admitted from the queue, with the "waits" of
  early-admitted future arrivals counting negative, floored at 0.

``textbook`` is the model IPACS means: the initial queue is real patients admitted first
into free beds, then strict first come first served, no leaked beds, each day's value the
state at the start of the day, occupancy a head count.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from optimiser.ipacs.streams import BedStreams
from optimiser.ipacs.workbook import Stay

ARRIVAL, END = 1, 0  # heap order at equal times (ties have probability 0)


@dataclass(frozen=True)
class BedRun:
    """Per report time k = 0 .. days (row k describes calendar day k + 1): beds occupied,
    patients queued, mean wait (days) of patients in service admitted from the queue."""

    occupied: np.ndarray
    queued: np.ndarray
    wait: np.ndarray


def initial_ends(stay: Stay, streams: BedStreams) -> np.ndarray:
    """When each initial occupant leaves: U(1, L) of a lognormal L; never when L < 1."""
    whole = np.exp(stay.mu + stay.sigma * streams.occupant_normals)
    ends = 1.0 + streams.occupant_uniforms * (whole - 1.0)
    return np.where(whole >= 1.0, ends, np.inf)


def run_beds(days: int, beds: float, stay: Stay, queue: int, occupants: int, streams: BedStreams, mode: str) -> BedRun:
    if mode == "compat":
        return _compat(days, beds, stay, queue, occupants, streams)
    if mode == "textbook":
        return _textbook(days, beds, stay, queue, occupants, streams)
    raise ValueError(f"unknown mode {mode!r}: compat or textbook")


def _compat(days: int, beds: float, stay: Stay, queue: int, occupants: int, streams: BedStreams) -> BedRun:
    mu, sigma = stay.mu, stay.sigma
    times = streams.times
    n = len(times)
    first_normal = streams.normals.tolist()
    second_normal = streams.second_normals.tolist()
    arrival_time = times.tolist()
    # patients: 0 .. occupants-1 the initial occupants, then occupants + i the i-th arrival
    present = [True] * (occupants + n)  # still has rows in IPACS's calendar
    admissions = [0] * n  # admissions so far of each arrival (quirk A makes two possible)
    waited = [0.0] * (occupants + n)  # wait of a patient admitted from the queue
    from_queue = [False] * (occupants + n)
    wait_sum, wait_count = 0.0, 0
    events = [(end, END, p) for p, end in enumerate(initial_ends(stay, streams).tolist()) if math.isfinite(end)]
    events += [(t, ARRIVAL, occupants + i) for i, t in enumerate(arrival_time)]
    heapq.heapify(events)
    occupied, queued = occupants, queue
    rows = days + 1
    occ_row = [math.nan] * rows
    niq_row = [math.nan] * rows
    wait_row = [0.0] * rows
    occ_row[0], niq_row[0] = float(occupied), float(queued)
    candidate = 0  # the earliest arrival never admitted
    now = 0.0
    while events:
        time, kind, patient = heapq.heappop(events)
        if not present[patient]:
            continue  # its rows went with its first end (quirk A)
        if time > days:
            break
        old_occupied, old_queued, before = occupied, queued, now
        now = time
        if kind == ARRIVAL:
            i = patient - occupants
            if occupied < beds:
                normal = first_normal[i] if admissions[i] == 0 else second_normal[i]
                admissions[i] += 1
                heapq.heappush(events, (now + math.exp(mu + sigma * normal), END, patient))
                occupied += 1
            else:
                queued += 1  # a phantom when already admitted: never picked
        else:
            present[patient] = False
            if from_queue[patient]:
                wait_sum -= waited[patient]
                wait_count -= 1
            if queued == 0 or occupied > beds:
                occupied -= 1
            else:
                while candidate < n and admissions[candidate] > 0:
                    candidate += 1
                if candidate < n:  # the earliest arrival not yet admitted, arrived or not
                    chosen = occupants + candidate
                    admissions[candidate] += 1
                    waited[chosen] = now - arrival_time[candidate]  # negative for a future arrival
                    from_queue[chosen] = True
                    wait_sum += waited[chosen]
                    wait_count += 1
                    heapq.heappush(events, (now + math.exp(mu + sigma * first_normal[candidate]), END, chosen))
                    queued -= 1
                # else: nobody to admit and the bed stays counted
        row = math.ceil(now) - 1
        if row < 0 or row >= rows:
            continue
        if math.isnan(occ_row[row]):
            passed, left = now - math.floor(now), math.ceil(now) - now
            occ_row[row] = passed * old_occupied + left * occupied
            niq_row[row] = passed * old_queued + left * queued
        else:
            weight = (now - before) / now
            occ_row[row] = weight * occupied + (1 - weight) * occ_row[row]
            niq_row[row] = weight * queued + (1 - weight) * niq_row[row]
        wait_row[row] = max(0.0, wait_sum / wait_count) if wait_count else 0.0
    if rows > 1 and math.isnan(occ_row[1]):
        occ_row[1] = niq_row[1] = 0.0  # quirk C
    return BedRun(_filled(occ_row), _filled(niq_row), np.array(wait_row))


def _filled(values: list[float]) -> np.ndarray:
    """Each missing value replaced by the last one before it."""
    out = np.array(values)
    last = math.nan
    for k in range(len(out)):
        if math.isnan(out[k]):
            out[k] = last
        else:
            last = out[k]
    return out


def _textbook(days: int, beds: float, stay: Stay, queue: int, occupants: int, streams: BedStreams) -> BedRun:
    mu, sigma = stay.mu, stay.sigma
    arrival_time = streams.times.tolist()
    n = len(arrival_time)
    # the queue, first come first served: (arrived, normal of the stay, patient key); the
    # initial queue's patients (keys n, n + 1, ...) arrived at time 0
    waiting = [(0.0, z, n + k) for k, z in enumerate(streams.queue_normals.tolist())]
    head = 0
    events = [(end, END, -1) for end in initial_ends(stay, streams).tolist() if math.isfinite(end)]
    events += [(t, ARRIVAL, i) for i, t in enumerate(arrival_time)]
    heapq.heapify(events)
    occupied = occupants
    in_service_waits: dict[int, float] = {}  # patient key -> wait, for those admitted from the queue
    rows = days + 1
    occ_row = np.zeros(rows)
    niq_row = np.zeros(rows)
    wait_row = np.zeros(rows)

    def admit(now: float, normal: float, patient: int, wait: float | None) -> None:
        heapq.heappush(events, (now + math.exp(mu + sigma * normal), END, patient))
        if wait is not None:
            in_service_waits[patient] = wait

    while head < len(waiting) and occupied < beds:  # the initial queue goes first into free beds
        arrived, normal, key = waiting[head]
        head += 1
        admit(0.0, normal, key, 0.0 - arrived)
        occupied += 1
    next_row = 0
    normals = streams.normals.tolist()
    while events:
        time, kind, patient = heapq.heappop(events)
        while next_row < rows and next_row <= time:
            occ_row[next_row] = occupied
            niq_row[next_row] = len(waiting) - head
            wait_row[next_row] = sum(in_service_waits.values()) / len(in_service_waits) if in_service_waits else 0.0
            next_row += 1
        if time > days:
            break
        if kind == ARRIVAL:
            if occupied < beds and head == len(waiting):
                admit(time, normals[patient], patient, None)
                occupied += 1
            else:
                waiting.append((time, normals[patient], patient))
        else:
            in_service_waits.pop(patient, None)
            occupied -= 1
            while occupied < beds and head < len(waiting):
                arrived, normal, key = waiting[head]
                head += 1
                admit(time, normal, key, time - arrived)
                occupied += 1
    while next_row < rows:
        occ_row[next_row], niq_row[next_row] = occupied, len(waiting) - head
        next_row += 1
    return BedRun(occ_row, niq_row, wait_row)
