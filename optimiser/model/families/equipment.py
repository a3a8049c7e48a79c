"""Equipment (rule 7): a pathway-1 patient takes one unit of each item they need from their
locality's store at the start, and keeps it to the end of the horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE
from optimiser.data.snapshot import Snapshot
from optimiser.model.families.base import DIRECT, INTERIM, Family, Room, names, stage_of, starts
from optimiser.model.rows import RowBlock, cumulative_rows
from optimiser.model.rules import cumulative_stock, equipment_needs, suffix_min


class EquipmentRoom(Room):
    """Stock left: ``slack[k, d]`` = Stock(k, d) - units taken by day d, per (store, item) k;
    a start on day d fits where every item p needs has a unit from d on."""

    def __init__(self, snapshot: Snapshot, placed: pd.DataFrame) -> None:
        self.snapshot = snapshot
        _, stock = cumulative_stock(snapshot)
        needs = equipment_needs(snapshot)
        self.needs_of = {p: (frame["key"].to_numpy(), frame["item"].to_numpy()) for p, frame in needs.groupby("patient")}
        taken = np.zeros_like(stock)
        known = needs[needs["key"] >= 0]
        placed = starts(placed)  # v2: an interim bed brings its own equipment
        start = pd.DataFrame({"patient": placed["patient"].to_numpy(), "day": placed["day"].to_numpy()}).merge(
            known, on="patient"
        )
        np.add.at(taken, (start["key"].to_numpy(), start["day"].to_numpy()), 1)
        self.slack = stock - np.cumsum(taken, axis=1)
        self.floor = suffix_min(self.slack)

    def _needs(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        return self.needs_of.get(p, (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)))

    def _stocked(self, keys: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Per key, per start day: a unit left from that day on (False for a key the store never holds)."""
        ok = np.zeros((len(keys), len(day)), dtype=bool)
        known = keys >= 0
        ok[known] = self.floor[keys[known]][:, day] >= 1 - TOLERANCE
        return ok

    def fits(self, p, service, day):
        keys, _ = self._needs(p)
        return self._stocked(keys, np.asarray(day)).all(axis=0)

    def fits_entry(self, p, service, day):
        return np.ones(len(service), dtype=bool)

    def enter(self, p, service, day):
        pass

    def why_entry(self, p, service, day):
        return [""] * len(service)

    def take(self, p, service, day):
        keys, _ = self._needs(p)
        for key in keys[keys >= 0]:
            self.slack[key, day:] -= 1
            self.floor[key] = suffix_min(self.slack[key])

    def why(self, p, service, day):
        keys, items = self._needs(p)
        store = self.snapshot.patients["store"].iat[p]
        stocked = self._stocked(keys, np.asarray(day))
        return [
            ""
            if column.all()
            else "equipment: " + ", ".join(f"{item} out at store {store or '(none)'}" for item in items[~column])
            for column in stocked.T
        ]

    def reason(self, p, service, day, open_before):
        keys, items = self._needs(p)
        known = keys >= 0
        short = [item for item, ok in zip(items[known], self._stocked(keys[known], np.asarray(day))) if not ok.all()]
        store = self.snapshot.patients["store"].iat[p]
        last = self.snapshot.date_of([self.snapshot.horizon - 1])[0]
        return f"equipment: every {names(short)} at store {store} is taken by other placements through {last}"


class Equipment(Family):
    name = "equipment"
    cause = "equipment"
    alone_rank = 0

    def rows(self, snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
        """Equipment (rule 7), cumulative per store g, item i, day d:

            sum_{p needs i, store(p) = g} sum_{s, d' <= d} x[p, s, d'] <= Stock(g, i, d)

        Stock(g, i, d) = units arrived by day d. Breakpoint days only, as for capacity.
        v2: x are the starts (direct or onward), not interim entries (a bed brings its own).
        """
        needs = equipment_needs(snapshot)
        needs = needs[needs["key"] >= 0]
        if needs.empty:  # nobody who could start needs an item in stock: no row can bind
            nothing = np.zeros(0, dtype=np.int64)
            keys = pd.DataFrame({"store": [], "item": [], "date": []})
            return RowBlock("equipment", keys, nothing, nothing, np.zeros(0), np.zeros(0))
        keys, stock = cumulative_stock(snapshot)
        per_variable = pd.DataFrame({"col": np.arange(len(variables)), "patient": variables["patient"].to_numpy()})
        per_variable = per_variable[stage_of(variables) == DIRECT]
        per_variable = per_variable.merge(needs[["patient", "key"]], on="patient").sort_values(["key", "col"], kind="stable")
        col = per_variable["col"].to_numpy()
        block = cumulative_rows(
            "equipment",
            entity=per_variable["key"].to_numpy(),
            day=variables["day"].to_numpy()[col],
            col=col,
            coef=np.ones(len(col)),
            cumulative=stock,
            naive=naive,
        )
        entity = block.keys["entity"].to_numpy()
        block.keys = pd.DataFrame(
            {
                "store": keys["store"].to_numpy()[entity],
                "item": keys["item"].to_numpy()[entity],
                "date": snapshot.date_of(block.keys["day"].to_numpy()).to_numpy(),
            }
        )
        return block

    def room(self, snapshot: Snapshot, placed: pd.DataFrame) -> Room:
        return EquipmentRoom(snapshot, placed)

    def check_pinned(self, snapshot: Snapshot, pinned: pd.DataFrame, problems: ProblemList) -> None:
        """Pinned starts may not take more of an item at a store than has arrived by any day."""
        needs = equipment_needs(snapshot)
        pinned = pinned[stage_of(pinned) != INTERIM]
        needs = needs[needs["key"] >= 0].merge(pinned[["patient", "day", LINE]], on="patient")
        if needs.empty:
            return
        keys, stock = cumulative_stock(snapshot)
        taken = np.zeros_like(stock)
        np.add.at(taken, (needs["key"].to_numpy(), needs["day"].to_numpy()), 1)
        short = np.cumsum(taken, axis=1) > stock + TOLERANCE
        for key in np.flatnonzero(short.any(axis=1)):
            day = int(np.argmax(short[key]))
            store, item = keys["store"].iat[key], keys["item"].iat[key]
            for line in needs.loc[(needs["key"] == key) & (needs["day"] <= day), LINE]:
                problems.add(
                    "pinned.csv",
                    int(line),
                    "service_id",
                    None,
                    f"breaks rule 7 (equipment): pinned placements need more {item} at store {store} "
                    f"than has arrived by {snapshot.date_of([day])[0]}; unpin some or add stock",
                )

    def alone(self, snapshot: Snapshot):
        """An item the patient needs is never in stock at their store within the horizon."""
        ready = equipment_ready_days(snapshot)
        needs = equipment_needs(snapshot)
        needs_of = {p: (frame["item"].to_numpy(), frame["key"].to_numpy()) for p, frame in needs.groupby("patient")}
        _, stock = cumulative_stock(snapshot)
        last = snapshot.date_of([snapshot.horizon - 1])[0]
        equipment = snapshot.equipment
        later_rows = equipment[(equipment["quantity"] > 0) & (snapshot.day_of(equipment["date"]) >= snapshot.horizon)]

        def reason(p: int, services: np.ndarray) -> str | None:
            if ready[p] < snapshot.horizon:
                return None
            store = snapshot.patients["store"].iat[p]
            items, keys = needs_of[p]
            if store == "":
                return (
                    f"equipment: needs {names(items)} but locality {snapshot.patients['locality'].iat[p]} has no equipment store"
                )
            missing = [item for item, key in zip(items, keys) if key < 0 or stock[key, -1] < 1 - TOLERANCE]
            later = later_rows[(later_rows["store_id"] == store) & later_rows["item"].isin(missing)]
            arrivals = "" if later.empty else f"; first arrives {later['date'].min().date().isoformat()}, past the horizon"
            return f"equipment: {names(missing)} out of stock at store {store} through {last}{arrivals}"

        return reason

    def start_intervals(self, snapshot: Snapshot, triples: pd.DataFrame) -> np.ndarray:
        """The stock of an item p needs changes: the count of days so far on which any arrived."""
        horizon = snapshot.horizon
        changes = np.zeros((len(snapshot.patients), horizon), dtype=np.int64)
        needs = equipment_needs(snapshot)
        needs = needs[needs["key"] >= 0]
        if len(needs):
            _, stock = cumulative_stock(snapshot)
            arrives = np.zeros_like(stock, dtype=bool)
            arrives[:, 1:] = stock[:, 1:] > stock[:, :-1] + TOLERANCE
            any_arrival = np.zeros((len(snapshot.patients), horizon), dtype=bool)
            np.logical_or.at(any_arrival, needs["patient"].to_numpy(), arrives[needs["key"].to_numpy()])
            changes = np.cumsum(any_arrival, axis=1)
        return changes[triples["patient"].to_numpy(), triples["day"].to_numpy()]


def equipment_ready_days(snapshot: Snapshot) -> np.ndarray:
    """First day by which every item a pathway-1 patient needs is in stock at their
    store (0 if none needed; D, i.e. never, if an item is never stocked or there
    is no store)."""
    horizon = snapshot.horizon
    ready = np.zeros(len(snapshot.patients), dtype=np.int64)
    needs = equipment_needs(snapshot)
    if needs.empty:
        return ready
    _, stock = cumulative_stock(snapshot)
    keys = needs["key"].to_numpy()
    first_day = np.full(len(needs), horizon, dtype=np.int64)
    known = keys >= 0
    if known.any():
        in_stock = stock[keys[known]] >= 1 - TOLERANCE
        first_day[known] = np.where(in_stock.any(axis=1), in_stock.argmax(axis=1), horizon)
    np.maximum.at(ready, needs["patient"].to_numpy(), first_day)
    return ready
