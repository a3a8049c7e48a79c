"""Eligible (patient, service, day) triples and their costs, built vectorised.

A triple is a decision variable x[p, s, d] of the model. It exists only
where rules 1-4 hold, and where the patient alone would not already break
rule 5 or 7 (use(p) <= Cap(s, d); every item needed is in stock by day d):
dropping those triples changes no feasible plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.snapshot import Snapshot
from optimiser.model.costs import placement_cost
from optimiser.model.rules import (
    admits_on_day,
    cumulative_capacity,
    cumulative_stock,
    equipment_needs,
    needs_met,
    pathway_matches,
    reach_table,
    with_attributes,
)


def eligible_pairs(snapshot: Snapshot) -> pd.DataFrame:
    """(patient, service, minutes) where rules 1-3 hold: pathway, needs and reach."""
    patients = snapshot.patients
    reach = reach_table(snapshot)
    reach["pathway"] = snapshot.services["pathway"].to_numpy()[reach["service"].to_numpy()]
    homes = pd.DataFrame({"patient": np.arange(len(patients)), "locality": patients["locality"], "pathway": patients["pathway"]})
    pairs = homes.merge(reach, on=["locality", "pathway"])[["patient", "service", "minutes"]]
    attributes = with_attributes(snapshot, pairs)
    within = pairs["minutes"].to_numpy() <= patients["max_travel"].to_numpy()[pairs["patient"].to_numpy()] + TOLERANCE
    keep = pathway_matches(attributes) & needs_met(attributes) & within
    return pairs[keep].sort_values(["patient", "service"], kind="stable").reset_index(drop=True)


def equipment_ready_day(snapshot: Snapshot) -> np.ndarray:
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


def off_preference(snapshot: Snapshot, patient: np.ndarray, service: np.ndarray) -> np.ndarray:
    """True where patient p lists preferred services and service s is not one of them."""
    patients = snapshot.patients
    lists = patients["preferred_services"]
    has_list = lists.map(len).to_numpy() > 0
    preferred = pd.DataFrame({"patient": np.arange(len(patients)), "service_id": lists}).explode("service_id").dropna()
    service_index = pd.Series(np.arange(len(snapshot.services)), index=snapshot.services["service_id"])
    preferred = preferred[preferred["service_id"].isin(service_index.index)]  # others can never be chosen
    preferred_codes = preferred["patient"].to_numpy(dtype=np.int64) * len(snapshot.services) + service_index.loc[
        preferred["service_id"]
    ].to_numpy(dtype=np.int64)
    codes = np.asarray(patient, dtype=np.int64) * len(snapshot.services) + np.asarray(service, dtype=np.int64)
    return has_list[patient] & ~np.isin(codes, preferred_codes)


def eligible_triples(
    snapshot: Snapshot, pairs: pd.DataFrame | None = None, drop_dominated: bool = True, protect: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The model's variables: one row per eligible (patient, service, day).

    Columns: ``patient``, ``service``, ``day``, ``minutes``, ``use``, ``cost``.
    Days run from e(p) to D - 1; weekend days are dropped where the service
    takes no weekend admissions (rule 4); triples where use(p) > Cap(s, d) or
    an item is not yet in stock are dropped (the patient alone breaks rule 5
    or 7 there). A pinned patient keeps only the pinned triple. With
    ``drop_dominated``, days no optimal plan uses are dropped
    (``_drop_dominated_days``), except the eligible triples named in
    ``protect`` (patient, service, day): an objective term on them (``--keep``)
    would break the dominance argument.
    """
    if pairs is None:
        pairs = eligible_pairs(snapshot)
    patients = snapshot.patients
    horizon = snapshot.horizon
    earliest = patients["earliest_day"].to_numpy()
    start = np.maximum(earliest, equipment_ready_day(snapshot))[pairs["patient"].to_numpy()]
    counts = np.maximum(horizon - start, 0)
    row = np.repeat(np.arange(len(pairs)), counts)
    offsets = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    triples = pairs.iloc[row].reset_index(drop=True)
    triples["day"] = (start[row] + offsets).astype(np.int64)
    p = triples["patient"].to_numpy()
    s = triples["service"].to_numpy()
    d = triples["day"].to_numpy()
    triples["use"] = patients["use"].to_numpy()[p]
    keep = admits_on_day(snapshot, s, d)
    keep &= triples["use"].to_numpy() <= cumulative_capacity(snapshot)[s, d] + TOLERANCE
    triples = triples[keep]
    triples = _keep_pinned_only(snapshot, triples)
    if drop_dominated:
        kept = _drop_dominated_days(snapshot, triples)
        if protect is not None and len(protect):
            keys = ["patient", "service", "day"]
            wanted = triples.merge(protect[keys].drop_duplicates(), on=keys, how="left", indicator=True)["_merge"] == "both"
            kept = pd.concat([kept, triples[wanted.to_numpy()]]).drop_duplicates(keys)
            kept = kept.sort_values(keys, kind="stable")
        triples = kept
    p = triples["patient"].to_numpy()
    s = triples["service"].to_numpy()
    triples["cost"] = placement_cost(
        patients["priority"].to_numpy()[p],
        patients["ready_day"].to_numpy()[p],
        triples["day"].to_numpy(),
        triples["minutes"].to_numpy(),
        patients["pathway"].to_numpy()[p],
        off_preference(snapshot, p, s),
        snapshot.weights,
    )
    return triples.reset_index(drop=True)


def pinned_triples(snapshot: Snapshot) -> pd.DataFrame:
    """Pinned rows as integer (patient, service, day)."""
    pinned = snapshot.pinned
    patient_index = pd.Series(np.arange(len(snapshot.patients)), index=snapshot.patients["patient_id"])
    service_index = pd.Series(np.arange(len(snapshot.services)), index=snapshot.services["service_id"])
    return pd.DataFrame(
        {
            "patient": patient_index.loc[pinned["patient_id"]].to_numpy(dtype=np.int64),
            "service": service_index.loc[pinned["service_id"]].to_numpy(dtype=np.int64),
            "day": snapshot.day_of(pinned["date"]).astype(np.int64),
        }
    )


def _keep_pinned_only(snapshot: Snapshot, triples: pd.DataFrame) -> pd.DataFrame:
    if snapshot.pinned.empty:
        return triples
    pinned = pinned_triples(snapshot)
    is_pinned_patient = np.isin(triples["patient"].to_numpy(), pinned["patient"].to_numpy())
    matched = triples.merge(pinned, on=["patient", "service", "day"], how="left", indicator=True)["_merge"].to_numpy()
    keep = ~is_pinned_patient | (matched == "both")
    return triples[keep]


def _drop_dominated_days(snapshot: Snapshot, triples: pd.DataFrame) -> pd.DataFrame:
    """Drop start days that no optimal plan uses (an exact reduction).

    Call an *interval* of (p, s) a run of days on which neither Cap(s, .) nor
    the stock of any item p needs changes. Moving p's start earlier within an
    interval keeps every capacity and equipment row (the cumulative load at
    the earlier days is at most the load at the later day, and the right-hand
    side is the same), and strictly lowers its cost (delay grows with d).
    So, if s has no admission limit, only p's first day in each interval can
    be optimal. If s admits at most m a day, p's first ceil(N / m) days of the interval suffice, where N is the number of
    patients that could start at s (those with triples there, and at most
    Cap(s, D-1) / smallest use): were p to start later,
    those days hold at least N admission slots, the other patients fill at
    most N - 1, and p could move to a free one at lower cost.
    """
    if triples.empty:
        return triples
    horizon = snapshot.horizon
    patient = triples["patient"].to_numpy()
    service = triples["service"].to_numpy()
    day = triples["day"].to_numpy()

    capacity = cumulative_capacity(snapshot)
    capacity_changes = np.zeros_like(capacity, dtype=np.int64)
    capacity_changes[:, 1:] = np.cumsum(capacity[:, 1:] > capacity[:, :-1] + TOLERANCE, axis=1)

    stock_changes = np.zeros((len(snapshot.patients), horizon), dtype=np.int64)
    needs = equipment_needs(snapshot)
    needs = needs[needs["key"] >= 0]
    if len(needs):
        _, stock = cumulative_stock(snapshot)
        arrives = np.zeros_like(stock, dtype=bool)
        arrives[:, 1:] = stock[:, 1:] > stock[:, :-1] + TOLERANCE
        any_arrival = np.zeros((len(snapshot.patients), horizon), dtype=bool)
        np.logical_or.at(any_arrival, needs["patient"].to_numpy(), arrives[needs["key"].to_numpy()])
        stock_changes = np.cumsum(any_arrival, axis=1)

    limit = snapshot.services["max_admissions_per_day"].to_numpy(dtype=float)
    candidates = pd.Series(patient).groupby(service).nunique()
    smallest_use = pd.Series(triples["use"].to_numpy()).groupby(service).min()
    per_service = np.zeros(len(limit))
    index = candidates.index.to_numpy()
    fit = np.floor(capacity[index, -1] / smallest_use.loc[index].to_numpy() + TOLERANCE)
    per_service[index] = np.minimum(candidates.to_numpy(), fit)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep_days = np.where(np.isnan(limit), 1, np.ceil(per_service / limit))
    keep_days = np.where(limit == 0, 0, keep_days)

    interval = pd.DataFrame(
        {"patient": patient, "service": service, "a": capacity_changes[service, day], "b": stock_changes[patient, day]}
    )
    rank = interval.groupby(["patient", "service", "a", "b"], sort=False).cumcount().to_numpy()
    return triples[rank < keep_days[service]]
