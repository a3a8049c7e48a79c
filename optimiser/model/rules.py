"""The placement rules of contract section 3, as vectorised predicates and tables.

Used both to enumerate eligible (patient, service, day) triples and to check
pinned rows, so that each rule is written once.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.schema import NEEDS
from optimiser.data.snapshot import Snapshot

SATURDAY, SUNDAY = 5, 6


def derived(*tables: str):
    """Compute a table derived from the snapshot's ``tables`` (attributes: tables, or
    ``settings`` for what depends on the date and horizon) once per set of those tables.

    The value is kept on the snapshot (``Snapshot.derived``, which copies of a snapshot
    share) with the table objects it came from, and given back while the snapshot holds
    those same objects (a table replaced, as a what-if or a
    simulated day does, is a new object, so the value is computed again). Arrays come back
    read-only and DataFrames as copies, so no caller can change what others are given.
    """

    def decorate(function):
        name = function.__name__

        @functools.wraps(function)
        def cached(snapshot):
            inputs = tuple(getattr(snapshot, table) for table in tables)
            store = snapshot.derived
            found = store.get(name)
            if found is None or len(found[0]) != len(inputs) or any(a is not b for a, b in zip(found[0], inputs)):
                found = store[name] = (inputs, _frozen(function(snapshot)))
            return _thawed(found[1])

        return cached

    return decorate


def _frozen(value):
    if isinstance(value, tuple):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    return value


def _thawed(value):
    if isinstance(value, tuple):
        return tuple(_thawed(item) for item in value)
    if isinstance(value, pd.DataFrame):
        return value.copy()
    return value


@derived("services", "coverage", "travel", "localities")
def reach_table(snapshot: Snapshot) -> pd.DataFrame:
    """Every (home locality, service) pair a patient could reach, with minutes (rule 3).

    Pathway 1: the service covers the locality (coverage.csv; a service with
    no rows covers its own locality); minutes are 0 and cost nothing.
    Pathways 2, 3: travel(locality, locality(s)) exists; same locality is 0
    minutes unless travel.csv says otherwise. The max-travel test is the
    patient's, applied later.
    """
    services = snapshot.services
    service_index = snapshot.service_index

    home = services[services["pathway"] == 1]
    coverage = snapshot.coverage[["service_id", "locality"]].drop_duplicates()
    uncovered = home[~home["service_id"].isin(coverage["service_id"])][["service_id", "locality"]]
    home_reach = pd.concat([coverage, uncovered], ignore_index=True)
    home_reach = pd.DataFrame(
        {
            "locality": home_reach["locality"].to_numpy(),
            "service": service_index.loc[home_reach["service_id"]].to_numpy(),
            "minutes": 0.0,
        }
    )

    travel = snapshot.travel[["from_locality", "to_locality", "minutes"]]
    localities = snapshot.localities["locality_id"]
    same = pd.DataFrame({"from_locality": localities, "to_locality": localities, "minutes": 0.0})
    travel = pd.concat([travel, same], ignore_index=True).drop_duplicates(["from_locality", "to_locality"], keep="first")
    beds = services[services["pathway"] != 1]
    beds = pd.DataFrame({"to_locality": beds["locality"].to_numpy(), "service": service_index.loc[beds["service_id"]].to_numpy()})
    bed_reach = travel.merge(beds, on="to_locality")
    bed_reach = pd.DataFrame(
        {"locality": bed_reach["from_locality"], "service": bed_reach["service"], "minutes": bed_reach["minutes"].astype(float)}
    )
    reach = pd.concat([home_reach, bed_reach], ignore_index=True)
    return reach.sort_values(["locality", "service"], kind="stable").reset_index(drop=True)


def with_attributes(snapshot: Snapshot, pairs: pd.DataFrame) -> pd.DataFrame:
    """Add the patient (``p_``) and service (``s_``) attributes the rules read to pairs
    of integer ``patient`` and ``service`` indices."""
    patients = snapshot.patients
    services = snapshot.services
    p = pairs["patient"].to_numpy()
    s = pairs["service"].to_numpy()
    out = pairs.copy()
    out["p_pathway"] = patients["pathway"].to_numpy()[p]
    out["s_pathway"] = services["pathway"].to_numpy()[s]
    out["p_carers"] = patients["carers"].to_numpy()[p]
    out["s_double_handed"] = services["double_handed"].to_numpy()[s]
    for need in NEEDS:
        out[f"p_{need}"] = patients[need].to_numpy()[p]
        out[f"s_{need}"] = services[need].to_numpy()[s]
    return out


def patient_needs(snapshot: Snapshot, p: int) -> list[str]:
    """Rule 2's needs of one patient, in words (``double-handed`` for two carers on pathway 1)."""
    patients = snapshot.patients
    needs = [need for need in NEEDS if bool(patients[need].iat[p])]
    if patients["pathway"].iat[p] == 1 and int(patients["carers"].iat[p]) == 2:
        needs.append("double-handed")
    return needs


def pathway_matches(pairs: pd.DataFrame) -> np.ndarray:
    """Rule 1: pathway(s) == pathway(p)."""
    return (pairs["p_pathway"] == pairs["s_pathway"]).to_numpy()


def unmet_needs(pairs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Rule 2, need by need: True where the patient has the need and the service lacks it.

    Keys: dementia, nursing, bariatric, double_handed (carers == 2 on pathway 1).
    """
    unmet = {need: (pairs[f"p_{need}"] & ~pairs[f"s_{need}"]).to_numpy() for need in NEEDS}
    unmet["double_handed"] = ((pairs["p_pathway"] == 1) & (pairs["p_carers"] == 2) & ~pairs["s_double_handed"]).to_numpy()
    return unmet


def needs_met(pairs: pd.DataFrame) -> np.ndarray:
    """Rule 2: every need of the patient is met by the service."""
    met = np.ones(len(pairs), dtype=bool)
    for unmet in unmet_needs(pairs).values():
        met &= ~unmet
    return met


def admits_on_day(snapshot: Snapshot, service: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Rule 4 (weekends): False where day is a Saturday or Sunday and the service takes no weekend admissions."""
    weekday = (snapshot.snapshot_date.weekday() + np.asarray(day)) % 7
    weekend = (weekday == SATURDAY) | (weekday == SUNDAY)
    return ~weekend | snapshot.services["weekend_admissions"].to_numpy()[service]


@derived("services", "capacity", "settings")
def cumulative_capacity(snapshot: Snapshot) -> np.ndarray:
    """Cap[s, d]: capacity amounts of service s with day <= d (rule 5), shape (services, D).

    A date before the snapshot counts on day 0; a date past the horizon is ignored.
    """
    horizon = snapshot.horizon
    arrivals = np.zeros((len(snapshot.services), horizon))
    capacity = snapshot.capacity
    banded = band_of_rows(capacity) != ""
    if banded.any():  # v2: band rows are rule 5b's; rule 5 holds where a service has all-day rows or no band rows
        capacity = capacity[~banded]
        service_index = snapshot.service_index
        only_bands = set(snapshot.capacity.loc[banded, "service_id"]) - set(capacity["service_id"])
        arrivals[service_index.loc[sorted(only_bands)].to_numpy(), 0] = np.inf
    if len(capacity):
        service_index = snapshot.service_index
        days = np.maximum(snapshot.day_of(capacity["date"]), 0).astype(np.int64)
        inside = days < horizon
        rows = service_index.loc[capacity["service_id"]].to_numpy()[inside]
        with np.errstate(over="ignore"):  # amounts near the float limit add up to inf: no limit
            np.add.at(arrivals, (rows, days[inside]), capacity["amount"].to_numpy(dtype=float)[inside])
    with np.errstate(over="ignore"):
        return np.cumsum(arrivals, axis=1)


def band_of_rows(capacity: pd.DataFrame) -> pd.Series:
    """capacity.csv's band column ("" for all-day rows, and for rows made without one)."""
    if "band" not in capacity.columns:
        return pd.Series("", index=capacity.index, dtype=object)
    return capacity["band"].fillna("").astype(str)


@derived("services", "capacity", "settings")
def band_capacity(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """Rule 5b (v2): ``(services, Cap)``: the pathway-1 services with band rows, and
    Cap[k, b, d], the carer-hours of band b (in snapshot.toml's order) arrived at the k-th of
    them by day d, shape (those services, bands, D). A service with band rows has no
    capacity in a band it has no rows for."""
    bands = snapshot.settings.bands
    capacity = snapshot.capacity[band_of_rows(snapshot.capacity) != ""]
    if not bands or capacity.empty:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(bands), snapshot.horizon))
    services = np.unique(snapshot.service_index.loc[capacity["service_id"]].to_numpy())
    position = np.full(len(snapshot.services), -1)
    position[services] = np.arange(len(services))
    arrivals = np.zeros((len(services), len(bands), snapshot.horizon))
    days = np.maximum(snapshot.day_of(capacity["date"]), 0).astype(np.int64)
    inside = days < snapshot.horizon
    k = position[snapshot.service_index.loc[capacity["service_id"]].to_numpy()][inside]
    b = pd.Index(bands).get_indexer(capacity["band"])[inside]
    with np.errstate(over="ignore"):
        np.add.at(arrivals, (k, b, days[inside]), capacity["amount"].to_numpy(dtype=float)[inside])
        return services, np.cumsum(arrivals, axis=2)


@derived("patients", "care_bands", "settings")
def band_use(snapshot: Snapshot) -> np.ndarray:
    """Rule 5b (v2): use[p, b] = hours of band b x carers of patient p (0 off pathway 1)."""
    bands = snapshot.settings.bands
    use = np.zeros((len(snapshot.patients), len(bands)))
    rows = snapshot.care_bands
    if bands and len(rows):
        index = snapshot.patient_index
        known = rows["patient_id"].isin(index.index)
        p = index.loc[rows.loc[known, "patient_id"]].to_numpy()
        b = pd.Index(bands).get_indexer(rows.loc[known, "band"])
        np.add.at(use, (p, b), rows.loc[known, "hours"].to_numpy(dtype=float))
        use *= snapshot.patients["carers"].to_numpy(dtype=float)[:, None]
        use[(snapshot.patients["pathway"] != 1).to_numpy()] = 0.0
    return use


@derived("equipment", "settings")
def cumulative_stock(snapshot: Snapshot) -> tuple[pd.DataFrame, np.ndarray]:
    """Stock[k, d]: units of (store, item) key k arrived by day d (rule 7).

    Returns the keys (columns ``store``, ``item``, sorted) and the array, shape (keys, D).
    """
    horizon = snapshot.horizon
    equipment = snapshot.equipment
    keys = (
        equipment[["store_id", "item"]]
        .drop_duplicates()
        .sort_values(["store_id", "item"])
        .rename(columns={"store_id": "store"})
        .reset_index(drop=True)
    )
    arrivals = np.zeros((len(keys), horizon))
    if len(keys):
        key_index = pd.Series(np.arange(len(keys)), index=pd.MultiIndex.from_frame(keys))
        days = np.maximum(snapshot.day_of(equipment["date"]), 0).astype(np.int64)
        inside = days < horizon
        rows = key_index.loc[pd.MultiIndex.from_frame(equipment[["store_id", "item"]])].to_numpy()[inside]
        with np.errstate(over="ignore"):
            np.add.at(arrivals, (rows, days[inside]), equipment["quantity"].to_numpy(dtype=float)[inside])
    with np.errstate(over="ignore"):
        return keys, np.cumsum(arrivals, axis=1)


@derived("patients", "equipment", "localities")
def equipment_needs(snapshot: Snapshot) -> pd.DataFrame:
    """One row per (pathway-1 patient, item needed): ``patient``, ``store``, ``item``, ``key``.

    ``key`` indexes :func:`cumulative_stock`'s keys, or is -1 where the
    locality has no store or the store never stocks the item.
    """
    patients = snapshot.patients
    wanting = (patients["pathway"] == 1).to_numpy() & (patients["equipment"].map(len).to_numpy() > 0)
    if not wanting.any():
        return pd.DataFrame(
            {
                "patient": np.zeros(0, dtype=np.int64),
                "store": np.zeros(0, dtype=object),
                "item": np.zeros(0, dtype=object),
                "key": np.zeros(0, dtype=np.int64),
            }
        )
    needs = pd.DataFrame({"patient": np.arange(len(patients)), "item": patients["equipment"], "store": patients["store"]})
    needs = needs[wanting].explode("item").dropna(subset=["item"])
    needs = needs.drop_duplicates(["patient", "item"]).reset_index(drop=True)
    keys, _ = cumulative_stock(snapshot)
    keyed = needs.merge(keys.assign(key=np.arange(len(keys))), on=["store", "item"], how="left")
    keyed["key"] = keyed["key"].fillna(-1).astype(np.int64)
    keyed["patient"] = keyed["patient"].astype(np.int64)
    return keyed[["patient", "store", "item", "key"]]


def breakpoint_days(arrivals_cumulative: np.ndarray) -> np.ndarray:
    """Boolean mask (rows, D): the days on which a cumulative row must be written.

    Cap(d) only grows; if Cap(d) == Cap(d+1), the row at d is implied by the
    row at d+1 (usage is non-negative and cumulative). So rows are needed only
    on the last day D-1 and on each day just before new capacity arrives.
    """
    if arrivals_cumulative.shape[1] == 0:
        return np.zeros_like(arrivals_cumulative, dtype=bool)
    grows_next = np.zeros_like(arrivals_cumulative, dtype=bool)
    grows_next[:, :-1] = arrivals_cumulative[:, 1:] > arrivals_cumulative[:, :-1]
    grows_next[:, -1] = True
    return grows_next


def suffix_min(values: np.ndarray) -> np.ndarray:
    """min over d' >= d along the last axis: the least slack from day d on."""
    return np.minimum.accumulate(values[..., ::-1], axis=-1)[..., ::-1]


def reach_minutes(snapshot: Snapshot, patient: np.ndarray, service: np.ndarray) -> np.ndarray:
    """Rule 3: travel minutes from each patient's home to each service (NaN where the service
    does not cover the locality, pathway 1, or no travel time is known, pathways 2-3)."""
    pairs = pd.DataFrame({"locality": snapshot.patients["locality"].to_numpy()[patient], "service": service})
    return pairs.merge(reach_table(snapshot), on=["locality", "service"], how="left")["minutes"].to_numpy(dtype=float)


def exclusions(snapshot: Snapshot, patient: np.ndarray, service: np.ndarray) -> tuple[list[list[str]], list[str]]:
    """Why rules 2 and 3 exclude each (patient, service) pair, in words: per pair the needs
    the service lacks (``double-handed`` for two carers on pathway 1), and what breaks reach
    ("" if it holds): "does not cover the locality" (pathway 1), "no travel time from the
    home locality", or "90 min away, over the 60 min limit". The one wording of these rules
    that explain and validation use."""
    patient, service = np.asarray(patient, dtype=np.int64), np.asarray(service, dtype=np.int64)
    unmet = unmet_needs(with_attributes(snapshot, pd.DataFrame({"patient": patient, "service": service})))
    lacking = [[need.replace("_", "-") for need, mask in unmet.items() if mask[i]] for i in range(len(patient))]
    minutes = reach_minutes(snapshot, patient, service)
    patients = snapshot.patients
    limit = patients["max_travel"].to_numpy()[patient]
    pathway = patients["pathway"].to_numpy()[patient]
    reach = []
    for m, most, path in zip(minutes, limit, pathway):
        if np.isnan(m):
            reach.append("does not cover the locality" if path == 1 else "no travel time from the home locality")
        elif m > most + TOLERANCE:
            reach.append(f"{m:g} min away, over the {most:g} min limit")
        else:
            reach.append("")
    return lacking, reach
