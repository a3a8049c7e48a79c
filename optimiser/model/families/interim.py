"""Interim stays (contract v2, section 6.2): a patient waiting for home care or a care home
may leave the acute bed for an interim (bridging) bed at a pathway-2 service marked
``interim``, and move on when the right place is free.

Variables (``stage`` in the variables table):

- ``x[p, s, d]`` (DIRECT): p starts at s on day d, as in v1: from the acute bed, or, when p
  has an entry, onward from the interim bed (the same variable: the start needs the same
  place either way);
- ``z[p, v, d]`` (INTERIM): p enters interim service v on day d;
- ``w[p, v, t]`` (STAY): p is in an interim bed of v on day t, from the entry day up to the
  day before the onward start (to the end without one). It is fixed by x and z (rows (a)
  to (c) below) and is what the bed costs and saves: v's capacity counts it on day t
  (``capacity.py``), and each such day costs interim_weight, not 1, times the day's harm;
- ``l[p, t]`` (LEFT): p has started by day t, sum_{s, d <= t} x[p, s, d], kept as a state
  (rows (l)) so that the other rows need one term for it, not every start before t.

Rows of this family, for every patient p who may bridge and day t:

    (l) l[p, t] - l[p, t - 1] - sum_s x[p, s, t] = 0                      (two <= rows; l[p, -1] = 0)
    (a) w[p, v, t] - sum_{d <= t} z[p, v, d] <= 0                          (in v only once entered)
    (b) sum_v w[p, v, t] + l[p, t] + sum_{v, d > t} z[p, v, d] <= 1
    (c) sum_{v, d <= t} z[p, v, d] - l[p, t] - sum_v w[p, v, t] <= 0
    (d) sum_v z[p, v, t] + sum_s x[p, s, t] <= 1                          (no entry and start on one day)
    (e) sum_{v, d} z[p, v, d] <= 1

(c) holds the bed from entry until a start, (b) frees it on the start day and forbids an
entry after a start; so x and z together are a direct start, an entry (with or without an
onward start strictly later), or neither, as the contract says.

Objective terms: x costs as in section 4 (cost - U(p)); z costs move_penalty plus the
interim travel; w[p, v, t] costs -(1 - interim_weight) * priority * f(t - r), the day's harm
not suffered in the acute bed (on day D - 1, with the days to D + tail_days). A journey then
costs exactly the contract's 6.2 sum.

Rule 6 counts entries with starts (``admissions.py``); rule 7 counts x, not z
(``equipment.py``): an interim bed brings its own equipment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE
from optimiser.data.schema import INTERIM as INTERIM_NAME
from optimiser.data.schema import NEEDS
from optimiser.data.snapshot import Snapshot
from optimiser.model.costs import delay_cost, unplaced_cost
from optimiser.model.families.base import DIRECT, INTERIM, LEFT, STAY, Family, Room, entries, stage_of
from optimiser.model.rows import RowBlock
from optimiser.model.rules import admits_on_day, cumulative_capacity, reach_table


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
    return np.where(pinned["stage"].fillna("").astype(str).str.lower() == INTERIM_NAME, INTERIM, DIRECT).astype(np.int8)


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
    """The z variables: (patient, service, day, minutes, use = 1, stage) for every entry pair
    on the days rule 4 allows (from e(p), the service's weekend rule), less the days v has
    no bed at all (Cap(v, d) < 1: the entrant alone breaks rule 5). A patient pinned direct
    has none; one pinned interim has only the pinned entry. ``cost``: the move penalty and
    the interim travel."""
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
    weights = snapshot.weights
    cost = weights.move_penalty + weights.travel_weight * triples["minutes"].to_numpy(dtype=float)
    return triples.assign(use=1.0, cost=cost, stage=np.int8(INTERIM)).reset_index(drop=True)


def stay_triples(snapshot: Snapshot, entry: pd.DataFrame) -> pd.DataFrame:
    """The w variables: (patient, service = v, day = t) from p's first possible entry into v
    to D - 1, costing -(1 - interim_weight) * priority * f(t - r) (the day's harm, on day
    D - 1 with the tail to D + tail_days: ``day_harm``)."""
    first = entry.groupby(["patient", "service"], sort=True).agg(day=("day", "min"), minutes=("minutes", "first"))
    first = first.reset_index()
    counts = snapshot.horizon - first["day"].to_numpy()
    row = np.repeat(np.arange(len(first)), counts)
    offsets = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    stays = first.iloc[row].reset_index(drop=True)
    stays["day"] = (first["day"].to_numpy()[row] + offsets).astype(np.int64)
    stays["minutes"] = 0.0
    harm = day_harm(snapshot, stays["patient"].to_numpy(), stays["day"].to_numpy())
    stays["cost"] = -(1.0 - snapshot.weights.interim_weight) * harm
    return stays.assign(use=1.0, stage=np.int8(STAY))


def left_triples(snapshot: Snapshot, starts: pd.DataFrame, entry: pd.DataFrame) -> pd.DataFrame:
    """The l variables: (patient, day = t) for each patient with entries, from its first
    start or entry day to D - 1, cost 0; ``service`` is its first interim service (so a
    search that frees that service frees its states too)."""
    first_entry = entry.groupby("patient", sort=True).agg(day=("day", "min"), service=("service", "min"))
    first_start = starts[starts["patient"].isin(first_entry.index)].groupby("patient")["day"].min()
    first = first_entry.assign(day=np.minimum(first_entry["day"], first_start.reindex(first_entry.index).fillna(np.inf)))
    first = first.reset_index()
    begin = first["day"].to_numpy(dtype=np.int64)
    counts = snapshot.horizon - begin
    row = np.repeat(np.arange(len(first)), counts)
    offsets = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    return pd.DataFrame(
        {
            "patient": first["patient"].to_numpy()[row],
            "service": first["service"].to_numpy()[row],
            "day": (begin[row] + offsets).astype(np.int64),
            "minutes": 0.0,
            "use": 0.0,
            "cost": 0.0,
            "stage": np.int8(LEFT),
        }
    )


def day_harm(snapshot: Snapshot, patient: np.ndarray, day: np.ndarray) -> np.ndarray:
    """priority(p) * f(t - r): the harm of waiting day t (section 4), on day D - 1 the harm of
    every day from D - 1 to D + tail_days - 1 (a stay that lasts past the horizon)."""
    patients, weights = snapshot.patients, snapshot.weights
    priority, ready = patients["priority"].to_numpy()[patient], patients["ready_day"].to_numpy()[patient]
    last = day == snapshot.horizon - 1
    after = np.where(
        last, unplaced_cost(priority, ready, snapshot.horizon, weights), delay_cost(priority, ready, day + 1, weights)
    )
    return after - delay_cost(priority, ready, day, weights)


def complete_stays(variables: pd.DataFrame, x: np.ndarray) -> np.ndarray:
    """x with its states set from its starts and entries: w (STAY), p is in v from its entry
    day up to the day before its start (or to the end); l (LEFT), p has started by the day:
    what rows (l) and (a)-(c) force."""
    stage = stage_of(variables)
    stay, left = np.flatnonzero(stage == STAY), np.flatnonzero(stage == LEFT)
    if len(stay) == 0 and len(left) == 0:
        return x
    x = np.asarray(x, dtype=float).copy()
    x[stay] = 0.0
    x[left] = 0.0
    chosen = x > 0.5
    patient, service, day = (variables[name].to_numpy() for name in ("patient", "service", "day"))
    horizon = int(day.max()) + 1
    started_at = np.full(int(patient.max()) + 1, horizon + 1)
    started_at[patient[chosen & (stage == DIRECT)]] = day[chosen & (stage == DIRECT)]
    x[left[day[left] >= started_at[patient[left]]]] = 1.0
    entered = np.flatnonzero(chosen & (stage == INTERIM))
    if len(entered) == 0:
        return x
    entry_service = dict(zip(patient[entered].tolist(), service[entered].tolist()))
    entry_day = dict(zip(patient[entered].tolist(), day[entered].tolist()))
    started = np.flatnonzero(chosen & (stage == DIRECT))
    start_day = dict(zip(patient[started].tolist(), day[started].tolist()))
    p = patient[stay]
    inside = np.array(
        [
            entry_service.get(q, -1) == v and entry_day[q] <= t < start_day.get(q, horizon + 1)
            for q, v, t in zip(p.tolist(), service[stay].tolist(), day[stay].tolist())
        ],
        dtype=bool,
    )
    x[stay[inside]] = 1.0
    return x


def _expand(cols: np.ndarray, group: np.ndarray, first: np.ndarray, last: np.ndarray, horizon: int):
    """Row ids ``group * horizon + t`` for t = first .. last (inclusive) of each column, with the columns."""
    count = np.maximum(last - first + 1, 0)
    start = np.cumsum(count) - count
    t = np.repeat(first, count) + (np.arange(int(count.sum())) - np.repeat(start, count))
    return np.repeat(group, count) * horizon + t, np.repeat(cols, count)


class InterimRoom(Room):
    """Who is in an interim bed since when: an x start of p after its entry is its onward
    start and must come on a later day."""

    def __init__(self, snapshot: Snapshot, placed: pd.DataFrame) -> None:
        self.entry_day = np.full(len(snapshot.patients), -1, dtype=np.int64)
        z = entries(placed)
        self.entry_day[z["patient"].to_numpy()] = z["day"].to_numpy()

    def fits(self, p, service, day):
        if self.entry_day[p] < 0:
            return np.ones(len(service), dtype=bool)
        return np.asarray(day) > self.entry_day[p]

    def enter(self, p, service, day):
        self.entry_day[p] = day

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
        """Rows (l) and (a)-(e) of the module doc, for every patient with entries (z) and day t:

            (l) l[p, t] - l[p, t - 1] - sum_s x[p, s, t] <= 0, and >= 0
            (a) w[p, v, t] - sum_{d <= t} z[p, v, d] <= 0
            (b) sum_v w[p, v, t] + l[p, t] + sum_{v, d > t} z[p, v, d] <= 1
            (c) sum_{v, d <= t} z[p, v, d] - l[p, t] - sum_v w[p, v, t] <= 0
            (d) sum_v z[p, v, t] + sum_s x[p, s, t] <= 1
            (e) sum_{v, d} z[p, v, d] <= 1

        written where they are not implied: (l) from the patient's first start or entry day,
        (b) where an entry can follow day t or a stay can be on it, (c) from the first
        possible entry, (d) on days with both an entry and a start, (e) for patients with
        two or more possible entries.
        """
        stage = stage_of(variables)
        patient, day = variables["patient"].to_numpy(), variables["day"].to_numpy()
        service = variables["service"].to_numpy()
        horizon = snapshot.horizon
        z = np.flatnonzero(stage == INTERIM)
        if len(z) == 0:
            return RowBlock(
                "interim",
                pd.DataFrame({"row": [], "patient_id": [], "service_id": [], "date": []}),
                np.zeros(0, np.int64),
                np.zeros(0, np.int64),
                np.zeros(0),
                np.zeros(0),
            )
        bridging = np.unique(patient[z])
        group = np.full(len(snapshot.patients), -1)
        group[bridging] = np.arange(len(bridging))
        x = np.flatnonzero((stage == DIRECT) & (group[patient] >= 0))
        w = np.flatnonzero(stage == STAY)
        left = np.flatnonzero(stage == LEFT)
        last = np.full(len(variables), horizon - 1)
        gz, gx, gw, gl = group[patient[z]], group[patient[x]], group[patient[w]], group[patient[left]]
        begin = np.full(len(bridging), horizon, dtype=np.int64)
        np.minimum.at(begin, gl, day[left])  # each patient's first day with a state (no start before it)
        parts = []  # (kind, row ids, cols, coefs, upper, rows kept, what a row is about)
        on_day = gl * horizon + day[left]  # the (p, t) row of each l

        # (l) per (p, t): l[t] - l[t-1] - X[t] <= 0 and its negation
        later = day[left] < horizon - 1  # l[t] enters the row of t + 1 as l[t + 1]'s yesterday
        rows = np.concatenate([on_day, on_day[later] + 1, gx * horizon + day[x]])
        cols = np.concatenate([left, left[later], x])
        coefs = np.concatenate([np.ones(len(left)), -np.ones(int(later.sum())), -np.ones(len(x))])
        kept = np.unique(on_day)
        parts.append(("l", rows, cols, coefs, 0.0, kept, bridging, None))
        parts.append(("l", rows, cols, -coefs, 0.0, kept, bridging, None))

        # (a) per (p, v) with stays
        pairs = patient.astype(np.int64) * len(snapshot.services) + service
        codes, pw = np.unique(pairs[w], return_inverse=True)
        pz = np.searchsorted(codes, pairs[z])
        has = np.isin(pairs[z], codes)
        rz, cz = _expand(z[has], pz[has], day[z][has], last[z][has], horizon)
        rows = np.concatenate([pw * horizon + day[w], rz])
        cols = np.concatenate([w, cz])
        coefs = np.concatenate([np.ones(len(w)), -np.ones(len(cz))])
        kept = np.unique(pw * horizon + day[w])
        parts.append(("a", rows, cols, coefs, 0.0, kept, codes // len(snapshot.services), codes % len(snapshot.services)))

        # (b) per (p, t) from the first state day
        rz, cz = _expand(z, gz, begin[gz], day[z] - 1, horizon)
        rows = np.concatenate([gw * horizon + day[w], on_day, rz])
        cols = np.concatenate([w, left, cz])
        kept = np.unique(np.concatenate([gw * horizon + day[w], rz]))
        parts.append(("b", rows, cols, np.ones(len(cols)), 1.0, kept, bridging, None))

        # (c) per (p, t) from the first possible entry
        rz, cz = _expand(z, gz, day[z], last[z], horizon)
        rows = np.concatenate([rz, on_day, gw * horizon + day[w]])
        cols = np.concatenate([cz, left, w])
        coefs = np.concatenate([np.ones(len(cz)), -np.ones(len(left)), -np.ones(len(w))])
        parts.append(("c", rows, cols, coefs, 0.0, np.unique(rz), bridging, None))

        # (d) per (p, t) with an entry and a start
        rows = np.concatenate([gz * horizon + day[z], gx * horizon + day[x]])
        cols = np.concatenate([z, x])
        kept = np.intersect1d(gz * horizon + day[z], gx * horizon + day[x])
        parts.append(("d", rows, cols, np.ones(len(cols)), 1.0, kept, bridging, None))

        # (e) per p with two or more entries
        counts = np.bincount(gz, minlength=len(bridging))
        kept = np.flatnonzero(counts >= 2) * horizon
        parts.append(("e", gz * horizon, z, np.ones(len(z)), 1.0, kept, bridging, None))

        return _stacked(snapshot, parts, horizon)

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


def _stacked(snapshot: Snapshot, parts, horizon: int) -> RowBlock:
    """One block of the parts' rows: each part's kept rows renumbered after the ones before."""
    rows, cols, coefs, uppers, keys = [], [], [], [], []
    offset = 0
    ids, service_ids = snapshot.patients["patient_id"].to_numpy(), snapshot.services["service_id"].to_numpy()
    for kind, row, col, coef, upper, kept, who, where in parts:
        local = np.full(int(max(row.max(initial=-1), kept.max(initial=-1))) + 1, -1)
        local[kept] = np.arange(len(kept))
        inside = local[row] >= 0
        rows.append(local[row[inside]] + offset)
        cols.append(col[inside])
        coefs.append(coef[inside])
        uppers.append(np.full(len(kept), upper))
        group, t = np.divmod(kept, horizon)
        keys.append(
            pd.DataFrame(
                {
                    "row": kind,
                    "patient_id": ids[who[group]],
                    "service_id": service_ids[where[group]] if where is not None else "",
                    "date": snapshot.date_of(t).to_numpy(),
                }
            )
        )
        offset += len(kept)
    return RowBlock(
        "interim",
        pd.concat(keys, ignore_index=True),
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(coefs),
        np.concatenate(uppers),
    )
