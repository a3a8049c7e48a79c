"""The perfect-information bound: the fewest delayed acute bed-days any policy could reach
on one simulated run.

A planner who knew every draw of the run in advance (every arrival, ready day, pathway,
needs, stay length, occupant release) plans the whole simulated horizon at once, under the
rules every day's decision obeys. No policy can do better on that run, so the programme's
LP relaxation (or a MILP's proven bound) is a floor under every policy's delayed bed-days.

Data (from the run's draws, ``engine.draw_run``): patients p with e(p) = max(0, ready day,
earliest day), r+(p) = max(0, ready day), stay l(p) = ceil(L(p)) (capped at T, the days
simulated), use(p) by pool (``pools.py``: pool 0 and, v2, each band); services s with
their places by pool and the day-0 occupants' releases; equipment arrivals; T days.

Classes. Patients alike in everything the rules see (the template they copy: eligible
services, use by pool, equipment and store, interim pairs; and l(p)) are interchangeable:
only how many of them start where and when matters. A class c holds n_c(t) patients
available (e(p) = t) on day t. Counting starts per class instead of per patient is exact
for integer counts (Hall's condition on nested ready windows: give the earliest-available
patients the earliest starts), and it is what makes the 90-day programme small: pathway-3
stays outlast the horizon, so its patients fall into few classes. ``stay_grid`` > 0 rounds
l down to a geometric grid first (a place then comes free earlier than it would: a
relaxation, so still a bound; exact when 0).

Variables (all >= 0; ``integer`` makes x, z, r, a whole numbers):
    x[c, s, t]  class-c starts at service s on day t (rules 1-4: eligible pairs, weekends)
    q[c, t]     class-c patients available by t and still in an acute bed at the end of t
    z[c, v, t]  (v2) class-c entries into interim service v on day t
    r[c, v, t]  (v2) class-c onward starts out of interim service v on day t
    a[c, t]     (v2) class-c starts out of the acute bed on day t (classes that may bridge)
    o[s, j, t]  places of pool j at s held on day t by patients placed in the horizon
    e[g, i, t]  units of item i of store g out with patients on day t

Rows:
    (availability) q[c, t] - q[c, t-1] + sum_s x[c, s, t] = n_c(t);  classes that may
                   bridge: + a[c, t] + sum_v z[c, v, t] in place of sum_s x
    (split)        sum_s x[c, s, t] - a[c, t] - sum_v r[c, v, t] = 0                    (v2)
    (bridge)       r[c, v, t] <= sum_{d < t} (z[c, v, d] - r[c, v, d])    (onward the day after entry at the earliest)
    (places)       o[s, j, t] - o[s, j, t-1] - sum_c use_j(c) (x[c, s, t] - x[c, s, t - l_c])
                   (pool 0 of an interim v: - sum_c (z[c, v, t] - r[c, v, t])) = 0,
                   0 <= o[s, j, t] <= max(places[s, j] - occupants[s, j](t), 0)   (rules 5, 5b, 6.2)
    (admissions)   sum_c x[c, s, t] + sum_c z[c, s, t] <= max_admissions(s)       (rule 6)
    (equipment)    e[g, i, t] - e[g, i, t-1] - sum_c (x[c, ., t] - x[c, ., t - l_c - return_days]) = 0,
                   0 <= e[g, i, t] <= units arrived at g by t                       (rule 7)
Objective: delayed bed-days = sum_{c, t < T} q[c, t] + sum_p (min(e(p), T) - r+(p)), the
days a patient is ready but may not start yet (``earliest_date``) being spent anyway.

What it leaves out, each a relaxation: pinned rows (a bound need not keep them); the
day-to-day rule that a freed interim bed is reused only from the next morning (here, on
the onward day, as in the daily model); and rounding of carer-hours within TOLERANCE.
``RULES`` names the row families, so a test can drop one and see the bound go wrong.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimiser.constants import TOLERANCE
from optimiser.model.eligibility import eligible_pairs
from optimiser.model.families.interim import entry_pairs, may_bridge, uses_interim
from optimiser.model.rules import admits_on_day
from optimiser.simulate.engine import Run, RunDraws
from optimiser.simulate.flow import Flow
from optimiser.solve.highs import _quiet_stdout

RULES = ("availability", "places", "admissions", "equipment", "bridge")
METHODS = ("lp", "mip")


@dataclass(frozen=True)
class BoundSettings:
    """How the bound is computed: ``method`` "lp" (the relaxation: fast, a valid floor) or
    "mip" (whole-number starts; the solver's proven bound at ``time_limit``); ``stay_grid``
    (module doc); ``rules``: the row families enforced (all, unless a test drops one)."""

    method: str = "lp"
    time_limit: float | None = 600.0
    stay_grid: float = 0.0
    threads: int = 1
    rules: tuple[str, ...] = RULES
    highs_options: tuple[tuple[str, object], ...] = (("solver", "ipm"),)  # 5x simplex's speed on ics (benchmarks/README.md)


@dataclass
class RunBound:
    """One run's bound: ``delayed_bed_days`` (a floor: the programme's bound, rounded up, as
    delayed bed-days are whole), the programme's ``value`` before rounding, whether it was
    proven (``optimal``), its size (variables, rows, nonzeros: of its largest part) and
    seconds, and by pathway (``pathways``: each pathway's own part, v1; empty in v2, where
    interim beds join the pathways)."""

    run: int
    delayed_bed_days: float
    value: float
    optimal: bool
    method: str
    variables: int
    rows: int
    nonzeros: int
    classes: int
    patients: int
    build_seconds: float
    solve_seconds: float
    pathways: dict[int, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "run": self.run,
            "delayed_bed_days": self.delayed_bed_days,
            "value": self.value,
            "optimal": self.optimal,
            "method": self.method,
            "variables": self.variables,
            "rows": self.rows,
            "nonzeros": self.nonzeros,
            "classes": self.classes,
            "patients": self.patients,
            "build_seconds": round(self.build_seconds, 3),
            "solve_seconds": round(self.solve_seconds, 3),
            **{f"pathway{k}": v for k, v in sorted(self.pathways.items())},
        }


class _Columns:
    """The programme's columns, block by block, and its rows as COO triplets."""

    def __init__(self) -> None:
        self.count = 0
        self.upper: list[np.ndarray] = []
        self.cost: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.row_count = 0
        self.row_lower: list[np.ndarray] = []
        self.row_upper: list[np.ndarray] = []

    def add(self, n: int, upper=np.inf, cost=0.0, integer: bool = False) -> np.ndarray:
        first = self.count
        self.count += n
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), (n,)).copy())
        self.integer.append(np.full(n, integer))
        return np.arange(first, first + n)

    def new_rows(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        first = self.row_count
        self.row_count += len(lower)
        self.row_lower.append(np.asarray(lower, dtype=float))
        self.row_upper.append(np.asarray(upper, dtype=float))
        return np.arange(first, first + len(lower))

    def put(self, rows: np.ndarray, cols: np.ndarray, vals) -> None:
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        self.rows.append(rows)
        self.cols.append(cols)
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=float), rows.shape).copy())

    def stock_rows(self, key: np.ndarray, day: np.ndarray, cols: np.ndarray, vals: np.ndarray, caps: np.ndarray, horizon: int):
        """Balance rows o[k, t] - o[k, t-1] = sum of (vals at (key, day)), o[k, t] in [0, caps[k, t]],
        for keys 0..K-1 (``caps`` shape (K, T)); terms at day >= horizon are dropped."""
        inside = day < horizon
        keys = caps.shape[0]
        stock = self.add(keys * horizon, upper=np.maximum(caps.reshape(-1), 0.0) + TOLERANCE)
        rows = self.new_rows(np.zeros(keys * horizon), np.zeros(keys * horizon))
        self.put(rows, stock, 1.0)
        later = np.arange(keys * horizon) % horizon > 0
        self.put(rows[later], stock[later] - 1, -1.0)
        self.put(rows[key[inside] * horizon + day[inside]], cols[inside], -vals[inside])

    def matrix(self) -> sp.csc_matrix:
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, np.int64)
        cols = np.concatenate(self.cols) if self.cols else np.zeros(0, np.int64)
        vals = np.concatenate(self.vals) if self.vals else np.zeros(0)
        return sp.coo_matrix((vals, (rows, cols)), shape=(self.row_count, self.count)).tocsc()


def stay_days(stay: np.ndarray, horizon: int, grid: float) -> np.ndarray:
    """ceil(L) capped at the horizon; with ``grid`` > 0, rounded down to the largest point
    of {1, 2, ...} grown by (1 + grid) each step (a place free earlier: a relaxation)."""
    days = np.minimum(np.ceil(stay - 1e-9).astype(np.int64), horizon)
    days = np.maximum(days, 1)
    if grid <= 0:
        return days
    points, value = [1], 1.0
    while points[-1] < horizon:
        value = max(value * (1.0 + grid), points[-1] + 1)
        points.append(min(int(value), horizon))
    points = np.unique(points)
    return points[np.searchsorted(points, days, side="right") - 1]


def perfect_information_bound(
    snapshot, flow: Flow, draws: RunDraws, run: int = 0, settings: BoundSettings | None = None
) -> RunBound:
    """The bound of one run (module doc): the programme built from the run's draws and solved."""
    settings = settings or BoundSettings()
    # v1: a pathway's patients use only its own services (and only pathway 1 uses equipment),
    # so the programme falls apart into one part per pathway, solved one after another (the
    # largest part, not the whole, sets the memory). v2 interim beds join them: one part.
    parts = (None,) if uses_interim(snapshot) else (1, 2, 3)
    value, optimal, pathways = 0.0, True, {}
    size = np.zeros(6, dtype=np.int64)  # variables, rows, nonzeros, classes, patients
    build_seconds = solve_seconds = 0.0
    for part in parts:
        began = time.perf_counter()
        programme = _build(snapshot, flow, draws, settings, part)
        build_seconds += time.perf_counter() - began
        part_value, proven, seconds = _solve(programme, settings)
        solve_seconds += seconds
        value += part_value
        optimal &= proven
        if part is not None:
            pathways[part] = part_value
        columns = programme.columns
        size = np.maximum(size, (columns.count, columns.row_count, sum(len(v) for v in columns.vals), 0, 0, 0))
        size[3] += programme.classes
        size[4] += programme.patients
        del programme
    return RunBound(
        run=run,
        delayed_bed_days=float(np.ceil(value - 1e-6)),
        value=float(value),
        optimal=optimal,
        method=settings.method,
        variables=int(size[0]),
        rows=int(size[1]),
        nonzeros=int(size[2]),
        classes=int(size[3]),
        patients=int(size[4]),
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        pathways=pathways,
    )


@dataclass
class _Programme:
    columns: _Columns
    constant: float
    classes: int
    patients: int


def _build(snapshot, flow: Flow, draws: RunDraws, settings: BoundSettings, part: int | None = None) -> _Programme:
    """The programme of the run's patients of pathway ``part`` (None: all) and their services."""
    horizon = flow.days
    run = Run(snapshot, flow, draws, "fifo", 0)
    patients = draws.patients
    template = patients["template"].to_numpy(dtype=np.int64)
    ready = patients["ready_day"].to_numpy(dtype=np.int64)
    earliest = snapshot.day_of(patients["earliest_date"]) if "earliest_date" in patients else np.zeros(len(patients))
    earliest = np.where(np.isnan(np.asarray(earliest, dtype=float)), 0, earliest).astype(np.int64)
    available = np.maximum.reduce([np.zeros(len(patients), np.int64), ready, earliest])
    counted = np.maximum(ready, 0)
    pathway = patients["pathway"].to_numpy(dtype=np.int64)
    mine = np.ones(len(patients), bool) if part is None else pathway == part
    inside = (counted < horizon) & mine
    constant = float(np.where(inside, np.minimum(available, horizon) - counted, 0).sum())
    placeable = (available < horizon) & mine

    # Profiles: what the rules see of a template (eligible services, uses, equipment, interim pairs)
    pairs = eligible_pairs(snapshot)
    entries = entry_pairs(snapshot)
    uses = run.uses  # per run patient, by pool
    items = patients["equipment"].map(lambda v: tuple(sorted(set(v))) if isinstance(v, (list, tuple, set)) else ()).to_numpy()
    store = run.store_of
    bridging = may_bridge(snapshot)[template]
    service_sets = _sets(pairs, len(snapshot.patients))
    entry_sets = _sets(entries, len(snapshot.patients))
    stay = stay_days(run.ends, horizon, settings.stay_grid)
    keys = pd.DataFrame(
        {
            "services": [service_sets[k] for k in template],
            "entries": [entry_sets[k] if b else () for k, b in zip(template, bridging)],
            "uses": [tuple(np.round(u, 9)) for u in uses],
            "items": list(items),
            "store": np.where(pathway == 1, store, ""),
            "stay": stay,
            "pathway": pathway,
        }
    )[placeable]
    key_columns = list(keys.columns)
    classes = keys.groupby(key_columns, sort=True).ngroup().to_numpy() if len(keys) else np.zeros(0, np.int64)
    members = np.flatnonzero(placeable)
    n_classes = int(classes.max()) + 1 if len(classes) else 0
    first_member = np.full(n_classes, -1, np.int64)
    first_member[classes[::-1]] = members[::-1]  # a representative patient of each class
    cls_available = np.full(n_classes, horizon, np.int64)
    np.minimum.at(cls_available, classes, available[members])
    newly = np.zeros((n_classes, horizon))
    np.add.at(newly, (classes, available[members]), 1.0)
    cls_pathway = pathway[first_member] if n_classes else np.zeros(0, np.int64)
    cls_stay = stay[first_member] if n_classes else np.zeros(0, np.int64)
    cls_bridges = bridging[first_member] if n_classes else np.zeros(0, bool)

    columns = _Columns()
    integer = settings.method == "mip"
    services = snapshot.services
    n_services = len(services)

    # x[c, s, t]: eligible pairs of the class's template, every day from the class's first availability
    rep_template = template[first_member] if n_classes else np.zeros(0, np.int64)
    starts = np.searchsorted(pairs["patient"].to_numpy(), np.arange(len(snapshot.patients) + 1))
    counts = starts[rep_template + 1] - starts[rep_template]
    rows = np.concatenate([np.arange(starts[k], starts[k + 1]) for k in rep_template]) if n_classes else np.zeros(0, np.int64)
    pair_class = np.repeat(np.arange(n_classes), counts)
    pair_service = pairs["service"].to_numpy()[rows] if len(rows) else np.zeros(0, np.int64)
    unplaceable = np.zeros(n_classes, bool)  # pathway 1 with equipment and no store (rule 7)
    for c in range(n_classes):
        if cls_pathway[c] == 1 and len(items[first_member[c]]) and store[first_member[c]] in ("", None):
            unplaceable[c] = True
    keep = ~unplaceable[pair_class]
    pair_class, pair_service = pair_class[keep], pair_service[keep]
    x_class, x_service, x_day = _triples(snapshot, pair_class, pair_service, cls_available, horizon)
    x = columns.add(len(x_class), integer=integer)

    # v2: entries z and onward starts r per (class, interim service, day); a per bridging class
    if n_classes and cls_bridges.any():
        entry_starts = np.searchsorted(entries["patient"].to_numpy(), np.arange(len(snapshot.patients) + 1))
        bridging_classes = np.flatnonzero(cls_bridges & ~unplaceable)
        rk = rep_template[bridging_classes]
        ecounts = entry_starts[rk + 1] - entry_starts[rk]
        erows = (
            np.concatenate([np.arange(entry_starts[k], entry_starts[k + 1]) for k in rk]) if len(rk) else np.zeros(0, np.int64)
        )
        e_class = np.repeat(bridging_classes, ecounts)
        e_service = entries["service"].to_numpy()[erows] if len(erows) else np.zeros(0, np.int64)
    else:
        bridging_classes = np.zeros(0, np.int64)
        e_class = e_service = np.zeros(0, np.int64)
    z_class, z_service, z_day = _triples(snapshot, e_class, e_service, cls_available, horizon)
    z = columns.add(len(z_class), integer=integer)
    r_class, r_service, r_day = _all_days(e_class, e_service, cls_available, horizon, after=1)
    r = columns.add(len(r_class), integer=integer)
    has_acute = np.zeros(n_classes, bool)
    has_acute[bridging_classes] = True
    a_class = np.repeat(bridging_classes, horizon - np.minimum(cls_available[bridging_classes], horizon))
    a_day = _days_from(cls_available[bridging_classes], horizon)
    a = columns.add(len(a_class), integer=integer)

    # q[c, t] and the availability rows, t from the class's first availability
    q_class = np.repeat(np.arange(n_classes), horizon - cls_available)
    q_day = _days_from(cls_available, horizon)
    q = columns.add(len(q_class), cost=1.0)
    position = np.full((n_classes, horizon), -1, np.int64)
    position[q_class, q_day] = np.arange(len(q_class))
    if "availability" in settings.rules:
        avail_rows = columns.new_rows(newly[q_class, q_day], newly[q_class, q_day])
        columns.put(avail_rows, q, 1.0)
        later = q_day > cls_available[q_class]
        columns.put(avail_rows[later], q[later] - 1, -1.0)
        direct = ~has_acute[x_class]
        columns.put(avail_rows[position[x_class[direct], x_day[direct]]], x[direct], 1.0)
        columns.put(avail_rows[position[a_class, a_day]], a, 1.0)
        columns.put(avail_rows[position[z_class, z_day]], z, 1.0)
        if len(a_class):  # split: the starts of a bridging class come from the acute bed or an interim bed
            apos = np.full((n_classes, horizon), -1, np.int64)
            apos[a_class, a_day] = np.arange(len(a_class))
            split = columns.new_rows(np.zeros(len(a_class)), np.zeros(len(a_class)))
            columns.put(split, a, -1.0)
            bridged = has_acute[x_class]
            columns.put(split[apos[x_class[bridged], x_day[bridged]]], x[bridged], 1.0)
            columns.put(split[apos[r_class, r_day]], r, -1.0)
    if "bridge" in settings.rules and len(r_class):
        # r[c, v, t] - sum_{d < t} (z[c, v, d] - r[c, v, d]) <= 0, by a running stock per (c, v)
        pair_id = pd.MultiIndex.from_arrays([z_class, z_service]).append(pd.MultiIndex.from_arrays([r_class, r_service]))
        codes, _ = pd.factorize(pair_id)
        z_key, r_key = codes[: len(z_class)], codes[len(z_class) :]
        n_keys = int(codes.max()) + 1
        in_bed = columns.add(n_keys * horizon)  # w[k, t]: in the interim bed at the end of day t
        balance = columns.new_rows(np.zeros(n_keys * horizon), np.zeros(n_keys * horizon))
        columns.put(balance, in_bed, 1.0)
        later = np.arange(n_keys * horizon) % horizon > 0
        columns.put(balance[later], in_bed[later] - 1, -1.0)
        columns.put(balance[z_key * horizon + z_day], z, -1.0)
        columns.put(balance[r_key * horizon + r_day], r, 1.0)
        leave = columns.new_rows(np.full(len(r_class), -np.inf), np.zeros(len(r_class)))
        columns.put(leave, r, 1.0)
        columns.put(leave, in_bed[r_key * horizon + r_day - 1], -1.0)

    # places (rules 5, 5b; interim beds held from entry to the onward start)
    pools = run.pools
    service, use, start, end = run.holdings.arrays()
    if "places" in settings.rules:
        for j in range(len(pools.names)):
            binding = np.flatnonzero(pools.binds[:, j] & (part is None or snapshot.services["pathway"].to_numpy() == part))
            if not len(binding):
                continue
            local = np.full(n_services, -1, np.int64)
            local[binding] = np.arange(len(binding))
            change = np.zeros((n_services, horizon + 1))  # occupants' places held on each day
            np.add.at(change, (service, 0), use[:, j])
            np.add.at(change, (service, np.minimum(end, horizon)), -use[:, j])
            held = np.cumsum(change, axis=1)[:, :horizon]
            caps = (pools.places[binding, j][:, None] - held[binding]).clip(min=0.0)
            cls_use = np.array([uses[first_member[c], j] for c in range(n_classes)]) if n_classes else np.zeros(0)
            mine = local[x_service] >= 0
            key = np.concatenate([local[x_service[mine]], local[x_service[mine]]])
            day = np.concatenate([x_day[mine], x_day[mine] + cls_stay[x_class[mine]]])
            cols = np.concatenate([x[mine], x[mine]])
            vals = np.concatenate([cls_use[x_class[mine]], -cls_use[x_class[mine]]])
            if j == 0 and len(z_class):
                zin = local[z_service] >= 0
                rin = local[r_service] >= 0
                key = np.concatenate([key, local[z_service[zin]], local[r_service[rin]]])
                day = np.concatenate([day, z_day[zin], r_day[rin]])
                cols = np.concatenate([cols, z[zin], r[rin]])
                vals = np.concatenate([vals, np.ones(zin.sum()), -np.ones(rin.sum())])
            columns.stock_rows(key, day, cols, vals, caps, horizon)

    # admissions (rule 6): starts and entries on the day
    if "admissions" in settings.rules:
        limit = services["max_admissions_per_day"].to_numpy(dtype=float)
        limited = np.flatnonzero(~np.isnan(limit))
        if len(limited):
            local = np.full(n_services, -1, np.int64)
            local[limited] = np.arange(len(limited))
            adm = columns.new_rows(np.full(len(limited) * horizon, -np.inf), np.repeat(limit[limited], horizon))
            for cls_service, cls_day, cols in ((x_service, x_day, x), (z_service, z_day, z)):
                mine = local[cls_service] >= 0
                columns.put(adm[local[cls_service[mine]] * horizon + cls_day[mine]], cols[mine], 1.0)

    # equipment (rule 7): units out from the start until l + return_days later
    if "equipment" in settings.rules and n_classes:
        needs = [
            (store[first_member[c]], item) for c in range(n_classes) if cls_pathway[c] == 1 for item in items[first_member[c]]
        ]
        goods = sorted(set(needs))
        if goods:
            good_index = {g: k for k, g in enumerate(goods)}
            arrived = np.zeros((len(goods), horizon))
            for (g, item), arrivals in run.stock.items():
                if (g, item) in good_index:
                    for d, units in arrivals.items():
                        if d < horizon:
                            arrived[good_index[(g, item)], max(d, 0)] += units
            caps = np.cumsum(arrived, axis=1)
            class_goods = [
                [good_index[(store[first_member[c]], item)] for item in items[first_member[c]]] if cls_pathway[c] == 1 else []
                for c in range(n_classes)
            ]
            n_goods = np.array([len(g) for g in class_goods], dtype=np.int64)
            reps = n_goods[x_class]
            which = (
                np.concatenate([np.asarray(class_goods[c], dtype=np.int64) for c in x_class])
                if reps.sum()
                else np.zeros(0, np.int64)
            )
            xs = np.repeat(np.arange(len(x_class)), reps)
            back = x_day[xs] + cls_stay[x_class[xs]] + flow.return_days
            columns.stock_rows(
                np.concatenate([which, which]),
                np.concatenate([x_day[xs], back]),
                np.concatenate([x[xs], x[xs]]),
                np.concatenate([np.ones(len(xs)), -np.ones(len(xs))]),
                caps,
                horizon,
            )

    return _Programme(columns, constant, n_classes, int(placeable.sum()))


def _sets(pairs: pd.DataFrame, n: int) -> list[tuple]:
    """Each template's services in ``pairs``, as a tuple (empty where it has none)."""
    sets: list[tuple] = [()] * n
    for patient, group in pairs.groupby("patient")["service"]:
        sets[int(patient)] = tuple(int(s) for s in group)
    return sets


def _days_from(first: np.ndarray, horizon: int) -> np.ndarray:
    """Days first[k] .. horizon - 1 for each k, concatenated."""
    counts = np.maximum(horizon - first, 0)
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(first, counts)


def _all_days(cls: np.ndarray, service: np.ndarray, first: np.ndarray, horizon: int, after: int = 0):
    """(class, service, day) for every day from the class's first availability (+ after)."""
    begin = np.minimum(first[cls] + after, horizon) if len(cls) else np.zeros(0, np.int64)
    counts = horizon - begin
    day = _days_from(begin, horizon)
    return np.repeat(cls, counts), np.repeat(service, counts), day


def _triples(snapshot, cls: np.ndarray, service: np.ndarray, first: np.ndarray, horizon: int):
    """(class, service, day) on the days rule 4 allows (weekends by the service's rule)."""
    c, s, d = _all_days(cls, service, first, horizon)
    keep = admits_on_day(snapshot, s, d)
    return c[keep], s[keep], d[keep]


def _solve(programme: _Programme, settings: BoundSettings):
    """(value, proven, seconds): the LP optimum, or the MILP's proven bound at the limit."""
    import highspy

    columns = programme.columns
    began = time.perf_counter()
    if columns.count == 0:
        return programme.constant, True, 0.0
    matrix = columns.matrix()
    with _quiet_stdout():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", int(settings.threads))
    highs.setOptionValue("random_seed", 0)
    if settings.time_limit is not None:
        highs.setOptionValue("time_limit", float(settings.time_limit))
    lp = highspy.HighsLp()
    lp.num_col_ = columns.count
    lp.num_row_ = columns.row_count
    lp.col_cost_ = np.concatenate(columns.cost)
    lp.col_lower_ = np.zeros(columns.count)
    upper = np.concatenate(columns.upper)
    lp.col_upper_ = np.where(np.isinf(upper), highspy.kHighsInf, upper)
    lower = np.concatenate(columns.row_lower) if columns.row_lower else np.zeros(0)
    upper_rows = np.concatenate(columns.row_upper) if columns.row_upper else np.zeros(0)
    lp.row_lower_ = np.where(np.isinf(lower), -highspy.kHighsInf, lower)
    lp.row_upper_ = np.where(np.isinf(upper_rows), highspy.kHighsInf, upper_rows)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(float)
    integer = np.concatenate(columns.integer)
    if settings.method == "mip" and integer.any():
        lp.integrality_ = np.where(integer, highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous)
        highs.setOptionValue("mip_rel_gap", 0.0)
        highs.setOptionValue("mip_abs_gap", 0.999)  # delayed bed-days are whole numbers
    highs.passModel(lp)
    for name, value in settings.highs_options:
        highs.setOptionValue(name, value)
    highs.run()
    info = highs.getInfo()
    status = highs.getModelStatus()
    seconds = time.perf_counter() - began
    offset = programme.constant
    if settings.method == "mip" and integer.any():
        bound = float(info.mip_dual_bound)
        proven = status == highspy.HighsModelStatus.kOptimal
        if proven:  # whole bed-days: the optimum, whatever the gap tolerance left
            bound = max(bound, float(info.objective_function_value) - 0.999)
        return (bound + offset if np.isfinite(bound) else offset), proven, seconds
    if status != highspy.HighsModelStatus.kOptimal:
        # an LP stopped early gives no bound (its primal value is above the floor): say so
        raise BoundError(f"the bound's LP was not solved ({highs.modelStatusToString(status)}); raise the bound's time limit")
    return float(info.objective_function_value) + offset, True, seconds


class BoundError(RuntimeError):
    """The bound could not be computed within its limits."""
