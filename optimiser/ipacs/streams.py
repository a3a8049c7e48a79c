"""Random streams for the IPACS models: one per run, node and arrival scenario.

As in IPACS, every scenario of a node and arrival scenario sees the same arrivals in a run
(its capacity and LOS scenarios differ, not its patients), and ``compat`` and ``textbook``
see the same streams too. Each patient's length of stay is one standard normal drawn up
front and scaled by the scenario's mu and sigma, so the LOS scenarios of a node are common
random numbers as well. The streams are numpy's PCG64 from
``SeedSequence(seed, spawn_key=(run, node, arrival scenario))``: independent by run,
the same on any machine and for any number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def generator(seed: int, run: int, node: int, arrival: int, purpose: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(run, node, arrival, purpose))))


@dataclass(frozen=True)
class BedStreams:
    """What one bed-model run draws: initial occupants' stays (a normal each, scaled to a
    lognormal stay L, and a uniform for the part of L still to go), each day's arrival count
    and times, a normal per arrival for the stay of its admission (and one more for the
    second admission IPACS's quirk A can give it), a normal per patient of the initial queue."""

    occupant_normals: np.ndarray
    occupant_uniforms: np.ndarray
    counts: np.ndarray
    times: np.ndarray  # sorted: day d's arrivals uniform in [d - 1, d)
    normals: np.ndarray
    second_normals: np.ndarray
    queue_normals: np.ndarray

    @classmethod
    def draw(cls, rates: np.ndarray, occupants: int, queue: int, seed: int, run: int, node: int, arrival: int):
        rng = generator(seed, run, node, arrival, 0)
        occupant_normals = rng.standard_normal(occupants)
        occupant_uniforms = rng.random(occupants)
        counts = rng.poisson(rates)
        day = np.repeat(np.arange(len(rates)), counts)
        times = day + rng.random(len(day))
        order = np.lexsort((times, day))
        times = times[order]
        normals = rng.standard_normal(len(times))
        second = rng.standard_normal(len(times))
        queue_normals = generator(seed, run, node, arrival, 1).standard_normal(queue)
        return cls(occupant_normals, occupant_uniforms, counts, times, normals, second, queue_normals)


@dataclass(frozen=True)
class VisitStreams:
    """What one visit-model run draws: each day's arrival count, and three streams the
    patients take from in turn (initial occupants, then the initial queue, then arrivals):
    lengths of stay (redrawn while out of range), visits a day, and the uniform that
    shortens an initial occupant's stay."""

    counts: np.ndarray
    stays: np.random.Generator
    visits: np.random.Generator
    shortening: np.random.Generator

    @classmethod
    def draw(cls, rates: np.ndarray, seed: int, run: int, node: int, arrival: int):
        counts = generator(seed, run, node, arrival, 2).poisson(rates)
        return cls(
            counts,
            generator(seed, run, node, arrival, 3),
            generator(seed, run, node, arrival, 4),
            generator(seed, run, node, arrival, 5),
        )
