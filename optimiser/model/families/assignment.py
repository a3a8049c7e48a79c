"""Assignment: each patient starts at most once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.data.snapshot import Snapshot
from optimiser.model.families.base import Family, Room
from optimiser.model.rows import RowBlock


class AssignmentRoom(Room):
    def __init__(self, snapshot: Snapshot, placed: pd.DataFrame) -> None:
        self.started = np.zeros(len(snapshot.patients), dtype=bool)
        self.started[placed["patient"].to_numpy()] = True

    def fits(self, p, service, day):
        return np.full(len(service), not self.started[p])

    def take(self, p, service, day):
        self.started[p] = True

    def why(self, p, service, day):
        return ["already placed" if self.started[p] else ""] * len(service)


class Assignment(Family):
    name = "assignment"

    def rows(self, snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
        """Each patient starts at most once:

            sum_{s, d} x[p, s, d] <= 1        for every patient p with two or more triples

        (a patient with one triple needs no row: x <= 1 is its bound).
        """
        patient = variables["patient"].to_numpy()
        counts = np.bincount(patient, minlength=len(snapshot.patients))
        rows_of = np.flatnonzero(counts >= 2)
        local = np.full(len(counts), -1)
        local[rows_of] = np.arange(len(rows_of))
        in_row = local[patient] >= 0
        keys = pd.DataFrame({"patient_id": snapshot.patients["patient_id"].to_numpy()[rows_of]})
        return RowBlock(
            "assignment",
            keys,
            local[patient][in_row],
            np.flatnonzero(in_row),
            np.ones(int(in_row.sum())),
            np.ones(len(rows_of)),
        )

    def room(self, snapshot: Snapshot, placed: pd.DataFrame) -> Room:
        return AssignmentRoom(snapshot, placed)
