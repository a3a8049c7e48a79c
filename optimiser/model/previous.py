"""Placements from an earlier plan: read plan.csv, match them to today's model.

Used by ``allocate --keep`` (yesterday's plan as the default) and as a warm
start (a plan for a snapshot with more capacity is still feasible).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.data.problems import ProblemList, SnapshotError
from optimiser.data.snapshot import Snapshot
from optimiser.model.formulation import Formulation

REQUIRED = ("patient_id", "service_id", "start_date")


def read_plan_placements(folder: str | Path) -> pd.DataFrame:
    """plan.csv of a plan folder: patient_id, service_id, start_date (ISO text); SnapshotError lists problems."""
    path = Path(folder) / "plan.csv"
    problems = ProblemList()
    if not path.is_file():
        problems.add(str(path), None, None, None, "is missing; give a folder that `optimiser allocate` wrote")
        raise SnapshotError(problems)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [column for column in REQUIRED if column not in header]
        for column in missing:
            problems.add(str(path), 1, column, None, "column is missing; plan.csv needs patient_id, service_id, start_date")
        rows = []
        if not missing:
            for line, row in enumerate(reader, start=2):
                try:
                    pd.Timestamp(row["start_date"]).date()
                except (ValueError, TypeError):
                    problems.add(str(path), line, "start_date", row["start_date"], "is not a date; write YYYY-MM-DD")
                    continue
                rows.append({column: row[column].strip() for column in REQUIRED})
    if problems:
        raise SnapshotError(problems)
    return pd.DataFrame(rows, columns=list(REQUIRED))


def placement_triples(snapshot: Snapshot, placements: pd.DataFrame) -> pd.DataFrame:
    """(patient, service, day) of the placements whose patient and service are in the snapshot
    and whose start date is within the horizon."""
    patient_index = pd.Series(np.arange(len(snapshot.patients)), index=snapshot.patients["patient_id"])
    service_index = pd.Series(np.arange(len(snapshot.services)), index=snapshot.services["service_id"])
    frame = placements[placements["patient_id"].isin(patient_index.index) & placements["service_id"].isin(service_index.index)]
    day = snapshot.day_of(frame["start_date"])
    inside = (day >= 0) & (day < snapshot.horizon)
    frame = frame[inside]
    return pd.DataFrame(
        {
            "patient": patient_index[frame["patient_id"]].to_numpy(),
            "service": service_index[frame["service_id"]].to_numpy(),
            "day": day[inside].astype(np.int64),
        }
    )


def columns_of(formulation: Formulation, triples: pd.DataFrame) -> np.ndarray:
    """Variable index of each triple, -1 where the model has no such variable."""
    keys = ["patient", "service", "day"]
    index = formulation.variables[keys].reset_index(drop=True).reset_index()
    found = triples[keys].merge(index, on=keys, how="left")["index"]
    return found.fillna(-1).to_numpy(dtype=np.int64)


def start_vector(formulation: Formulation, triples: pd.DataFrame) -> np.ndarray | None:
    """The placements as a 0/1 vector of the model, or None if it breaks a row (not a usable start)."""
    x = np.zeros(formulation.num_variables)
    columns = columns_of(formulation, triples)
    x[columns[columns >= 0]] = 1.0
    return None if formulation.violations(x) else x


def with_disruption_penalty(formulation: Formulation, triples: pd.DataFrame, penalty: float) -> Formulation:
    """The model plus ``penalty`` for each listed patient not started at its listed (service, day).

        min  standard objective + penalty * sum_{p in K} (1 - x[p, s0(p), d0(p)])

    written, like the unplaced cost, as U(p) += penalty for p in K and a
    coefficient of -penalty on x[p, s0, d0] (every other variable of p keeps
    cost - U). Patients whose earlier triple is no longer a variable pay the
    penalty whatever happens (a constant).
    """
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
