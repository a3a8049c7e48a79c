"""Placements from an earlier plan (``data.files.read_plan_placements``), matched to today's model.

Used by ``allocate --keep`` (yesterday's plan as the default) and as a warm
start (a plan for a snapshot with more capacity is still feasible).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.constants import FEASIBILITY
from optimiser.data.schema import DIRECT as DIRECT_NAME
from optimiser.data.schema import INTERIM as INTERIM_NAME
from optimiser.data.schema import ONWARD as ONWARD_NAME
from optimiser.data.snapshot import Snapshot
from optimiser.model.families.base import DIRECT, INTERIM
from optimiser.model.families.interim import complete_stays
from optimiser.model.formulation import Formulation


def placement_triples(snapshot: Snapshot, placements: pd.DataFrame) -> pd.DataFrame:
    """(patient, service, day) of the placements whose patient and service are in the snapshot
    and whose start date is within the horizon."""
    patient_index = snapshot.patient_index
    service_index = snapshot.service_index
    frame = placements[placements["patient_id"].isin(patient_index.index) & placements["service_id"].isin(service_index.index)]
    day = snapshot.day_of(frame["start_date"])
    inside = (day >= 0) & (day < snapshot.horizon)
    frame = frame[inside]
    triples = pd.DataFrame(
        {
            "patient": patient_index[frame["patient_id"]].to_numpy(),
            "service": service_index[frame["service_id"]].to_numpy(),
            "day": day[inside].astype(np.int64),
        }
    )
    if "stage" in frame.columns:  # v2: an interim row is an entry; direct and onward rows are starts
        stage = frame["stage"].fillna(DIRECT_NAME).map(STAGE_NUMBERS).fillna(DIRECT).to_numpy(dtype=np.int8)
        triples["stage"] = stage
    return triples


STAGE_NUMBERS = {DIRECT_NAME: DIRECT, INTERIM_NAME: INTERIM, ONWARD_NAME: DIRECT}


def columns_of(formulation: Formulation, triples: pd.DataFrame) -> np.ndarray:
    """Variable index of each triple, -1 where the model has no such variable (v2: matched by
    stage too; a staged row of a model without interim beds matches only as a start)."""
    keys = ["patient", "service", "day"]
    variables = formulation.variables
    if "stage" in triples.columns and "stage" in variables.columns:
        keys.append("stage")
    elif "stage" in triples.columns:
        direct = triples["stage"].to_numpy() == DIRECT
        found = np.full(len(triples), -1, dtype=np.int64)
        found[direct] = columns_of(formulation, triples[direct].drop(columns=["stage"]))
        return found
    index = variables[keys].reset_index(drop=True).reset_index()
    found = triples[keys].merge(index, on=keys, how="left")["index"]
    return found.fillna(-1).to_numpy(dtype=np.int64)


def start_vector(formulation: Formulation, triples: pd.DataFrame) -> np.ndarray | None:
    """The placements as a 0/1 vector of the model, or None if it breaks a row (not a usable start)."""
    x = np.zeros(formulation.num_variables)
    columns = columns_of(formulation, triples)
    x[columns[columns >= 0]] = 1.0
    x = complete_stays(formulation.variables, x)  # v2: the days in interim beds the entries and starts fix
    return None if formulation.violations(x) else x


@dataclass(frozen=True)
class KeptStart:
    """An earlier plan's placements that still fit today's model, as a start: ``x`` (None when
    none fits), and how many of the plan's patients were ``kept`` of those ``offered``."""

    x: np.ndarray | None
    kept: int
    offered: int


def kept_start(formulation: Formulation, triples: pd.DataFrame) -> KeptStart:
    """The placements that still fit, patient by patient: each patient's rows of the plan (its
    start; v2 also its entry and the days in the interim bed they fix) are kept, cheapest
    objective first, when with the patients kept before them and the pinned rows they break
    no row. Exact where the whole plan fits (it is all kept); otherwise the parts a change
    of today's state (a place gone, a patient gone) does not touch survive, where
    ``start_vector`` would give no start at all."""
    columns = columns_of(formulation, triples)
    columns = np.unique(columns[columns >= 0])
    offered = int(len(np.unique(formulation.variables["patient"].to_numpy()[columns]))) if len(columns) else 0
    if not len(columns):
        return KeptStart(None, 0, 0)
    planned = np.zeros(formulation.num_variables)
    planned[columns] = 1.0
    planned = complete_stays(formulation.variables, planned)
    chosen = np.flatnonzero(planned > 0.5)
    matrix, upper = formulation.matrix()
    by_column = matrix.tocsc()
    x = (formulation.lower > 0.5).astype(float)  # pinned rows are kept whatever the plan says
    load = matrix @ x
    patient = formulation.variables["patient"].to_numpy()
    # a dict, not get_group: pandas 3 cannot get the group of a Series with one group
    groups = {p: cols.to_numpy() for p, cols in pd.Series(chosen).groupby(patient[chosen])}
    value = {p: float(formulation.objective[cols].sum()) for p, cols in groups.items()}
    kept = 0
    for p in sorted(value, key=lambda q: (value[q], q)):
        cols = groups[p]
        cols = cols[x[cols] < 0.5]
        block = by_column[:, cols]
        rows, where = np.unique(block.indices, return_inverse=True)
        change = np.bincount(where, weights=block.data, minlength=len(rows))
        if np.all(load[rows] + change <= upper[rows] + FEASIBILITY):
            x[cols] = 1.0
            load[rows] += change
            kept += 1
    if kept == 0 or formulation.violations(x):
        return KeptStart(None, 0, offered)
    return KeptStart(x, kept, offered)


def agreed_moves(triples: pd.DataFrame) -> pd.DataFrame:
    """The row of each patient that ``--keep`` holds to: its start, or (v2) its interim
    entry, the move agreed out of the acute bed (the onward start may change freely)."""
    if "stage" not in triples.columns or not (triples["stage"].to_numpy() == INTERIM).any():
        return triples
    entry = triples["stage"].to_numpy() == INTERIM
    return triples[entry | ~triples["patient"].isin(triples.loc[entry, "patient"]).to_numpy()]


def with_disruption_penalty(formulation: Formulation, triples: pd.DataFrame, penalty: float) -> Formulation:
    """The model plus ``penalty`` for each listed patient not started at its listed (service, day).

        min  standard objective + penalty * sum_{p in K} (1 - x[p, s0(p), d0(p)])

    written, like the unplaced cost, as U(p) += penalty for p in K and a
    coefficient of -penalty on x[p, s0, d0] (every other variable of p keeps
    cost - U). Patients whose earlier triple is no longer a variable pay the
    penalty whatever happens (a constant). v2: a journey is kept by its interim entry (the
    move agreed out of the acute bed); its onward start may change freely.
    """
    triples = agreed_moves(triples)
    unplaced_cost = formulation.unplaced_cost.copy()
    objective = formulation.objective.copy()
    patients = np.unique(triples["patient"].to_numpy())
    unplaced_cost[patients] += penalty
    columns = columns_of(formulation, triples)
    objective[columns[columns >= 0]] -= penalty
    return dataclasses.replace(
        formulation,
        objective=objective,
        unplaced_cost=unplaced_cost,
        constant=float(formulation.constant + penalty * len(patients)),
    )
