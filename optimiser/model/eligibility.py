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
from optimiser.model.families import Family, active
from optimiser.model.families.base import DIRECT
from optimiser.model.families.equipment import equipment_ready_days as equipment_ready_day
from optimiser.model.families.interim import entry_triples, left_triples, pinned_rows, stay_triples, uses_interim
from optimiser.model.reductions import drop_dominated_days
from optimiser.model.rules import (
    admits_on_day,
    cumulative_capacity,
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


def off_preference(snapshot: Snapshot, patient: np.ndarray, service: np.ndarray) -> np.ndarray:
    """True where patient p lists preferred services and service s is not one of them."""
    patients = snapshot.patients
    lists = patients["preferred_services"]
    has_list = lists.map(len).to_numpy() > 0
    if not has_list.any():
        return np.zeros(len(np.asarray(patient)), dtype=bool)
    preferred = pd.DataFrame({"patient": np.arange(len(patients)), "service_id": lists}).explode("service_id").dropna()
    service_index = snapshot.service_index
    preferred = preferred[preferred["service_id"].isin(service_index.index)]  # others can never be chosen
    preferred_codes = preferred["patient"].to_numpy(dtype=np.int64) * len(snapshot.services) + service_index.loc[
        preferred["service_id"]
    ].to_numpy(dtype=np.int64)
    codes = np.asarray(patient, dtype=np.int64) * len(snapshot.services) + np.asarray(service, dtype=np.int64)
    return has_list[patient] & ~np.isin(codes, preferred_codes)


def eligible_triples(
    snapshot: Snapshot,
    pairs: pd.DataFrame | None = None,
    drop_dominated: bool = True,
    protect: pd.DataFrame | None = None,
    families: tuple[Family, ...] | None = None,
) -> pd.DataFrame:
    """The model's variables: one row per eligible (patient, service, day).

    Columns: ``patient``, ``service``, ``day``, ``minutes``, ``use``, ``cost``.
    Days run from e(p) to D - 1; weekend days are dropped where the service
    takes no weekend admissions (rule 4); triples where use(p) > Cap(s, d) or
    an item is not yet in stock are dropped (the patient alone breaks rule 5
    or 7 there). A pinned patient keeps only the pinned triple. With
    ``drop_dominated``, days no optimal plan uses are dropped
    (``reductions.drop_dominated_days``, asking ``families``), except the
    eligible triples named in ``protect`` (patient, service, day): an objective
    term on them (``--keep``) would break the dominance argument.
    """
    if pairs is None:
        pairs = eligible_pairs(snapshot)
    patients = snapshot.patients
    earliest = patients["earliest_day"].to_numpy()
    start = np.maximum(earliest, equipment_ready_day(snapshot))[pairs["patient"].to_numpy()]
    counts = np.maximum(snapshot.horizon - start, 0)
    parts = _pair_parts(counts, ENUMERATED_ROWS)
    families = active() if families is None else families
    entry = entry_triples(snapshot) if uses_interim(snapshot) else None  # v2: interim entries
    if entry is not None and entry.empty:
        entry = None
    unreduced = np.zeros(len(snapshot.services), dtype=bool)
    bridging = np.zeros(len(patients), dtype=bool)
    if entry is not None:
        # a stay ends on a start's day, so an interim bed's load can fall and a bridging
        # patient's onward start must follow its entry: none of these days is dominated
        unreduced[np.unique(entry["service"].to_numpy())] = True
        bridging[np.unique(entry["patient"].to_numpy())] = True

    def candidates(part: slice) -> pd.DataFrame:
        return _keep_pinned_only(snapshot, _candidate_triples(snapshot, pairs.iloc[part], start[part], counts[part]))

    def reduced(triples: pd.DataFrame, basis: pd.DataFrame | None) -> pd.DataFrame:
        if not drop_dominated:
            return triples
        if entry is None:
            kept = drop_dominated_days(snapshot, triples, families, basis)
        else:
            whole = unreduced[triples["service"].to_numpy()] | bridging[triples["patient"].to_numpy()]
            basis = triples if basis is None else basis
            kept = pd.concat([drop_dominated_days(snapshot, triples[~whole], families, basis), triples[whole]])
            kept = kept.sort_values(["patient", "service", "day"], kind="stable")
        if protect is not None and len(protect):
            keys = ["patient", "service", "day"]
            wanted = triples.merge(protect[keys].drop_duplicates(), on=keys, how="left", indicator=True)["_merge"] == "both"
            kept = pd.concat([kept, triples[wanted.to_numpy()]]).drop_duplicates(keys)
        return kept

    if len(parts) == 1:
        triples = reduced(candidates(parts[0]), None)
    else:  # a long horizon: a part of the pairs at a time, so memory stays bounded
        basis = None
        if drop_dominated:
            basis = pd.concat(
                [candidates(part)[["patient", "service", "use"]].drop_duplicates(["patient", "service"]) for part in parts],
                ignore_index=True,
            )
        triples = pd.concat([reduced(candidates(part), basis) for part in parts], ignore_index=True)
    if drop_dominated and protect is not None and len(protect):
        triples = triples.sort_values(["patient", "service", "day"], kind="stable")
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
    if entry is not None:  # v2: the starts, then the entries and the days in interim beds
        starts = triples.assign(stage=np.int8(DIRECT))
        parts_of = [starts, entry, stay_triples(snapshot, entry), left_triples(snapshot, starts, entry)]
        triples = pd.concat(parts_of, ignore_index=True).sort_values(["patient", "stage"], kind="stable")
    return triples.reset_index(drop=True)


ENUMERATED_ROWS = 2_000_000  # (patient, service, day) candidates enumerated at a time


def _pair_parts(counts: np.ndarray, rows: int) -> list[slice]:
    """Consecutive runs of pairs with at most about ``rows`` candidate days each (one pair
    more than ``rows`` is a run of its own); one run for any usual horizon."""
    if counts.sum() <= rows:
        return [slice(0, len(counts))]
    ends = np.cumsum(counts)
    parts, first = [], 0
    while first < len(counts):
        last = int(np.searchsorted(ends, (ends[first - 1] if first else 0) + rows, side="right"))
        last = max(last, first + 1)
        parts.append(slice(first, last))
        first = last
    return parts


def _candidate_triples(snapshot: Snapshot, pairs: pd.DataFrame, start: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    """Every (patient, service, day) of the pairs from each pair's first possible day, less
    the days the patient alone cannot start (rules 4, 5 and 7) and, for a pinned patient,
    all but the pinned triple."""
    row = np.repeat(np.arange(len(pairs)), counts)
    offsets = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    triples = pairs.iloc[row].reset_index(drop=True)
    triples["day"] = (start[row] + offsets).astype(np.int64)
    s = triples["service"].to_numpy()
    d = triples["day"].to_numpy()
    triples["use"] = snapshot.patients["use"].to_numpy()[triples["patient"].to_numpy()]
    keep = admits_on_day(snapshot, s, d)
    keep &= triples["use"].to_numpy() <= cumulative_capacity(snapshot)[s, d] + TOLERANCE
    return triples[keep]


def pinned_triples(snapshot: Snapshot) -> pd.DataFrame:
    """Pinned rows as integer (patient, service, day)."""
    pinned = snapshot.pinned
    patient_index = snapshot.patient_index
    service_index = snapshot.service_index
    return pd.DataFrame(
        {
            "patient": patient_index.loc[pinned["patient_id"]].to_numpy(dtype=np.int64),
            "service": service_index.loc[pinned["service_id"]].to_numpy(dtype=np.int64),
            "day": snapshot.day_of(pinned["date"]).astype(np.int64),
        }
    )


def _keep_pinned_only(snapshot: Snapshot, triples: pd.DataFrame) -> pd.DataFrame:
    """A patient pinned to a start keeps only that triple (v2: one pinned to an interim
    entry keeps every start: its onward start is free)."""
    if snapshot.pinned.empty:
        return triples
    pinned = pinned_triples(snapshot)
    if "stage" in snapshot.pinned.columns:
        pinned = pinned[pinned_rows(snapshot)["stage"].to_numpy() == DIRECT]
    is_pinned_patient = np.isin(triples["patient"].to_numpy(), pinned["patient"].to_numpy())
    matched = triples.merge(pinned, on=["patient", "service", "day"], how="left", indicator=True)["_merge"].to_numpy()
    keep = ~is_pinned_patient | (matched == "both")
    return triples[keep]


def pinned_lower_bounds(snapshot: Snapshot, variables: pd.DataFrame) -> np.ndarray:
    """Pinned (rule 8): x[p, s, d] = 1 for every pinned row, as a lower bound of 1.

    Returns the variables' lower bounds. (The pinned patient's other triples
    were already left out of the model by ``eligible_triples``.) v2: a row pinned
    ``interim`` fixes the entry z; the onward start stays free.
    """
    lower = np.zeros(len(variables))
    if snapshot.pinned.empty:
        return lower
    keys = ["patient", "service", "day"]
    pinned = pinned_triples(snapshot)
    if "stage" in variables.columns:  # v2: a pinned row is a direct start or an interim entry
        keys.append("stage")
        pinned = pinned_rows(snapshot)
    located = variables[keys].reset_index(drop=True).reset_index().merge(pinned, on=keys)
    if len(located) != len(pinned):
        raise AssertionError("a pinned row has no eligible triple; validation should have caught it")
    lower[located["index"].to_numpy()] = 1.0
    return lower
