"""IPACS's output files in IPACS's layout, and our own tidy tables.

- ``bed_output_using_{workbook}.csv``: ``date``, then ``{scenario}__occ`` for every bed
  scenario, then ``__niq``, ``__wait`` and ``__cost``; one row per day (report times
  0 .. days - 1); means over runs rounded to whole numbers, half to even, the cost from the
  unrounded means: acute delayed-day cost x queue + community cost x beds (IPACS prices
  every bed scenario with its pathway's first node, and the queue with the first pathway-2
  node's acute cost).
- ``visit_output_using_{workbook}.csv``: the same for the visit scenarios with ``__niq``,
  ``__occ``, ``__wait``, ``__cost``, unrounded; the wait is the mean wait of the patients
  leaving that day (NA when none left in any run); the cost is acute x queue + community x
  slots used, each node its own.
- ``stochastic_bed_output_using_{workbook}.csv`` and ``stochastic_visit_output_using_...``:
  per scenario, time and measure, type-7 quantiles over runs and the mean, IPACS's columns.
- ``daily.csv`` (tidy: one row per scenario, day and measure: mean, sd and quantiles) and
  ``scenarios.csv`` (per scenario: the mean over the days of each measure, with the standard
  error from the spread of the runs' own means).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimiser.data.problems import InputError, ProblemList
from optimiser.ipacs.run import ScenarioRuns, run_scenarios
from optimiser.ipacs.workbook import Scenario, Workbook

QUANTILES = {"q05": 0.05, "q5": 0.5, "q95": 0.95, "q10": 0.1, "q25": 0.25, "q75": 0.75, "q90": 0.9, "q025": 0.025, "q975": 0.975}
STOCHASTIC = ["q05", "q5", "q95", "mean", "q10", "q25", "q75", "q90", "q025", "q975"]
MEASURES = ("occ", "niq", "wait", "cost")


def r_number(value: float) -> str:
    """A number as R's write.csv prints it: up to 15 significant digits, NA for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    if float(value) == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}"


def r_csv(frame: pd.DataFrame, quoted: tuple[str, ...] = ()) -> str:
    """A table as R's write.csv writes it: quoted header, text columns in ``quoted`` quoted."""
    lines = [",".join(f'"{c}"' for c in frame.columns)]
    columns = []
    for c in frame.columns:
        values = frame[c].tolist()
        if c in quoted:
            columns.append([f'"{v}"' for v in values])
        elif frame[c].dtype.kind in "fiu":
            columns.append([r_number(v) for v in values])
        else:
            columns.append([str(v) for v in values])
    lines += [",".join(row) for row in zip(*columns)]
    return "\n".join(lines) + "\n"


@dataclass
class IpacsResult:
    """Every scenario's runs in one mode, with the tables IPACS and we write."""

    workbook: Workbook
    mode: str
    runs: int
    seed: int
    scenarios: list[ScenarioRuns] = field(default_factory=list)

    def of(self, model: str) -> list[ScenarioRuns]:
        return [s for s in self.scenarios if s.scenario.model == model]

    def costs(self, scenario: Scenario) -> tuple[float, float]:
        """(community cost, acute cost) that IPACS prices a scenario with."""
        book = self.workbook
        if scenario.model == "visit":
            return book.community_cost[scenario.node], book.acute_cost[scenario.node]
        first_bed = next((n for n in book.community_cost if n.startswith("P2_")), book.cost_node(scenario))
        return book.community_cost[book.cost_node(scenario)], book.acute_cost[first_bed]

    def daily_means(self, runs: ScenarioRuns) -> dict[str, np.ndarray]:
        """Per report day (``days`` of them): the mean over runs of occ, niq, wait and cost."""
        days = self.workbook.days
        community, acute = self.costs(runs.scenario)
        series = runs.series
        if runs.scenario.model == "bed":
            occ = series["occupied"][:, :days].mean(axis=0)
            niq = series["queued"][:, :days].mean(axis=0)
            wait = series["wait"][:, :days].mean(axis=0)
            cost = acute * niq + community * occ
        else:
            occ = series["occupied"].mean(axis=0)
            niq = series["queued"].mean(axis=0)
            wait = self.leaver_waits(runs)[0]
            cost = acute * niq + community * series["used"].mean(axis=0)
        return {"occ": occ, "niq": niq, "wait": wait, "cost": cost}

    def leaver_waits(self, runs: ScenarioRuns) -> tuple[np.ndarray, list[np.ndarray]]:
        """Visits: per day, the mean wait of the patients leaving that day over all runs
        (NaN when nobody left), and their waits."""
        days = self.workbook.days
        pooled = np.vstack(runs.series["leavers"]) if runs.series["leavers"] else np.zeros((0, 2), dtype=np.int64)
        pooled = pooled[(pooled[:, 0] >= 1) & (pooled[:, 0] <= days)]
        pooled = pooled[np.argsort(pooled[:, 0], kind="stable")]
        bounds = np.searchsorted(pooled[:, 0], np.arange(1, days + 2))
        by_day = [pooled[bounds[d] : bounds[d + 1], 1].astype(float) for d in range(days)]
        means = np.array([w.mean() if len(w) else math.nan for w in by_day])
        return means, by_day

    def report(self, model: str) -> pd.DataFrame:
        """IPACS's report table (bed or visit layout)."""
        chosen = self.of(model)
        means = {r.scenario.name: self.daily_means(r) for r in chosen}
        frame = {"date": [d.isoformat() for d in self.workbook.dates]}
        order = ("occ", "niq", "wait", "cost") if model == "bed" else ("niq", "occ", "wait", "cost")
        for measure in order:
            for name, values in means.items():
                column = values[measure]
                frame[f"{name}__{measure}"] = np.round(column).astype(np.int64) if model == "bed" else column
        return pd.DataFrame(frame)

    def stochastic(self, model: str) -> pd.DataFrame:
        """IPACS's quantile table: per scenario, time and measure."""
        rows = []
        if model == "bed":
            for k, runs in enumerate(self.of("bed"), start=1):
                capacity = self.workbook.capacity[(runs.scenario.node, runs.scenario.capacity_scenario)]
                times = runs.series["occupied"].shape[1]
                stats = {m: _quantiles(runs.series[key]) for m, key in (("niq", "queued"), ("occ", "occupied"))}
                for t in range(times):
                    for measure in ("niq", "occ"):
                        rows.append([k, t, measure, *[stats[measure][c][t] for c in STOCHASTIC], capacity, runs.scenario.name])
            columns = ["node", "time", "measure", *STOCHASTIC, "capacity", "node_name"]
            frame = pd.DataFrame(rows, columns=columns)
            return frame.astype({"node": np.int64, "time": np.int64})
        dates = [d.isoformat() for d in self.workbook.dates]
        for runs in self.of("visit"):
            name = runs.scenario.name
            block = []
            for measure, key in (("niq", "queued"), ("occ", "occupied")):
                stats = _quantiles(runs.series[key])
                block += [[d + 1, name, *[stats[c][d] for c in STOCHASTIC], measure] for d in range(self.workbook.days)]
            _, by_day = self.leaver_waits(runs)
            for d, waits in enumerate(by_day):
                if len(waits):
                    stats = _quantiles(waits[:, None])
                    block.append([d + 1, name, *[stats[c][0] for c in STOCHASTIC], "waits"])
            for i, row in enumerate(block):
                rows.append([*row, dates[i % len(dates)]])  # IPACS binds the dates by recycling them
        columns = ["day", "node", *STOCHASTIC, "measure", "date"]
        return pd.DataFrame(rows, columns=columns).astype({"day": np.int64})

    def per_run(self, runs: ScenarioRuns) -> dict[str, np.ndarray]:
        """Each measure as runs x report days: occ, niq, cost a day (acute x queue + community x
        beds or visit slots), and beds' wait or visits' slots used."""
        community, acute = self.costs(runs.scenario)
        series = runs.series
        if runs.scenario.model == "bed":
            days = self.workbook.days
            values = {m: series[k][:, :days] for m, k in (("occ", "occupied"), ("niq", "queued"), ("wait", "wait"))}
            values["cost"] = acute * values["niq"] + community * values["occ"]
        else:
            values = {"occ": series["occupied"], "niq": series["queued"], "slots": series["used"]}
            values["cost"] = acute * values["niq"] + community * values["slots"]
        return values

    def tidy_daily(self) -> pd.DataFrame:
        """Ours: one row per scenario, day and measure: mean, sd over runs, 5/50/95% quantiles."""
        frames = []
        dates = [d.isoformat() for d in self.workbook.dates]
        for runs in self.scenarios:
            s = runs.scenario
            per_run = self.per_run(runs)
            for measure, values in per_run.items():
                q = np.quantile(values, [0.05, 0.5, 0.95], axis=0)
                frames.append(
                    pd.DataFrame(
                        {
                            "scenario": s.name,
                            "node": s.node,
                            "pathway": s.pathway,
                            "capacity_scenario": s.capacity_scenario,
                            "los_scenario": s.los_scenario,
                            "arrival_scenario": s.arrival_scenario,
                            "date": dates,
                            "measure": measure,
                            "mean": values.mean(axis=0),
                            "sd": values.std(axis=0, ddof=1) if len(values) > 1 else np.nan,
                            "q05": q[0],
                            "q50": q[1],
                            "q95": q[2],
                        }
                    )
                )
        return pd.concat(frames, ignore_index=True)

    def scenario_means(self) -> pd.DataFrame:
        """Ours: per scenario and measure, the mean over the days of the runs' mean, and its
        standard error from the spread of each run's own mean over the days."""
        rows = []
        for runs in self.scenarios:
            s = runs.scenario
            values = self.per_run(runs)
            for measure in ("occ", "niq", "cost"):
                per_run = values[measure].mean(axis=1)
                se = per_run.std(ddof=1) / math.sqrt(len(per_run)) if len(per_run) > 1 else math.nan
                rows.append([s.name, s.model, s.node, measure, per_run.mean(), se, len(per_run)])
        return pd.DataFrame(rows, columns=["scenario", "model", "node", "measure", "mean", "se", "runs"])

    def files(self) -> dict[str, str]:
        """Every output file's name and text."""
        stem = self.workbook.source.stem
        files = {}
        if self.of("bed"):
            files[f"bed_output_using_{stem}.csv"] = r_csv(self.report("bed"))
            files[f"stochastic_bed_output_using_{stem}.csv"] = r_csv(self.stochastic("bed"), quoted=("measure", "node_name"))
        if self.of("visit"):
            files[f"visit_output_using_{stem}.csv"] = r_csv(self.report("visit"))
            files[f"stochastic_visit_output_using_{stem}.csv"] = r_csv(self.stochastic("visit"), quoted=("node", "measure"))
        files["daily.csv"] = self.tidy_daily().to_csv(index=False)
        files["scenarios.csv"] = self.scenario_means().to_csv(index=False)
        return files


def _quantiles(values: np.ndarray) -> dict[str, np.ndarray]:
    """Type-7 quantiles (numpy's default, R's default) and the mean over the first axis."""
    stats = {name: np.quantile(values, q, axis=0) for name, q in QUANTILES.items()}
    stats["mean"] = values.mean(axis=0)
    return stats


def run_ipacs(
    workbook: Workbook,
    runs: int = 50,
    seed: int = 1,
    mode: str = "textbook",
    scenarios: list[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> IpacsResult:
    """Run the workbook's scenarios (or those named) in one mode; ``IpacsResult.files()``
    gives IPACS's output files and ours."""
    chosen = None if scenarios is None else checked_scenarios(workbook, scenarios)
    results = run_scenarios(workbook, runs, seed, mode, chosen, workers, scheduler, progress)
    return IpacsResult(workbook, mode, runs, seed, results)


def checked_scenarios(workbook: Workbook, names: list[str]) -> list[Scenario]:
    """The named scenarios; InputError naming each unknown one, with the closest name."""
    known = [s.name for s in workbook.scenarios]
    problems = ProblemList()
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            problems.add(
                "--scenario",
                None,
                None,
                name,
                f"is not a scenario of {workbook.source.name}; {hint}names are NODE_CAPACITY_LOS_ARRIVALS",
            )
    if problems:
        raise InputError(problems, subject="scenario list")
    return [workbook.scenario(name) for name in names]
