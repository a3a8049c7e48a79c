"""Interim stays (contract v2, section 6.2): a patient waiting for home care or a care home
may leave the acute bed for an interim (bridging) bed at a pathway-2 service marked
``interim``, and move on when the right place is free.

Variables (``stage`` in the variables table):

- ``z[p, v, d]`` (INTERIM): p enters interim service v on day d; a bed of v, use 1;
- ``x[p, s, d]`` (DIRECT): p starts at s on day d from the acute bed, as in v1;
- ``y[p, v, s, d]`` (ONWARD): p, in interim service v, starts at s on day d (``via`` = v).
  Indexing the onward start by the bed it leaves keeps interim occupancy linear: the bed
  of v is held from d_z up to the day before the onward start, so rule 5 at v is

      sum_{d' <= t} x[., v, d'] + sum_{d' <= t} z[., v, d'] - sum_{d' <= t} y[., v, ., d'] <= Cap(v, t)

  (``capacity.py`` writes it, on every day: a departure makes the load fall).

This family owns who may bridge (``entry_pairs``, ``entry_triples``, ``onward_triples``)
and the rows that tie an onward start to its stay, for every interim pair (p, v) and
onward day t:

      sum_{s, d' <= t} y[p, v, s, d'] - sum_{d < t} z[p, v, d] <= 0

so an onward start needs an entry into v strictly before it, and (with the assignment
row sum x + sum z <= 1) there is at most one of each. Rule 6 counts entries with
starts (``admissions.py`` counts every variable at its service and day); rule 7 counts
onward starts and not entries (``equipment.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE
from optimiser.data.schema import NEEDS
from optimiser.data.snapshot import Snapshot
from optimiser.model.families.base import DIRECT, INTERIM, ONWARD, Family, Room, entries, stage_of, starts
from optimiser.model.rows import RowBlock
from optimiser.model.rules import admits_on_day, cumulative_capacity, reach_table

INTERIM_STAGE_NAME = "interim"


def interim_services(snapshot: Snapshot) -> np.ndarray:
    """Per service: an interim service (v2: ``interim`` true, on pathway 2)."""
    services = snapshot.services
    if "interim" not in services.columns:
        return np.zeros(len(services), dtype=bool)
    return services["interim"].fillna(False).to_numpy(dtype=bool) & (services["pathway"].to_numpy() == 2)


def may_bridge(snapshot: Snapshot) -> np.ndarray:
    """Per patient: ``interim_ok`` on a pathway-1 or -3 patient."""
    patients = snapshot.patients
    if "interim_ok" not in patients.columns:
        return np.zeros(len(patients), dtype=bool)
    return patients["interim_ok"].fillna(False).to_numpy(dtype=bool) & (patients["pathway"].to_numpy() != 2)


def uses_interim(snapshot: Snapshot) -> bool:
    """Any service is interim (the plan then has a ``stage`` column, contract 6.2)."""
    return bool(interim_services(snapshot).any())


def pinned_stage(snapshot: Snapshot) -> np.ndarray:
    """Each pinned row's stage (DIRECT or INTERIM)."""
    pinned = snapshot.pinned
    if "stage" not in pinned.columns:
        return np.full(len(pinned), DIRECT, dtype=np.int8)
    return np.where(pinned["stage"].fillna("").astype(str).str.lower() == INTERIM_STAGE_NAME, INTERIM, DIRECT).astype(np.int8)


def entry_pairs(snapshot: Snapshot) -> pd.DataFrame:
    """(patient, service, minutes) where p may enter interim service v: ``interim_ok(p)``,
    ``interim(v)``, rule 2's needs (dementia, nursing, bariatric) and rule 3's reach for
    bed pathways (a travel time within ``max_travel_minutes(p)``)."""
    patients, services = snapshot.patients, snapshot.services
    empty = pd.DataFrame({"patient": np.zeros(0, np.int64), "service": np.zeros(0, np.int64), "minutes": np.zeros(0)})
    bridging, interim = may_bridge(snapshot), interim_services(snapshot)
    if not bridging.any() or not interim.any():
        return empty
    reach = reach_table(snapshot)
    reach = reach[interim[reach["service"].to_numpy()]]
    homes = pd.DataFrame({"patient": np.flatnonzero(bridging), "locality": patients["locality"].to_numpy()[bridging]})
    pairs = homes.merge(reach, on="locality")[["patient", "service", "minutes"]]
    p, v = pairs["patient"].to_numpy(), pairs["service"].to_numpy()
    keep = pairs["minutes"].to_numpy() <= patients["max_travel"].to_numpy()[p] + TOLERANCE
    for need in NEEDS:
        keep &= ~(patients[need].to_numpy(dtype=bool)[p] & ~services[need].to_numpy(dtype=bool)[v])
    return pairs[keep].sort_values(["patient", "service"], kind="stable").reset_index(drop=True)


def entry_triples(snapshot: Snapshot) -> pd.DataFrame:
    """The z variables: (patient, service, day, minutes, use = 1, stage, via) for every
    entry pair on the days rule 4 allows (from e(p), the service's weekend rule), less the
    days v has no bed at all (Cap(v, d) < 1: the entrant alone breaks rule 5). A patient
    pinned direct has none; one pinned interim has only the pinned entry."""
    pairs = entry_pairs(snapshot)
    earliest = snapshot.patients["earliest_day"].to_numpy()[pairs["patient"].to_numpy()]
    counts = np.maximum(snapshot.horizon - earliest, 0)
    row = np.repeat(np.arange(len(pairs)), counts)
    offsets = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    triples = pairs.iloc[row].reset_index(drop=True)
    triples["day"] = (earliest[row] + offsets).astype(np.int64)
    s, d = triples["service"].to_numpy(), triples["day"].to_numpy()
    keep = admits_on_day(snapshot, s, d) & (cumulative_capacity(snapshot)[s, d] >= 1 - TOLERANCE)
    triples = triples[keep]
    if len(snapshot.pinned):
        pinned = pinned_rows(snapshot)
        is_pinned = np.isin(triples["patient"].to_numpy(), pinned["patient"].to_numpy())
        mine = pinned[pinned["stage"] == INTERIM][["patient", "service", "day"]]
        matched = triples.merge(mine, on=["patient", "service", "day"], how="left", indicator=True)["_merge"].to_numpy()
        triples = triples[~is_pinned | (matched == "both")]
    return triples.assign(use=1.0, stage=np.int8(INTERIM), via=np.int64(-1)).reset_index(drop=True)


def onward_triples(entry: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """The y variables: for each entry pair (p, v), each of p's candidate starts (p, s, d)
    (rules 1-4, and the days the patient alone does not break rule 5 or 7) after p's first
    possible entry into v; ``via`` = v."""
    first = entry.groupby(["patient", "service"], sort=True)["day"].min().reset_index()
    first = first.rename(columns={"service": "via", "day": "entry_day"})
    onward = candidates.merge(first, on="patient")
    onward = onward[onward["day"].to_numpy() > onward["entry_day"].to_numpy()]
    onward = onward.drop(columns="entry_day").assign(stage=np.int8(ONWARD))
    onward["via"] = onward["via"].astype(np.int64)
    return onward.sort_values(["patient", "via", "service", "day"], kind="stable").reset_index(drop=True)


def pinned_rows(snapshot: Snapshot) -> pd.DataFrame:
    """Pinned rows as integer (patient, service, day, stage)."""
    pinned = snapshot.pinned
    return pd.DataFrame(
        {
            "patient": snapshot.patient_index.loc[pinned["patient_id"]].to_numpy(dtype=np.int64),
            "service": snapshot.service_index.loc[pinned["service_id"]].to_numpy(dtype=np.int64),
            "day": snapshot.day_of(pinned["date"]).astype(np.int64),
            "stage": pinned_stage(snapshot),
        }
    )


class InterimRoom(Room):
    """Who is in an interim bed since when: an x start of p after its entry is its onward
    start and must come on a later day."""

    def __init__(self, snapshot: Snapshot, placed: pd.DataFrame) -> None:
        self.entry_day = np.full(len(snapshot.patients), -1, dtype=np.int64)
        self.via = np.full(len(snapshot.patients), -1, dtype=np.int64)
        z = entries(placed)
        self.entry_day[z["patient"].to_numpy()] = z["day"].to_numpy()
        self.via[z["patient"].to_numpy()] = z["service"].to_numpy()
        x = starts(placed)
        self.moved = np.zeros(len(snapshot.patients), dtype=bool)
        self.moved[x["patient"].to_numpy()] = True

    def fits(self, p, service, day):
        if self.entry_day[p] < 0:
            return np.ones(len(service), dtype=bool)
        return np.asarray(day) > self.entry_day[p]

    def enter(self, p, service, day):
        self.entry_day[p], self.via[p] = day, service

    def take(self, p, service, day):
        self.moved[p] = True

    def fits_entry(self, p, service, day):
        return np.ones(len(service), dtype=bool)

    def why_entry(self, p, service, day):
        return [""] * len(service)

    def why(self, p, service, day):
        if self.entry_day[p] < 0:
            return [""] * len(service)
        return ["" if d > self.entry_day[p] else "onward start not after the interim entry" for d in np.asarray(day)]


class Interim(Family):
    name = "interim"
    cause = None

    def rows(self, snapshot: Snapshot, variables: pd.DataFrame, naive: bool = False) -> RowBlock:
        """An onward start needs an earlier entry into its interim service:

            sum_{s, d' <= t} y[p, v, s, d'] - sum_{d < t} z[p, v, d] <= 0

        for every interim pair (p, v) with onward starts and every day t on which one of
        them may start (between those days the left side only falls)."""
        stage = stage_of(variables)
        empty = RowBlock(
            "interim",
            pd.DataFrame({"patient_id": [], "service_id": [], "date": []}),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0),
            np.zeros(0),
        )
        onward = np.flatnonzero(stage == ONWARD)
        if len(onward) == 0:
            return empty
        patient = variables["patient"].to_numpy()
        day = variables["day"].to_numpy()
        via = variables["via"].to_numpy()
        services = len(snapshot.services)
        pair_of_onward = patient[onward].astype(np.int64) * services + via[onward]
        rows = pd.DataFrame({"pair": pair_of_onward, "day": day[onward]}).drop_duplicates().sort_values(["pair", "day"])
        rows = rows.reset_index(drop=True)
        z = np.flatnonzero(stage == INTERIM)
        pair_of_z = patient[z].astype(np.int64) * services + variables["service"].to_numpy()[z]
        terms = pd.concat(
            [
                pd.DataFrame({"pair": pair_of_onward, "col": onward, "vday": day[onward], "coef": 1.0}),
                pd.DataFrame({"pair": pair_of_z, "col": z, "vday": day[z], "coef": -1.0}),
            ],
            ignore_index=True,
        )
        joined = rows.reset_index().merge(terms, on="pair")
        inside = np.where(
            joined["coef"].to_numpy() > 0,
            joined["vday"].to_numpy() <= joined["day"].to_numpy(),
            joined["vday"].to_numpy() < joined["day"].to_numpy(),
        )
        joined = joined[inside]
        pair = rows["pair"].to_numpy()
        keys = pd.DataFrame(
            {
                "patient_id": snapshot.patients["patient_id"].to_numpy()[pair // services],
                "service_id": snapshot.services["service_id"].to_numpy()[pair % services],
                "date": snapshot.date_of(rows["day"].to_numpy()).to_numpy(),
            }
        )
        return RowBlock(
            "interim",
            keys,
            joined["index"].to_numpy(dtype=np.int64),
            joined["col"].to_numpy(dtype=np.int64),
            joined["coef"].to_numpy(dtype=float),
            np.zeros(len(rows)),
        )

    def room(self, snapshot: Snapshot, placed: pd.DataFrame) -> Room:
        return InterimRoom(snapshot, placed)

    def check_pinned(self, snapshot: Snapshot, pinned: pd.DataFrame, problems: ProblemList) -> None:
        """A pinned interim row must be an entry the contract allows: an ``interim_ok``
        patient, an interim service, rule 2's needs, reach and rule 4's timing."""
        stage = stage_of(pinned)
        rows = pinned[stage == INTERIM]
        if rows.empty:
            return
        patients, services = snapshot.patients, snapshot.services
        allowed = entry_pairs(snapshot)
        allowed_codes = set((allowed["patient"] * len(services) + allowed["service"]).tolist())
        bridging, interim = may_bridge(snapshot), interim_services(snapshot)
        on_day = admits_on_day(snapshot, rows["service"].to_numpy(), rows["day"].to_numpy())
        for (_, row), weekday_ok in zip(rows.iterrows(), on_day):
            p, v, d, line = int(row["patient"]), int(row["service"]), int(row["day"]), int(row[LINE])
            service_id = services["service_id"].iat[v]

            def report(message: str, line: int = line, service_id: str = service_id) -> None:
                problems.add("pinned.csv", line, "stage", "interim", f"{message} ({service_id}); fix or unpin")

            if not bridging[p]:
                report("an interim stay for a patient without interim_ok (pathway 1 or 3 only)")
            elif not interim[v]:
                report("an interim stay at a service that is not interim")
            elif p * len(services) + v not in allowed_codes:
                report("an interim stay at a service the patient's needs or travel limit rule out")
            if d < patients["earliest_day"].iat[p]:
                report(f"breaks rule 4 (timing): {snapshot.date_of([d])[0]} is before the patient's earliest start")
            if not weekday_ok:
                report(f"breaks rule 4 (timing): {snapshot.date_of([d])[0]} is a weekend day the service takes no admissions")
