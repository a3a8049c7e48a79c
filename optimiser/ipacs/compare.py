"""What IPACS's modelling choices cost: ``compat`` against ``textbook`` on the same streams.

For each scenario and measure (mean over the days of occupancy, queue and cost per day) the
difference compat - textbook, with its standard error from the runs' paired differences
(the two modes see the same patients run by run), and the quirk that causes it. Then the
capacity each mode's cost curve picks: for each node under its first LOS and arrival
scenario, the mean daily cost at capacities from ``CURVE`` x the first capacity scenario,
and the smallest capacity whose cost is within ``KNEE`` of the curve's lowest (IPACS prices
occupied beds and queued days, so its curve falls until the queue is gone: the pick is the
knee, the least capacity that buys nearly all of it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.ipacs.outputs import IpacsResult, run_ipacs
from optimiser.ipacs.run import run_scenarios
from optimiser.ipacs.workbook import Scenario, Workbook

CURVE = tuple(round(0.5 + 0.1 * k, 1) for k in range(26))  # 0.5 .. 3.0 x the base capacity
KNEE = 0.01  # within 1% of the curve's lowest cost

QUIRKS = {
    ("bed", "occ"): "A and B: the initial queue is not admitted at time 0 but stands in for future arrivals, "
    "whose second admission leaks a bed each (about +initial queue on an uncongested node); C: day 2 counts 0 with no event",
    ("bed", "niq"): "A: an early-admitted patient who finds no bed on their own arrival stays in the queue as a phantom; "
    "B: the initial queue waits at time 0 though beds are free",
    ("bed", "cost"): "A and B through occupancy and queue (costs from the unrounded means)",
    ("visit", "occ"): "E: occupancy is slots used / visits a day, not the patients in service; D: stays drawn with sdlog 1",
    ("visit", "niq"): "D: package lengths drawn with sdlog 1, not sigma; textbook books strictly first come first served",
    ("visit", "cost"): "D through slots used and queue",
}


def _measures(result: IpacsResult, runs) -> dict[str, np.ndarray]:
    """Per run, the mean over the days of occupancy, queue and cost."""
    values = result.per_run(runs)
    return {measure: values[measure].mean(axis=1) for measure in ("occ", "niq", "cost")}


@dataclass
class Comparison:
    textbook: IpacsResult
    compat: IpacsResult
    curves: pd.DataFrame  # node, scenario, capacity, factor, mode, cost, occ, niq

    def differences(self) -> pd.DataFrame:
        rows = []
        for a, b in zip(self.compat.scenarios, self.textbook.scenarios):
            s = a.scenario
            ours, theirs = _measures(self.compat, a), _measures(self.textbook, b)
            for measure in ("occ", "niq", "cost"):
                paired = ours[measure] - theirs[measure]
                se = paired.std(ddof=1) / math.sqrt(len(paired)) if len(paired) > 1 else math.nan
                rows.append(
                    {
                        "scenario": s.name,
                        "model": s.model,
                        "node": s.node,
                        "measure": measure,
                        "compat": ours[measure].mean(),
                        "textbook": theirs[measure].mean(),
                        "difference": paired.mean(),
                        "se": se,
                        "quirks": QUIRKS[(s.model, measure)],
                    }
                )
        return pd.DataFrame(rows)

    def picks(self) -> pd.DataFrame:
        """Per node: the capacity each mode's cost curve picks (module doc)."""
        rows = []
        for (node, scenario), curve in self.curves.groupby(["node", "scenario"], sort=False):
            row = {"node": node, "scenario": scenario}
            for mode, points in curve.groupby("mode"):
                lowest = points["cost"].min()
                knee = points[points["cost"] <= lowest * (1 + KNEE)]["capacity"].min()
                row[f"{mode}_capacity"] = knee
                row[f"{mode}_at_edge"] = bool(knee == points["capacity"].max())
                row[f"{mode}_cost"] = float(points.loc[points["capacity"] == knee, "cost"].iloc[0])
            row["difference"] = row["compat_capacity"] - row["textbook_capacity"]
            rows.append(row)
        return pd.DataFrame(rows)

    def headlines(self) -> list[str]:
        """The differences an analyst should know, in words."""
        table = self.differences()
        lines = []
        for model, measure, label in (
            ("bed", "occ", "bed occupancy"),
            ("bed", "niq", "bed queue"),
            ("visit", "occ", "pathway-1 occupancy"),
        ):
            part = table[(table["model"] == model) & (table["measure"] == measure)]
            if part.empty:
                continue
            biggest = part.loc[part["difference"].abs().idxmax()]
            lines.append(
                f"{label}: compat - textbook is {part['difference'].mean():+.1f} on average over {len(part)} scenarios; "
                f"largest {biggest['difference']:+.1f} ({biggest['scenario']}, compat {biggest['compat']:.1f} "
                f"against {biggest['textbook']:.1f})"
            )
        s1 = table[(table["model"] == "bed") & (table["measure"] == "occ") & table["scenario"].str.contains("_S1Cap_")]
        if len(s1):
            queue = self.compat.workbook.queue
            excess = (s1["difference"] - s1["node"].map(queue)).abs().mean()
            lines.append(
                f"uncapped (S1Cap) bed occupancy under compat is higher by about the initial queue: "
                f"{s1['difference'].mean():+.1f} beds on average over {len(s1)} scenarios, each within "
                f"{excess:.1f} beds of its node's initial queue on average"
            )
        picks = self.picks()
        moved = picks[picks["difference"] != 0]
        lines.append(
            f"cost-curve picks: {len(moved)} of {len(picks)} nodes get another capacity under compat"
            + (
                ": " + ", ".join(f"{r.node} {r.compat_capacity:g} vs {r.textbook_capacity:g}" for r in moved.itertuples())
                if len(moved)
                else ""
            )
        )
        return lines

    def files(self) -> dict[str, str]:
        return {
            "differences.csv": self.differences().to_csv(index=False),
            "cost_curves.csv": self.curves.to_csv(index=False),
            "picks.csv": self.picks().to_csv(index=False),
            "headlines.txt": "\n".join(self.headlines()) + "\n",
        }


def base_scenarios(workbook: Workbook) -> list[Scenario]:
    """Per node, its first scenario (first capacity, LOS and arrival scenario in IPACS's order)."""
    seen, out = set(), []
    for scenario in workbook.scenarios:
        if scenario.node not in seen:
            seen.add(scenario.node)
            out.append(scenario)
    return out


def cost_curves(workbook: Workbook, runs: int, seed: int, workers=None, scheduler=None, progress=None) -> pd.DataFrame:
    """Mean daily cost at each capacity of ``CURVE`` for each node's base scenario, both modes."""
    bases = base_scenarios(workbook)
    rows = []
    for mode in ("textbook", "compat"):
        chosen = [s for s in bases for _ in CURVE]
        capacities = [float(round(f * workbook.capacity[(s.node, s.capacity_scenario)])) for s in bases for f in CURVE]
        factors = [f for _ in bases for f in CURVE]
        results = run_scenarios(workbook, runs, seed, mode, chosen, workers, scheduler, progress, capacities)
        result = IpacsResult(workbook, mode, runs, seed, results)
        for runs_, factor in zip(results, factors):
            m = _measures(result, runs_)
            rows.append(
                {
                    "node": runs_.scenario.node,
                    "scenario": runs_.scenario.name,
                    "factor": factor,
                    "capacity": runs_.capacity,
                    "mode": mode,
                    "cost": m["cost"].mean(),
                    "occ": m["occ"].mean(),
                    "niq": m["niq"].mean(),
                }
            )
    return pd.DataFrame(rows)


def compare_ipacs(workbook: Workbook, runs: int = 50, seed: int = 1, workers=None, scheduler=None, progress=None) -> Comparison:
    """Both modes on the same streams, every scenario, and both modes' cost curves."""
    textbook = run_ipacs(workbook, runs, seed, "textbook", None, workers, scheduler, progress)
    compat = run_ipacs(workbook, runs, seed, "compat", None, workers, scheduler, progress)
    return Comparison(textbook, compat, cost_curves(workbook, runs, seed, workers, scheduler, progress))
