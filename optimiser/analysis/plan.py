"""A plan: tidy tables of placements and unplaced patients, a summary, and writing them.

Tables follow contract section 5: ``plan.csv`` (patient_id, service_id,
start_date, wait_days, cost), ``unplaced.csv`` (patient_id, reason) and
``summary.json``. The in-memory tables carry extra columns for analysts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.analysis.reasons import unplaced_reasons
from optimiser.data.database import is_database_url, shown
from optimiser.data.files import safe_csv, write_files
from optimiser.data.schema import DIRECT
from optimiser.data.schema import INTERIM as INTERIM_NAME
from optimiser.data.schema import ONWARD as ONWARD_NAME
from optimiser.data.snapshot import Snapshot
from optimiser.model.costs import delay_cost, interim_cost
from optimiser.model.families.base import DIRECT as DIRECT_STAGE
from optimiser.model.families.base import INTERIM, moves, stage_of
from optimiser.model.families.interim import uses_interim
from optimiser.model.formulation import Formulation
from optimiser.solve.result import PartReport, SolveResult

PLAN_COLUMNS = ["patient_id", "service_id", "start_date", "wait_days", "cost"]
DETAIL_COLUMNS = ["service_name", "pathway", "site", "locality", "priority", "start_weekday"]  # plan.csv --details
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
UNPLACED_COLUMNS = ["patient_id", "reason"]


@dataclass
class Plan:
    """Who goes where and when, who is not placed and why, and how good the plan is."""

    placements: pd.DataFrame
    unplaced: pd.DataFrame
    summary: dict
    formulation: Formulation
    result: SolveResult
    journeys: bool = False  # v2: some service is interim, so plan.csv has a ``stage`` column

    @property
    def status(self) -> str:
        return self.summary["status"]

    @property
    def objective(self) -> float:
        return self.summary["objective"]

    def write(self, folder: str | Path, details: bool = False) -> list[Path]:
        """Write plan.csv, unplaced.csv and summary.json into folder, all three or none
        (``data.files.write_files``): a reader never sees a new plan beside an old summary.
        ``details``: plan.csv also has, after the contract's columns, what a coordinator
        phoning round needs (service name, pathway, site, locality, priority, start weekday)."""
        columns = PLAN_COLUMNS + (["stage"] if self.journeys else []) + (DETAIL_COLUMNS if details else [])
        files = {
            "plan.csv": safe_csv(self.placements[columns]),
            "unplaced.csv": safe_csv(self.unplaced[UNPLACED_COLUMNS]),
            "summary.json": self.summary_json(),
        }
        return write_files(Path(folder), files)

    def summary_json(self) -> str:
        return json.dumps(_json_safe(self.summary), indent=2) + "\n"


def _json_safe(value):
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def make_plan(formulation: Formulation, result: SolveResult, options: dict | None = None) -> Plan:
    """Turn a solve result into tidy tables and the summary."""
    snapshot = formulation.snapshot
    patients, services = snapshot.patients, snapshot.services
    x = result.x if result.x is not None else np.zeros(formulation.num_variables)
    variables = formulation.variables
    chosen = variables[(x > 0.5) & moves(variables)]  # starts and entries (v2), not days in a bed
    p = chosen["patient"].to_numpy()
    s = chosen["service"].to_numpy()
    d = chosen["day"].to_numpy()
    stage, cost = row_stages(snapshot, chosen)
    placements = (
        pd.DataFrame(
            {
                "patient_id": patients["patient_id"].to_numpy()[p],
                "service_id": services["service_id"].to_numpy()[s],
                "start_date": snapshot.date_of(d).to_numpy(),
                "wait_days": d - patients["ready_day"].to_numpy()[p],
                "cost": cost,
                "stage": stage,
                "pathway": patients["pathway"].to_numpy()[p],
                "site": patients["site"].to_numpy()[p],
                "day": d,
                "travel_minutes": chosen["minutes"].to_numpy(),
                "patient": p,
                "service_name": services["name"].to_numpy()[s],
                "locality": patients["locality"].to_numpy()[p],
                "priority": patients["priority"].to_numpy()[p],
                "start_weekday": np.array(WEEKDAYS)[(snapshot.snapshot_date.weekday() + d) % 7],
            }
        )
        .assign(stage_order=stage != INTERIM_NAME)
        .sort_values(["patient", "stage_order"], kind="stable")
        .drop(columns="stage_order")
        .reset_index(drop=True)
    )
    reasons = unplaced_reasons(formulation, x)
    unplaced = reasons.assign(
        pathway=patients["pathway"].to_numpy()[reasons["patient"].to_numpy().astype(np.int64)],
        cost=formulation.unplaced_cost[reasons["patient"].to_numpy().astype(np.int64)],
    )
    summary = _summary(formulation, result, placements, unplaced, options or {})
    return Plan(placements, unplaced, summary, formulation, result, journeys=uses_interim(snapshot))


def row_stages(snapshot: Snapshot, chosen: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each plan row's stage and cost (contract 6.2): a start is ``direct``, or ``onward``
    when its patient entered an interim bed; a direct row costs as in section 4; an interim
    row with an onward row holds the acute days, the move penalty and the interim travel,
    the onward row the rest; an interim row without one holds the whole journey's cost."""
    stage = stage_of(chosen)
    cost = chosen["cost"].to_numpy(dtype=float).copy()
    names = np.where(stage == INTERIM, INTERIM_NAME, DIRECT).astype(object)
    entry = np.flatnonzero(stage == INTERIM)
    if len(entry) == 0:
        return names, cost
    patients, weights, horizon = snapshot.patients, snapshot.weights, snapshot.horizon
    patient, day = chosen["patient"].to_numpy(), chosen["day"].to_numpy()
    priority, ready = patients["priority"].to_numpy(), patients["ready_day"].to_numpy()
    q = patient[entry]
    minutes = chosen["minutes"].to_numpy(dtype=float)[entry]
    cost[entry] = interim_cost(priority[q], ready[q], day[entry], minutes, horizon, weights)  # no onward start
    onward = np.flatnonzero((stage == DIRECT_STAGE) & np.isin(patient, q))
    if len(onward):
        names[onward] = ONWARD_NAME
        moved = pd.Series(entry, index=q).loc[patient[onward]].to_numpy()
        r, pr = ready[patient[onward]], priority[patient[onward]]
        acute = delay_cost(pr, r, day[moved], weights)
        at_start = delay_cost(pr, r, day[onward], weights)
        cost[moved] = acute + weights.move_penalty + weights.travel_weight * chosen["minutes"].to_numpy(dtype=float)[moved]
        cost[onward] = weights.interim_weight * (at_start - acute) + (cost[onward] - at_start)  # + travel, preference
    return names, cost


def _source_text(source) -> str | None:
    """Where the snapshot was read: a resolved path, or a database URL with its password hidden."""
    if source is None:
        return None
    if is_database_url(source):
        return shown(source)
    return str(Path(source).resolve())


def _summary(formulation: Formulation, result: SolveResult, placements, unplaced, options: dict) -> dict:
    snapshot = formulation.snapshot
    patients = snapshot.patients
    moves = placements
    placements = placements[placements["stage"] != ONWARD_NAME]  # v2: who left the acute bed, and when
    by_pathway = {}
    for pathway in (1, 2, 3):
        mine = placements[placements["pathway"] == pathway]
        by_pathway[str(pathway)] = {
            "patients": int((patients["pathway"] == pathway).sum()),
            "placed": len(mine),
            "unplaced": int((unplaced["pathway"] == pathway).sum()),
            "mean_wait_days": float(mine["wait_days"].mean()) if len(mine) else None,
            "longest_wait_days": int(mine["wait_days"].max()) if len(mine) else None,
        }
    objective = float(result.objective)
    weights = dict(vars(snapshot.weights))
    journeys = {}
    if uses_interim(snapshot):
        journeys = {
            "interim": int((moves["stage"] == INTERIM_NAME).sum()),
            "onward": int((moves["stage"] == ONWARD_NAME).sum()),
        }
    else:  # a v1 snapshot's summary, as before v2
        weights = {key: value for key, value in weights.items() if key not in ("interim_weight", "move_penalty")}
    return {
        "status": result.status.value,
        "objective": objective,
        "bound": float(result.bound),
        "gap": float(result.gap),
        "solver": result.solver,
        "placed": len(placements),
        "unplaced": len(unplaced),
        "build_seconds": round(formulation.build_seconds, 4),
        "solve_seconds": round(result.solve_seconds, 4),
        "message": result.message,
        "snapshot": _source_text(snapshot.source),
        "snapshot_hash": snapshot.content_hash,
        "snapshot_date": snapshot.snapshot_date.isoformat(),
        "horizon_days": snapshot.horizon,
        "patients": len(patients),
        "mean_wait_days": float(placements["wait_days"].mean()) if len(placements) else None,
        "longest_wait_days": int(placements["wait_days"].max()) if len(placements) else None,
        "by_pathway": by_pathway,
        "unplaced_by_cause": {str(k): int(v) for k, v in unplaced["cause"].value_counts().sort_index().items()},
        "delayed_bed_days": delayed_bed_days(snapshot, placements, unplaced),
        "placement_cost": float(moves["cost"].sum()),
        "unplaced_cost": float(unplaced["cost"].sum()),
        "model": {"variables": formulation.num_variables, "rows": formulation.num_rows},
        "parts": parts_summary(result.parts),
        "weights": weights,
        "options": options,
        **journeys,
    }


def parts_summary(parts: list[PartReport] | None, listed: int | None = 10) -> dict | None:
    """Where the gap is: the independent parts solved apart, how many are proven optimal,
    and the open ones (largest absolute gap first, at most ``listed``; None: all), each with
    its pathways, size, hospital sites, objective units between its plan and its bound, and
    share of the gap.

    None when the model was solved whole (``--no-decompose``, naive, greedy).
    """
    if parts is None:
        return None
    open_parts = [
        {
            "pathways": list(part.facts.pathways),
            "patients": part.facts.patients,
            "services": part.facts.services,
            "sites": list(part.facts.sites),
            "absolute_gap": float(part.gap) if part.gap is not None and math.isfinite(part.gap) else None,
        }
        for part in parts
        if not part.optimal
    ]
    total = sum(part["absolute_gap"] or 0.0 for part in open_parts)
    for part in open_parts:
        known = part["absolute_gap"] is not None and total > 0
        part["share_of_gap"] = part["absolute_gap"] / total if known else None
    open_parts.sort(key=lambda part: -part["absolute_gap"] if part["absolute_gap"] is not None else math.inf)
    return {
        "count": len(parts),
        "proven_optimal": int(sum(part.optimal for part in parts)),
        "open": open_parts[:listed],
    }


def delayed_bed_days(snapshot: Snapshot, placements: pd.DataFrame, unplaced: pd.DataFrame) -> float:
    """Acute bed-days from today (or the ready day, if later) to each start; unplaced patients
    count to the end of the horizon. Reported, not optimised: the objective weighs days by priority."""
    ready = np.maximum(snapshot.patients["ready_day"].to_numpy(), 0)
    placed = placements["day"].to_numpy() - ready[placements["patient"].to_numpy().astype(np.int64)]
    waiting = snapshot.horizon - ready[unplaced["patient"].to_numpy().astype(np.int64)]
    return float(np.maximum(placed, 0).sum() + np.maximum(waiting, 0).sum())
