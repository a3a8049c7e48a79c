"""What one more unit of capacity is worth, exactly.

For a service s and a day d, the value of one more unit (a bed on pathways
2 and 3, a carer-hour a day on pathway 1) free from day d on is

    value(s, d) = z* - z*(capacity of s from day d on + 1)

and for an equipment item i at store g, one more unit arriving today:
z* - z*(stock of i at g + 1), where z* is the optimum of the contract
objective. Every value reported is such a difference of two solves (the
variant starts from the base plan, which stays feasible). LP duals only
choose which candidates to re-solve: the LP estimate of value(s, d) is
-scale * sum of the duals of s's capacity rows on days >= d, so per service
only day 0 and the days just after a row with a nonzero dual are distinct
candidates. Day 0 of every service eligible for a patient left waiting, and
every item such a patient needs, are candidates too, whatever their duals (an
integer optimum can gain where the LP does not, and a patient one carer-hour
short of a service has no variable, hence no dual).

Pathways share no constraint, so one more unit on pathway k changes only
pathway k's optimum: both solves are made on that pathway alone
(``restrict_to_pathway``), which keeps bed-pathway values exact and fast even
when pathway 1 stops at a time limit. With interim beds (v2) a pathway-1 or -3
patient may wait in a pathway-2 bed, so the pathways are one problem and both
solves are of the whole snapshot; one more interim bed is a service candidate like
any other bed.

Values are also given in delayed bed-days saved (``plan.delayed_bed_days``)
and in pounds at ``bed_day_cost`` a day (default 562, the NHS England 2025
estimate of an acute bed-day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from optimiser.analysis.allocate import allocate
from optimiser.analysis.plan import Plan
from optimiser.analysis.whatif import AddCapacity, AddStock, apply_changes
from optimiser.constants import BED_DAY_COST
from optimiser.data.schema import ONWARD
from optimiser.data.snapshot import Snapshot, restrict_to_pathway
from optimiser.model.eligibility import eligible_pairs
from optimiser.model.families.interim import entry_pairs, uses_interim
from optimiser.model.rules import equipment_needs
from optimiser.solve.highs import solve_lp

COLUMNS = [
    "kind",
    "service_id",
    "store_id",
    "item",
    "pathway",
    "from_date",
    "unit",
    "lp_estimate",
    "objective_saved",
    "bed_days_saved",
    "pounds_saved",
    "exact",
]
BAND_COLUMNS = [*COLUMNS[:2], "band", *COLUMNS[2:]]  # v2 snapshots with time-of-day bands
DUAL_ZERO = 1e-7  # a row dual smaller than this is taken as zero


def capacity_value(
    snapshot: Snapshot,
    candidates: int = 30,
    bed_day_cost: float = BED_DAY_COST,
    base: Plan | None = None,
    on_step: Callable[[int, int], None] | None = None,
    **options,
) -> pd.DataFrame:
    """One row per candidate (see module doc), sorted by objective saved, most first.

    ``candidates`` caps how many re-solves are made; ``options`` go to
    ``allocate`` (solver, threads, ...). ``time_limit``, if given, is for the
    whole computation: each solve gets an equal share. ``exact`` is True where
    both solves were proven optimal. ``on_step(done, total)``: after the base plan and
    after each candidate (a progress bar).
    """
    time_limit = options.pop("time_limit", None)
    solves = candidates + 4  # base, up to three pathway bases, the candidates
    if time_limit is not None:
        options["time_limit"] = max(time_limit / solves, 0.5)
    if base is None:
        base = allocate(snapshot, **options)
    chosen = _candidates(base, candidates)
    if on_step is not None:
        on_step(1, len(chosen) + 1)
    journeys = uses_interim(snapshot)  # v2: interim beds join the pathways, so each solve is of the whole
    by_pathway: dict[int, Plan] = {}
    rows = []
    for candidate in chosen.itertuples(index=False):
        date = dt.date.fromisoformat(candidate.from_date)
        if candidate.kind == "service":
            change = AddCapacity(candidate.service_id, date, 1.0)
        elif candidate.kind == "band":
            change = AddCapacity(candidate.service_id, date, 1.0, candidate.band)
        else:
            change = AddStock(candidate.store_id, candidate.item, date, 1.0)
        pathway = int(candidate.pathway) if not journeys else 0
        if pathway not in by_pathway:
            by_pathway[pathway] = allocate(_pathway(snapshot, pathway), start=base.placements, **options)
        part = by_pathway[pathway]
        changed = _pathway(apply_changes(snapshot, [change]), pathway)
        variant = allocate(changed, start=part.placements, **options)
        saved = part.objective - variant.objective
        bed_days = part.summary["delayed_bed_days"] - variant.summary["delayed_bed_days"]
        rows.append(
            {
                **candidate._asdict(),
                "objective_saved": saved,
                "bed_days_saved": bed_days,
                "pounds_saved": bed_days * bed_day_cost,
                "exact": part.status == "optimal" and variant.status == "optimal",
            }
        )
        if on_step is not None:
            on_step(len(rows) + 1, len(chosen) + 1)
    table = pd.DataFrame(rows, columns=BAND_COLUMNS)
    if not snapshot.settings.bands:
        table = table.drop(columns="band")  # v1: the v1 columns
    order = np.lexsort((table.index.to_numpy(), -table["objective_saved"].to_numpy(dtype=float)))
    return table.iloc[order].reset_index(drop=True)


def _pathway(snapshot: Snapshot, pathway: int) -> Snapshot:
    """The snapshot's part for pathway k (0: the whole snapshot, when interim beds join pathways)."""
    return snapshot if pathway == 0 else restrict_to_pathway(snapshot, pathway)


def _candidates(base: Plan, most: int) -> pd.DataFrame:
    """Service-days and store-items to re-solve, by LP estimate (then those a waiting patient could use), at most ``most``."""
    formulation = base.formulation
    snapshot = formulation.snapshot
    duals = solve_lp(formulation).duals  # per family; empty if the LP was not solved
    rows = []
    waiting_services, waiting_items = _waiting_for(base)
    services = snapshot.services
    estimates: dict[tuple, float] = {}
    for block in formulation.blocks:
        dual = duals.get(block.family, np.zeros(block.size))
        if block.family == "capacity":
            frame = block.keys.assign(dual=dual * block.scale, day=snapshot.day_of(block.keys["date"]).astype(int))
            for service_id, mine in frame.groupby("service_id", sort=False):
                mine = mine.sort_values("day")
                nonzero = mine[mine["dual"] < -DUAL_ZERO]
                days = sorted({0} | {b + 1 for b in nonzero["day"] if b + 1 < snapshot.horizon})
                for d in days:
                    estimate = max(float(-mine.loc[mine["day"] >= d, "dual"].sum()), 0.0)
                    if d == 0 or estimate > DUAL_ZERO:
                        estimates[("service", service_id, d)] = estimate
        elif block.family == "bands":  # v2: one more carer-hour in a band, from a day on
            frame = block.keys.assign(dual=dual * block.scale, day=snapshot.day_of(block.keys["date"]).astype(int))
            for (service_id, band), mine in frame.groupby(["service_id", "band"], sort=False):
                nonzero = mine[mine["dual"] < -DUAL_ZERO]
                days = sorted({0} | {b + 1 for b in nonzero["day"] if b + 1 < snapshot.horizon})
                for d in days:
                    estimate = max(float(-mine.loc[mine["day"] >= d, "dual"].sum()), 0.0)
                    if d == 0 or estimate > DUAL_ZERO:
                        estimates[("band", (service_id, band), d)] = estimate
        elif block.family == "equipment":
            frame = block.keys.assign(dual=dual)
            for (store, item), mine in frame.groupby(["store", "item"], sort=False):
                estimates[("equipment", (store, item), 0)] = max(float(-mine["dual"].sum()), 0.0)
    for service_id in waiting_services:
        estimates.setdefault(("service", service_id, 0), 0.0)
    for key in waiting_items:
        estimates.setdefault(("equipment", key, 0), 0.0)
    pathway_of = dict(zip(services["service_id"], services["pathway"]))
    for (kind, what, d), estimate in estimates.items():
        if kind == "service":
            pathway = int(pathway_of[what])
            rows.append(("service", what, "", "", "", pathway, d, "carer-hour a day" if pathway == 1 else "bed", estimate))
        elif kind == "band":
            rows.append(("band", what[0], what[1], "", "", 1, d, f"{what[1]} carer-hour a day", estimate))
        else:
            rows.append(("equipment", "", "", what[0], what[1], 1, d, "item", estimate))
    columns = ["kind", "service_id", "band", "store_id", "item", "pathway", "day", "unit", "lp_estimate"]
    table = pd.DataFrame(rows, columns=columns)
    table = table.sort_values(
        ["lp_estimate", "kind", "service_id", "band", "store_id", "item", "day"], ascending=[False] + [True] * 6
    )
    table = table.head(most).reset_index(drop=True)
    table.insert(6, "from_date", snapshot.date_of(table["day"].to_numpy()).to_numpy())
    return table.drop(columns="day")


def _waiting_for(base: Plan) -> tuple[list[str], list[tuple[str, str]]]:
    """Services eligible (rules 1-3) for a patient the plan leaves unplaced or starts after the earliest
    day, and the store-items such patients need: one more unit there may pay even where the LP dual is
    zero (or where no variable exists yet, as when a carer-hour short of a patient's need)."""
    snapshot = base.formulation.snapshot
    patients = snapshot.patients
    start = np.full(len(patients), -1)
    left = base.placements[base.placements["stage"] != ONWARD]  # the day each leaves the acute bed
    start[left["patient"].to_numpy().astype(np.int64)] = left["day"].to_numpy()
    waiting = (start < 0) | (start > patients["earliest_day"].to_numpy())
    pairs = pd.concat([eligible_pairs(snapshot), entry_pairs(snapshot)])  # v2: an interim bed may pay too
    services = np.unique(pairs["service"].to_numpy()[waiting[pairs["patient"].to_numpy()]])
    needs = equipment_needs(snapshot)
    needs = needs[waiting[needs["patient"].to_numpy()]]
    stores = patients["store"].to_numpy()[needs["patient"].to_numpy()]
    items = sorted({(store, item) for store, item in zip(stores, needs["item"]) if store != ""})
    return [snapshot.services["service_id"].iat[int(i)] for i in services], items
