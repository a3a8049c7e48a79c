"""Assignment: each patient starts at most once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.data.snapshot import Snapshot
from optimiser.model.families.base import DIRECT, Family, Room, entries, stage_of, starts
from optimiser.model.rows import RowBlock


class AssignmentRoom(Room):
    """Who has started (directly or onward) and who has entered an interim bed (v2)."""

    def __init__(self, snapshot: Snapshot, placed: pd.DataFrame) -> None:
        self.started = np.zeros(len(snapshot.patients), dtype=bool)
        self.started[starts(placed)["patient"].to_numpy()] = True
        self.entered = np.zeros(len(snapshot.patients), dtype=bool)
        self.entered[entries(placed)["patient"].to_numpy()] = True

    def fits(self, p, service, day):
        return np.full(len(service), not self.started[p])

    def take(self, p, service, day):
        self.started[p] = True

    def fits_entry(self, p, service, day):
        return np.full(len(service), not (self.started[p] or self.entered[p]))

    def enter(self, p, service, day):
        self.entered[p] = True

    def why(self, p, service, day):
        return ["already placed" if self.started[p] else ""] * len(service)


class Assignment(Family):
    name = "assignment"

    def rows(self, snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
        """Each patient starts at most once:

            sum_{s, d} x[p, s, d] <= 1        for every patient p with two or more triples

        (a patient with one triple needs no row: x <= 1 is its bound). v2: x are the starts,
        direct or onward; entries and stays are the interim family's.
        """
        patient = variables["patient"].to_numpy()[stage_of(variables) == DIRECT]
        counts = np.bincount(patient, minlength=len(snapshot.patients))
        rows_of = np.flatnonzero(counts >= 2)
        local = np.full(len(counts), -1)
        local[rows_of] = np.arange(len(rows_of))
        in_row = np.zeros(len(variables), dtype=bool)
        in_row[np.flatnonzero(stage_of(variables) == DIRECT)] = local[patient] >= 0
        keys = pd.DataFrame({"patient_id": snapshot.patients["patient_id"].to_numpy()[rows_of]})
        return RowBlock(
            "assignment",
            keys,
            local[variables["patient"].to_numpy()[in_row]],
            np.flatnonzero(in_row),
            np.ones(int(in_row.sum())),
            np.ones(len(rows_of)),
        )

    def room(self, snapshot: Snapshot, placed: pd.DataFrame) -> Room:
        return AssignmentRoom(snapshot, placed)
