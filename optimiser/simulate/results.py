"""What a simulation reports: tidy tables (``daily``, ``patients``) and the summary computed
from them, and writing them (``daily.csv``, ``patients.csv``, ``summary.json``,
``report.html``) all at once or not at all.

Every figure of the summary is computed from the two tables, afterwards (as Ciw's
records): per policy, over runs, the mean and 95% interval (Student t) of total delayed
bed-days and of their acute cost, the mean and 95th-percentile wait of the patients
placed (pooled over runs), the longest wait of each priority's patients (those still waiting
included; mean over runs and the longest of all), patients placed per run, the seconds each simulated day's
decision took; per pair of policies, the paired difference of delayed bed-days (same
runs, common random numbers) with its 95% interval; each also by pathway. v2, with interim
services: per policy, the days waited in interim beds (mean and interval) and the interim
entries per run. With the perfect-information bound (``bound.py``): the runs' bound and
per policy the share of the fifo-to-bound gap closed, paired, with its interval
(``bound_summary``).
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.data.files import safe_csv, write_folder
from optimiser.report.simulation import render_simulation_report
from optimiser.simulate.flow import Flow


@dataclass
class SimulationResult:
    daily: pd.DataFrame  # engine.DAILY_COLUMNS
    patients: pd.DataFrame  # engine.PATIENT_COLUMNS
    flow: Flow
    decision_seconds: pd.DataFrame  # policy, run, seconds
    summary: dict = field(default_factory=dict)
    bounds: list | None = None  # bound.RunBound of each run, when asked for

    def summary_safe(self) -> dict:
        """The summary with NaN and infinities as None (as summary.json has it)."""
        return _json_safe(self.summary)

    def bound_table(self) -> pd.DataFrame | None:
        """bound.csv: each run's bound, how it was computed and how big it was (None if not asked)."""
        if self.bounds is None:
            return None
        return pd.DataFrame([b.as_dict() for b in self.bounds])

    def write(self, folder: str | Path) -> list[Path]:
        """daily.csv, patients.csv, summary.json and report.html (and, with the bound,
        bound.csv), swapped in together."""
        files = {
            "daily.csv": safe_csv(self.daily),
            "patients.csv": safe_csv(self.patients),
            "summary.json": json.dumps(_json_safe(self.summary), indent=2) + "\n",
            "report.html": render_simulation_report(self.daily, self.patients, self.summary),
        }
        if self.bounds is not None:
            files["bound.csv"] = safe_csv(self.bound_table())
        return write_folder(Path(folder), files)


def interval(values: np.ndarray) -> dict:
    """Mean and 95% Student-t interval of the mean (no interval from one value)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    mean = float(values.mean()) if len(values) else None
    if len(values) < 2:
        return {"mean": mean, "low": None, "high": None}
    half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return {"mean": mean, "low": mean - half, "high": mean + half}


def ratio_interval(gained: np.ndarray, possible: np.ndarray) -> dict:
    """mean(gained) / mean(possible) and its 95% interval (delta method on the paired runs,
    Student t): the share of a possible gain that was had. None where nothing was possible."""
    from scipy import stats

    gained, possible = np.asarray(gained, dtype=float), np.asarray(possible, dtype=float)
    n = len(gained)
    if n == 0 or possible.mean() <= 0:
        return {"mean": None, "low": None, "high": None}
    share = float(gained.mean() / possible.mean())
    if n < 2:
        return {"mean": share, "low": None, "high": None}
    covariance = np.cov(gained, possible, ddof=1)
    variance = (covariance[0, 0] - 2 * share * covariance[0, 1] + share**2 * covariance[1, 1]) / (n * possible.mean() ** 2)
    half = float(stats.t.ppf(0.975, n - 1) * math.sqrt(max(variance, 0.0)))
    return {"mean": share, "low": share - half, "high": share + half}


def bound_summary(totals: pd.Series, by_pathway: pd.Series, flow: Flow, bounds: list) -> dict:
    """summary.json's ``bound``: the runs' perfect-information bound (mean and interval), and
    per policy how far above it the policy stays (paired) and the share of the fifo-to-bound
    gap it closes, (fifo - policy) / (fifo - bound) over the same runs, with its 95% interval;
    v1, also by pathway. ``runs_below_bound`` counts runs where a policy did better than the
    bound: it must be 0 (the bound is a floor), else the bound has a bug."""
    floor = np.array([b.delayed_bed_days for b in bounds], dtype=float)
    pathways = all(b.pathways for b in bounds)
    result = {
        "method": bounds[0].method if bounds else None,
        "delayed_bed_days": interval(floor),
        "proven_runs": int(sum(b.optimal for b in bounds)),
        "largest_part": {
            "variables": max((b.variables for b in bounds), default=0),
            "nonzeros": max((b.nonzeros for b in bounds), default=0),
        },
        "seconds_per_run": float(np.mean([b.build_seconds + b.solve_seconds for b in bounds])) if bounds else None,
        "policies": {},
    }
    if pathways:
        result["by_pathway"] = {
            str(k): {"delayed_bed_days": interval(np.array([b.pathways[k] for b in bounds]))} for k in (1, 2, 3)
        }
    fifo = totals.loc["fifo"].to_numpy(dtype=float) if "fifo" in flow.policies else None
    for policy in flow.policies:
        mine = totals.loc[policy].to_numpy(dtype=float)
        entry = {
            "above_bound": interval(mine - floor),
            "runs_below_bound": int(np.sum(mine < floor - 1e-6)),
            "gap_closed": ratio_interval(fifo - mine, fifo - floor) if fifo is not None else None,
        }
        if pathways and fifo is not None:
            entry["by_pathway"] = {}
            for k in (1, 2, 3):
                theirs = by_pathway.loc[("fifo", k)].to_numpy(dtype=float)
                ours = by_pathway.loc[(policy, k)].to_numpy(dtype=float)
                floor_k = np.array([b.pathways[k] for b in bounds])
                entry["by_pathway"][str(k)] = {"gap_closed": ratio_interval(theirs - ours, theirs - floor_k)}
        result["policies"][policy] = entry
    return result


def summarise(
    daily: pd.DataFrame,
    patients: pd.DataFrame,
    flow: Flow,
    seconds: pd.DataFrame,
    bounds: list | None = None,
    longest: pd.DataFrame | None = None,
) -> dict:
    """The summary of a simulation (module doc); with ``bounds``, its ``bound`` row too;
    with ``longest`` (policy, run, priority, days), each priority's longest wait."""
    totals = daily.groupby(["policy", "run"])["delayed_bed_days"].sum()
    by_pathway = daily.groupby(["policy", "pathway", "run"])["delayed_bed_days"].sum()
    placed = patients[patients["placed_day"].notna()]
    policies = {}
    for policy in flow.policies:
        mine = totals.loc[policy].to_numpy(dtype=float)
        waits = placed.loc[placed["policy"] == policy, "wait_days"].to_numpy(dtype=float)
        per_run = placed[placed["policy"] == policy].groupby("run").size().reindex(range(flow.runs), fill_value=0)
        cost = interval(mine * flow.bed_day_cost)
        policies[policy] = {
            "delayed_bed_days": interval(mine),
            "acute_cost": cost,
            "mean_wait_days": float(waits.mean()) if len(waits) else None,
            "p95_wait_days": float(np.percentile(waits, 95)) if len(waits) else None,
            "placed_per_run": float(per_run.mean()),
            "seconds_per_day": float(seconds.loc[seconds["policy"] == policy, "seconds"].mean() / flow.days),
            "by_pathway": {
                str(k): {"delayed_bed_days": interval(by_pathway.loc[(policy, k)].to_numpy(dtype=float))} for k in (1, 2, 3)
            },
        }
        if longest is not None and len(longest):  # the longest wait by priority (those still waiting too)
            mine_longest = longest[longest["policy"] == policy].groupby("priority")["days"]
            policies[policy]["longest_wait_days_by_priority"] = {
                str(k): {"mean_over_runs": float(days.mean()), "max": int(days.max())} for k, days in mine_longest
            }
        if "in_interim" in daily.columns:  # v2: days waited in interim beds, out of the acute bed
            days = daily[daily["policy"] == policy].groupby("run")[["in_interim", "entered_interim"]].sum()
            policies[policy]["interim_bed_days"] = interval(days["in_interim"].to_numpy(dtype=float))
            policies[policy]["interim_entries_per_run"] = float(days["entered_interim"].mean())
    pairs = []
    for i, first in enumerate(flow.policies):
        for second in flow.policies[i + 1 :]:
            difference = totals.loc[first].to_numpy(dtype=float) - totals.loc[second].to_numpy(dtype=float)
            pathways = {
                str(k): interval(
                    by_pathway.loc[(first, k)].to_numpy(dtype=float) - by_pathway.loc[(second, k)].to_numpy(dtype=float)
                )
                for k in (1, 2, 3)
            }
            pairs.append(
                {"policies": [first, second], "delayed_bed_days_difference": interval(difference), "by_pathway": pathways}
            )
    summary = {
        "days": flow.days,
        "runs": flow.runs,
        "seed": flow.seed,
        "policies": policies,
        "paired_differences": pairs,
        "flow": flow.as_dict(),
        "random_streams": f"run r: numpy SeedSequence({flow.seed}).spawn({flow.runs})[r], then its children 0-3 for arrivals, "
        "the patients copied, stays and day-0 occupants; the same for every policy",
        "versions": versions(),
    }
    if bounds is not None:
        summary["bound"] = bound_summary(totals, by_pathway, flow, bounds)
    return summary


def versions(also: tuple[str, ...] = ()) -> dict:
    """The versions of what made the results: Python, this package and its solvers (and the
    packages ``also`` names)."""
    found = {"python": platform.python_version()}
    for name in ("optimiser", "numpy", "pandas", "scipy", "highspy", "ortools", "distributed", *also):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _json_safe(value):
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value
