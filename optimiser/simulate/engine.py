"""One simulated run under one policy: the day loop of the flow contract.

Everything random in a run is drawn first, from streams spawned from the run's seed
(``RunDraws``): arrival counts, which snapshot patient each newcomer copies, every
patient's stay, the day-0 occupants' remaining stays. The policy only decides who starts
where and when, so every policy of a run sees the same arrivals, patients and stays
(common random numbers), and a run's results do not depend on which worker ran it.

Day t: newcomers arrive (ready on t + notice_days); places whose stay ends on t are free
again, equipment returns and deliveries arrive; the policy plans on the state as a
snapshot dated t (the patients waiting or known; the capacity free from t on, and the
places freed within ``known_release_days`` on their dates; the equipment in stock and
arriving; the snapshot's own pinned rows not yet carried out); the plan's starts on day t
are carried out (later ones are not: tomorrow plans again); the day is recorded.

v2 snapshots: places are counted by pool (``pools.py``: all day, and each time-of-day band),
so the day's state has a capacity row per band. An interim entry on the day holds its bed
until the onward start (free again from that day, for the next day's decision); in the
states that follow, the patient waits for its onward place out of the acute bed, without
``interim_ok``, each day costing ``interim_weight`` of an acute day (its priority scaled), and
is not a delayed acute bed-day.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.schema import DIRECT as DIRECT_NAME
from optimiser.data.schema import INTERIM as INTERIM_NAME
from optimiser.data.snapshot import Snapshot, prepare, sort_by_ids
from optimiser.model.eligibility import eligible_pairs
from optimiser.model.families.base import INTERIM, stage_of
from optimiser.model.families.interim import uses_interim
from optimiser.model.formulation import build_formulation
from optimiser.model.previous import kept_start, placement_triples, start_vector
from optimiser.simulate.flow import Flow
from optimiser.simulate.lookahead import FLAT_GROWTH, phantom_patients, price_capacity
from optimiser.simulate.pools import patient_uses, pools_of
from optimiser.solve.cancel import Cancellation
from optimiser.solve.dispatch import solve

DERIVED = ("ready_day", "earliest_day", "use", "max_travel", "store")
DAILY_COLUMNS = [
    "policy",
    "run",
    "day",
    "date",
    "pathway",
    "arrived",
    "placed",
    "waiting",
    "known",
    "delayed_bed_days",
    "occupied",
    "places",
    "mean_wait_placed",
]
PATIENT_COLUMNS = ["policy", "run", "patient_id", "pathway", "ready_day", "placed_day", "service_id", "wait_days", "stay_days"]
INTERIM_DAILY = ["entered_interim", "in_interim"]  # v2, with interim services: added at the end
INTERIM_PATIENTS = ["interim_day", "interim_service_id"]


def daily_columns(snapshot: Snapshot) -> list[str]:
    """daily.csv's columns: the contract's, and (v2) the interim counts where a service is interim."""
    return DAILY_COLUMNS + (INTERIM_DAILY if uses_interim(snapshot) else [])


def patient_columns(snapshot: Snapshot) -> list[str]:
    """patients.csv's columns: the contract's, and (v2) the interim entry where a service is interim."""
    return PATIENT_COLUMNS + (INTERIM_PATIENTS if uses_interim(snapshot) else [])


PLANNED = ("optimiser", "lookahead")  # the policies that solve the daily model (fifo: its greedy)
OVERDUE = 1000.0  # max_wait_days: the priority factor of a patient at the cap (placed first where any place allows)
HELD_ON = np.iinfo(np.int64).max // 4  # the end day of an interim bed until its patient moves on


@dataclass
class RunDraws:
    """Everything random in one run, drawn before any decision (module doc).

    ``patients``: the day-0 patients then the newcomers, with ``arrival_day`` (day-0
    patients: 0), ``ready_day`` (simulation day) and ``stay`` (days, L);
    ``occupants``: day-0 occupants as (service, use, end_day), end_day = ceil(R).
    """

    patients: pd.DataFrame
    occupants: pd.DataFrame


def places_of(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """Each service's places (beds or carer-hours a day) and its capacity free on day 0;
    a service without ``places`` has places = its capacity free on day 0 (``pools.py``)."""
    pools = pools_of(snapshot)
    return pools.places[:, 0], pools.free[:, 0]


def draw_run(snapshot: Snapshot, flow: Flow, seed: np.random.SeedSequence) -> RunDraws:
    """The run's arrivals, patient copies, stays and occupants (module doc)."""
    streams = [np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i)) for i in range(4)]  # not seed.spawn: no state
    arrival_stream, copy_stream, stay_stream, occupant_stream = (np.random.default_rng(s) for s in streams)
    patients = snapshot.patients
    origin = snapshot.snapshot_date
    pools = {}
    for rate in flow.rates:
        mine = patients["pathway"].to_numpy() == rate.pathway
        if rate.site is not None:
            mine &= patients["site"].to_numpy() == rate.site
        pools[rate] = np.flatnonzero(mine)
    templates, arrival_days = [], []
    for t in range(flow.days):
        weekday = (origin + dt.timedelta(days=t)).weekday()
        for rate in flow.rates:
            count = int(arrival_stream.poisson(rate.per_day * flow.weekday_factor[weekday]))
            if count:
                templates.append(copy_stream.choice(pools[rate], size=count))
                arrival_days.append(np.full(count, t))
    template = np.concatenate(templates) if templates else np.zeros(0, dtype=np.int64)
    arrival_day = np.concatenate(arrival_days) if arrival_days else np.zeros(0, dtype=np.int64)

    day0 = patients[[c for c in patients.columns if c not in DERIVED]].copy()
    day0["arrival_day"] = 0
    day0["newcomer"] = False
    day0["template"] = np.arange(len(patients))
    day0["ready_day"] = patients["ready_day"].to_numpy()
    newcomers = patients.iloc[template][[c for c in patients.columns if c not in DERIVED]].copy()
    prefix = "N"
    while patients["patient_id"].str.startswith(prefix).any():
        prefix += "N"
    order = np.arange(len(template)) - np.searchsorted(arrival_day, arrival_day)  # k-th newcomer of its day
    newcomers["patient_id"] = [f"{prefix}{t:04d}-{k:04d}" for t, k in zip(arrival_day, order)]
    newcomers["ready_date"] = pd.to_datetime([origin + dt.timedelta(days=int(t + flow.notice_days)) for t in arrival_day])
    newcomers["earliest_date"] = pd.NaT
    newcomers["arrival_day"] = arrival_day
    newcomers["newcomer"] = True
    newcomers["template"] = template
    newcomers["ready_day"] = arrival_day + flow.notice_days
    everyone = pd.concat([day0, newcomers], ignore_index=True)
    pathway = everyone["pathway"].to_numpy()
    stay = np.zeros(len(everyone))
    for k in (1, 2, 3):  # one stream, drawn pathway by pathway in patient order
        mine = np.flatnonzero(pathway == k)
        stay[mine] = flow.stays[k].draw(stay_stream, len(mine))
    everyone["stay"] = stay

    places, free = places_of(snapshot)
    mean_use = float(patients.loc[patients["pathway"] == 1, "use"].mean()) if (patients["pathway"] == 1).any() else 1.0
    occupants = []
    for s, (size, room) in enumerate(zip(places, free)):
        held = size - room
        if held <= TOLERANCE:
            continue
        k = int(snapshot.services["pathway"].iat[s])
        unit = mean_use if k == 1 else 1.0
        whole = int(math.floor(held / unit + TOLERANCE))
        uses = [unit] * whole + ([held - whole * unit] if held - whole * unit > TOLERANCE else [])
        remaining = flow.stays[k].draw_residual(occupant_stream, len(uses))
        occupants += [(s, use, int(math.ceil(r))) for use, r in zip(uses, remaining)]
    occupants = pd.DataFrame(occupants, columns=["service", "use", "end_day"])
    return RunDraws(everyone, occupants)


class Holdings:
    """Places held: service, use by pool (``pools.py``), first day and the day the place is
    free again, one per occupant or placement, in growing numpy arrays."""

    def __init__(self, service: np.ndarray, use: np.ndarray, end: np.ndarray) -> None:
        n, width = use.shape
        size = max(2 * n, 1024)
        self._service = np.zeros(size, dtype=np.int64)
        self._use = np.zeros((size, width))
        self._start = np.zeros(size, dtype=np.int64)
        self._end = np.zeros(size, dtype=np.int64)
        self._service[:n], self._use[:n], self._end[:n] = service, use, end
        self.count = n

    def add(self, service: int, use: np.ndarray, start: int, end: int) -> int:
        """One more holding; its index (for ``free_from``)."""
        if self.count == len(self._use):
            for name in ("_service", "_use", "_start", "_end"):
                array = getattr(self, name)
                setattr(self, name, np.concatenate([array, np.zeros_like(array)]))
        i = self.count
        self._service[i], self._use[i], self._start[i], self._end[i] = service, use, start, end
        self.count += 1
        return i

    def free_from(self, i: int, day: int) -> None:
        """Holding i ends: its place is free again from that day (an interim bed left)."""
        self._end[i] = day

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n = self.count
        return self._service[:n], self._use[:n], self._start[:n], self._end[:n]


class Run:
    """The state of one run under one policy, advanced a day at a time (``step``)."""

    def __init__(
        self, snapshot: Snapshot, flow: Flow, draws: RunDraws, policy: str, run: int, options: dict | None = None, observer=None
    ):
        self.snapshot, self.flow, self.policy, self.run = snapshot, flow, policy, run
        self.options = options or {}
        self.observer = observer  # observer(t, state, formulation, result) after each decision (tests)
        self.cancel = Cancellation()  # the run's own: no signal handler, so SIGTERM ends the process
        self.patients = draws.patients
        n = len(self.patients)
        template = self.patients["template"].to_numpy(dtype=np.int64)
        self.uses = patient_uses(snapshot)[template]  # by pool (pools.py): use(p), then band uses
        self.use = self.uses[:, 0]
        self.ends = self.patients["stay"].to_numpy()
        self.placed_day = np.full(n, -1, dtype=np.int64)
        self.service = np.full(n, -1, dtype=np.int64)
        self.pools = pools_of(snapshot)
        self.places = self.pools.places[:, 0]
        self.service_pathway = snapshot.services["pathway"].to_numpy()
        occupied = draws.occupants["service"].to_numpy(dtype=np.int64)
        occupant_use = draws.occupants["use"].to_numpy(dtype=float)[:, None]
        if len(self.pools.names) > 1:  # v2 bands: day-0 occupants look like the average patient (pools.py)
            banded = self.pools.binds[occupied, 1:]
            occupant_use = np.hstack([occupant_use, np.where(banded, occupant_use * self.pools.band_share[None, :], 0.0)])
        self.holdings = Holdings(occupied, occupant_use, draws.occupants["end_day"].to_numpy(dtype=np.int64))
        self.interim = uses_interim(snapshot)  # v2: patients wait for their onward start in interim beds
        self.interim_day = np.full(n, -1, dtype=np.int64)
        self.interim_service = np.full(n, -1, dtype=np.int64)
        self.interim_holding = np.full(n, -1, dtype=np.int64)
        self.band_rows = self._band_rows(template)
        self.stock = self._initial_stock()
        self.pinned = snapshot.pinned.copy()
        self.previous: pd.DataFrame | None = None
        self.daily: list[dict] = []
        self.id_index = pd.Series(np.arange(n), index=self.patients["patient_id"])
        self.newcomer = self.patients["newcomer"].to_numpy(dtype=bool)
        self.template = dict(zip(self.patients["patient_id"], self.patients["template"]))
        pairs = eligible_pairs(snapshot)  # rules 1-3 of the day-0 patients, whom every newcomer copies
        starts = np.searchsorted(pairs["patient"].to_numpy(), np.arange(len(snapshot.patients) + 1))
        self.template_pairs = (pairs, starts)
        stores = dict(zip(snapshot.localities["locality_id"], snapshot.localities["equipment_store"]))
        self.store_of = self.patients["locality"].map(stores).fillna("").to_numpy()
        self.decision_seconds = 0.0
        self.phantom_template: dict[str, int] = {}  # lookahead: today's phantom patients and whom they copy
        self.planned = policy in PLANNED

    def _band_rows(self, template: np.ndarray) -> pd.DataFrame:
        """care_bands.csv rows of every patient of the run (a newcomer has those of the
        patient it copies), with ``owner``, the patient's position in the run."""
        rows = self.snapshot.care_bands
        if not self.snapshot.settings.bands or not len(rows):
            return rows.assign(owner=np.zeros(len(rows), dtype=np.int64)).iloc[:0]
        position = self.snapshot.patient_index.loc[rows["patient_id"]].to_numpy()
        order = np.argsort(position, kind="stable")
        starts = np.searchsorted(position[order], np.arange(len(self.snapshot.patients) + 1))
        counts = starts[template + 1] - starts[template]
        picked = order[np.concatenate([np.arange(starts[k], starts[k + 1]) for k in template])] if len(template) else []
        copied = rows.iloc[picked].reset_index(drop=True)
        owner = np.repeat(np.arange(len(template)), counts)
        copied["patient_id"] = self.patients["patient_id"].to_numpy()[owner]
        copied["owner"] = owner
        return copied

    def _initial_stock(self) -> dict[tuple[str, str], dict[int, float]]:
        """Units arriving at each (store, item) by simulation day: equipment.csv (before the
        snapshot: day 0), then deliveries; returns are added as packages start."""
        stock: dict[tuple[str, str], dict[int, float]] = {}
        equipment = self.snapshot.equipment
        days = np.maximum(self.snapshot.day_of(equipment["date"]), 0).astype(np.int64)
        for store, item, day, quantity in zip(equipment["store_id"], equipment["item"], days, equipment["quantity"]):
            arrivals = stock.setdefault((store, item), {})
            arrivals[int(day)] = arrivals.get(int(day), 0.0) + float(quantity)
        for delivery in self.flow.deliveries:
            arrivals = stock.setdefault((delivery.store, delivery.item), {})
            for t in range(self.flow.days + self.snapshot.horizon):
                units = math.floor((t + 1) * delivery.per_week / 7 + TOLERANCE) - math.floor(
                    t * delivery.per_week / 7 + TOLERANCE
                )
                if units:
                    arrivals[t] = arrivals.get(t, 0.0) + units
        return stock

    def date(self, t: int) -> dt.date:
        return self.snapshot.snapshot_date + dt.timedelta(days=t)

    def state(self, t: int) -> Snapshot:
        """The state on day t as a snapshot dated t (module doc)."""
        base = self.snapshot
        horizon = base.horizon
        patients = self.patients
        present = (patients["arrival_day"].to_numpy() <= t) & (self.placed_day < 0)
        waiting = (
            patients[present].drop(columns=["arrival_day", "newcomer", "ready_day", "stay", "template"]).reset_index(drop=True)
        )
        bridging = self.interim_day[present] >= 0  # v2: waiting in an interim bed for the onward start
        if bridging.any():
            waiting.loc[bridging, "interim_ok"] = False  # one interim stay a journey
        waiting["line"] = np.arange(2, len(waiting) + 2)
        date = pd.Timestamp(self.date(t))
        capacity = self._capacity_rows(t, date)
        stock_rows = []
        for (store, item), arrivals in sorted(self.stock.items()):
            now = sum(units for day, units in arrivals.items() if day <= t)
            stock_rows.append((store, item, date, max(now, 0.0)))
            stock_rows += [
                (store, item, pd.Timestamp(self.date(day)), units)
                for day, units in sorted(arrivals.items())
                if t < day < t + horizon and units > 0
            ]
        equipment = pd.DataFrame(stock_rows, columns=["store_id", "item", "date", "quantity"])
        equipment.insert(0, "line", np.arange(2, len(equipment) + 2))
        pinned = self.pinned[self.pinned["patient_id"].isin(set(waiting["patient_id"]))].reset_index(drop=True)
        state = copy.copy(base)
        state.content_hash = None
        horizon_days = base.settings.horizon_days
        if self.planned and self.flow.horizon_days is not None:  # a shorter plan a day, if asked
            horizon_days = min(horizon_days, self.flow.horizon_days)
        weights = base.settings.weights
        columns = [c for c in base.patients.columns if c not in DERIVED]
        patients_today = waiting[columns]
        bands_today = self.band_rows[present[self.band_rows["owner"].to_numpy()]] if len(self.band_rows) else None
        if self.policy == "lookahead":  # lookahead.py: expected newcomers and harm as the measure counts it
            ahead = self.flow.lookahead
            if ahead.flat_harm:
                weights = dataclasses.replace(weights, wait_growth_days=FLAT_GROWTH)
            if ahead.phantoms:
                phantoms = phantom_patients(base, self.flow, self.run, t, horizon_days, columns)
                self.phantom_template = dict(zip(phantoms["patient_id"], phantoms["template"].astype(int)))
                patients_today = pd.concat([patients_today, phantoms[columns]], ignore_index=True)
                if bands_today is not None and len(phantoms):
                    bands_today = pd.concat([bands_today, self._phantom_bands(phantoms)], ignore_index=True)
        state.settings = dataclasses.replace(
            base.settings, snapshot_date=self.date(t), horizon_days=horizon_days, weights=weights
        )
        state.patients = patients_today
        state.capacity = capacity
        state.equipment = equipment
        state.pinned = pinned
        if bands_today is not None:
            state.care_bands = bands_today.drop(columns=["owner"])
        prepare(state)
        real = len(waiting)
        if bridging.any():  # a day waited in an interim bed costs interim_weight of an acute day (6.2)
            weight = np.ones(len(state.patients))
            weight[:real] = np.where(bridging, state.weights.interim_weight, 1.0)
            state.patients["priority"] = state.patients["priority"].to_numpy(dtype=float) * weight
        if self.planned and self.flow.max_wait_days is not None:  # the cap: overdue patients go first
            waited = t - patients["ready_day"].to_numpy()[present]
            overdue = np.zeros(len(state.patients), dtype=bool)
            overdue[:real] = waited >= self.flow.max_wait_days - 1
            if overdue.any():
                state.patients["priority"] = state.patients["priority"].to_numpy(dtype=float) * np.where(overdue, OVERDUE, 1.0)
        sort_by_ids(state, only=("patients", "capacity", "equipment", "pinned"))
        return state

    def _phantom_bands(self, phantoms: pd.DataFrame) -> pd.DataFrame:
        """care_bands.csv rows of the phantom patients: those of the patients they copy."""
        rows = self.snapshot.care_bands
        copied = phantoms[["patient_id", "template"]].merge(
            rows.assign(template=self.snapshot.patient_index.loc[rows["patient_id"]].to_numpy()).drop(columns=["patient_id"]),
            on="template",
        )
        return copied.drop(columns=["template"]).assign(owner=-1)

    def _capacity_rows(self, t: int, date: pd.Timestamp) -> pd.DataFrame:
        """capacity.csv of the state on day t: each binding pool's places not held today, and
        the places freed within ``known_release_days`` on their dates (v2 bands: a row per band)."""
        horizon = self.snapshot.horizon
        pools = self.pools
        service, use, start, end = self.holdings.arrays()
        active = (start <= t) & (t < end)
        service_ids = self.snapshot.services["service_id"].to_numpy()
        soon = active & (end <= t + min(self.flow.known_release_days, horizon - 1))
        rows = []
        for j, band in enumerate(pools.names):
            held = np.bincount(service[active], weights=use[active, j], minlength=len(service_ids))
            for s in np.flatnonzero(pools.binds[:, j]):
                rows.append((service_ids[s], date, max(pools.places[s, j] - held[s], 0.0), band))
            mine = soon & pools.binds[service, j]
            if mine.any():
                released = (
                    pd.DataFrame({"service": service[mine], "end": end[mine], "use": use[mine, j]})
                    .groupby(["service", "end"])["use"]
                    .sum()
                )
                for (s, day), amount in released.items():
                    rows.append((service_ids[s], pd.Timestamp(self.date(int(day))), float(amount), band))
        capacity = pd.DataFrame(rows, columns=["service_id", "date", "amount", "band"])
        if len(pools.names) == 1:
            capacity = capacity.drop(columns=["band"])
        capacity.insert(0, "line", np.arange(2, len(capacity) + 2))
        return capacity

    def decide(self, state: Snapshot) -> pd.DataFrame:
        """The policy's plan on the state, as ``allocate`` makes it (the same formulation and
        solve; no unplaced reasons, which the simulation does not use): placements
        (patient_id, service_id, start_date, day). ``optimiser`` and ``lookahead`` start from
        yesterday's plan (``warm_start``: "whole", where all of it is still feasible; "kept",
        the patients of it that still fit; "none") when it is better than the greedy one."""
        began = time.perf_counter()
        formulation = build_formulation(state, pairs=self.pairs_of(state))
        if self.policy == "lookahead":
            price_capacity(formulation, self.flow.lookahead)
        if self.policy == "fifo":
            result = solve(formulation, "greedy")
        else:
            limits = {"time_limit": self.flow.time_limit, "work_limit": self.flow.work_limit}
            if limits["work_limit"] is not None and limits["time_limit"] is None:
                limits["time_limit"] = 600.0  # a safety cap only
            start = None
            if self.previous is not None and len(self.previous) and self.flow.warm_start != "none":
                triples = placement_triples(state, self.previous)
                if self.flow.warm_start == "kept":  # the parts of yesterday's plan that still fit
                    start = kept_start(formulation, triples).x
                else:  # the whole of yesterday's plan, or nothing
                    start = start_vector(formulation, triples)
            today = self.cancel.child()  # the watchdog stops today's solve only; Ctrl-C reaches the run (root)
            result = solve(formulation, "highs", start=start, threads=self.flow.threads, cancel=today, **limits)
            if self.cancel.cancelled:  # Ctrl-C stops the simulation, not just one day's solve: nothing is written
                raise KeyboardInterrupt("simulation stopped")
        self.decision_seconds += time.perf_counter() - began
        if self.observer is not None:
            self.observer(self.day, state, formulation, result)
        x = result.x if result.x is not None else np.zeros(formulation.num_variables)
        stage = stage_of(formulation.variables)
        chosen = formulation.variables[(x > 0.5) & (stage <= INTERIM)]  # starts and (v2) interim entries
        plan = pd.DataFrame(
            {
                "patient_id": state.patients["patient_id"].to_numpy()[chosen["patient"].to_numpy()],
                "service_id": state.services["service_id"].to_numpy()[chosen["service"].to_numpy()],
                "start_date": state.date_of(chosen["day"].to_numpy()).to_numpy(),
                "day": chosen["day"].to_numpy(),
            }
        )
        if self.interim:
            plan["stage"] = np.where(stage_of(chosen) == INTERIM, INTERIM_NAME, DIRECT_NAME)
        if self.phantom_template:  # lookahead: phantom patients are planned, never placed
            plan = plan[~plan["patient_id"].isin(self.phantom_template)].reset_index(drop=True)
        return plan

    def pairs_of(self, state: Snapshot) -> pd.DataFrame:
        """The state's eligible (patient, service, minutes): those of the patient each copies."""
        pairs, starts = self.template_pairs
        ids = state.patients["patient_id"]
        template = ids.map(self.template).fillna(ids.map(self.phantom_template)).to_numpy(dtype=np.int64)
        counts = starts[template + 1] - starts[template]
        rows = (
            np.concatenate([np.arange(starts[k], starts[k + 1]) for k in template])
            if len(template)
            else np.zeros(0, dtype=np.int64)
        )
        return pd.DataFrame(
            {
                "patient": np.repeat(np.arange(len(template)), counts),
                "service": pairs["service"].to_numpy()[rows],
                "minutes": pairs["minutes"].to_numpy()[rows],
            }
        )

    def step(self, t: int) -> None:
        """Day t (module doc): plan on the state, carry out the plan's moves on day t."""
        self.day = t
        state = self.state(t)
        plan = (
            self.decide(state) if len(state.patients) else pd.DataFrame(columns=["patient_id", "service_id", "start_date", "day"])
        )
        self.previous = plan
        today = plan[plan["day"] == 0] if "day" in plan else plan
        entering = (today["stage"] == INTERIM_NAME).to_numpy() if "stage" in today else np.zeros(len(today), dtype=bool)
        service_index = self.snapshot.service_index
        placed_today, entered_today = [], []
        for patient_id, service_id in zip(today["patient_id"][~entering], today["service_id"][~entering]):
            p = int(self.id_index[patient_id])
            s = int(service_index[service_id])
            self.placed_day[p], self.service[p] = t, s
            end = t + int(math.ceil(self.ends[p]))
            self.holdings.add(s, self.uses[p], t, end)
            placed_today.append(p)
            self._take_equipment(p, t, end)
            if self.interim_holding[p] >= 0:  # moving on: the interim bed is free again from today
                self.holdings.free_from(int(self.interim_holding[p]), t)
        for patient_id, service_id in zip(today["patient_id"][entering], today["service_id"][entering]):
            p = int(self.id_index[patient_id])
            s = int(service_index[service_id])
            bed = np.zeros(self.uses.shape[1])
            bed[0] = 1.0
            self.interim_day[p], self.interim_service[p] = t, s
            self.interim_holding[p] = self.holdings.add(s, bed, t, HELD_ON)
            entered_today.append(p)
        moved = set(today["patient_id"])
        done = self.pinned["patient_id"].isin(moved).to_numpy()
        if self.interim and len(self.pinned):  # an entry carries out the pinned interim row only
            pinned_stage = self.pinned.get("stage", pd.Series("", index=self.pinned.index)).fillna("").astype(str).str.lower()
            entered = self.pinned["patient_id"].isin(set(today["patient_id"][entering])).to_numpy()
            done = (done & ~entered) | (entered & (pinned_stage == INTERIM_NAME).to_numpy())
        self.pinned = self.pinned[~done]
        self._record(t, np.asarray(placed_today, dtype=np.int64), np.asarray(entered_today, dtype=np.int64))

    def _take_equipment(self, p: int, start: int, end: int) -> None:
        if int(self.patients["pathway"].iat[p]) != 1:
            return
        store = self.store_of[p]
        for item in sorted(set(self.patients["equipment"].iat[p])):
            arrivals = self.stock.setdefault((store, item), {})
            arrivals[start] = arrivals.get(start, 0.0) - 1.0
            back = end + self.flow.return_days
            arrivals[back] = arrivals.get(back, 0.0) + 1.0

    def _record(self, t: int, placed_today: np.ndarray, entered_today: np.ndarray) -> None:
        """Day t's row per pathway. v2: ``waiting`` (and so delayed bed-days) counts patients
        in acute beds; those waiting in interim beds are ``in_interim``, by their own pathway."""
        patients = self.patients
        pathway = patients["pathway"].to_numpy()
        arrival = patients["arrival_day"].to_numpy()
        ready = patients["ready_day"].to_numpy()
        unplaced = self.placed_day < 0
        bridging = unplaced & (self.interim_day >= 0)
        service, use, start, end = self.holdings.arrays()
        active = (start <= t) & (t < end)
        occupied = np.bincount(self.service_pathway[service[active]], weights=use[active, 0], minlength=4)
        date = self.date(t).isoformat()
        for k in (1, 2, 3):
            mine = pathway == k
            today = placed_today[pathway[placed_today] == k]
            waiting = int(np.sum(mine & unplaced & ~bridging & (ready <= t) & (arrival <= t)))
            row = {
                "policy": self.policy,
                "run": self.run,
                "day": t,
                "date": date,
                "pathway": k,
                "arrived": int(np.sum(mine & self.newcomer & (arrival == t))),
                "placed": len(today),
                "waiting": waiting,
                "known": int(np.sum(mine & unplaced & (ready > t) & (arrival <= t))),
                "delayed_bed_days": waiting,
                "occupied": float(occupied[k]),
                "places": float(self.places[self.service_pathway == k].sum()),
                "mean_wait_placed": float(np.mean(t - ready[today])) if len(today) else None,
            }
            if self.interim:
                row["entered_interim"] = int(np.sum(pathway[entered_today] == k))
                row["in_interim"] = int(np.sum(mine & bridging))
            self.daily.append(row)

    def patient_table(self) -> pd.DataFrame:
        patients = self.patients
        arrived = patients["arrival_day"].to_numpy() < self.flow.days
        placed = self.placed_day >= 0
        service_ids = self.snapshot.services["service_id"].to_numpy()
        ready = patients["ready_day"].to_numpy()
        table = pd.DataFrame(
            {
                "policy": self.policy,
                "run": self.run,
                "patient_id": patients["patient_id"].to_numpy(),
                "pathway": patients["pathway"].to_numpy(),
                "ready_day": ready,
                "placed_day": pd.array(np.where(placed, self.placed_day, 0), dtype="Int64"),
                "service_id": np.where(placed, service_ids[np.maximum(self.service, 0)], ""),
                "wait_days": pd.array(np.where(placed, self.placed_day - ready, 0), dtype="Int64"),
                "stay_days": pd.array(np.ceil(self.ends).astype(np.int64), dtype="Int64"),
            }
        )
        table.loc[~placed, ["placed_day", "wait_days", "stay_days"]] = pd.NA
        if self.interim:  # v2: the day and service of the interim entry (wait_days is the whole wait)
            entered = self.interim_day >= 0
            table["interim_day"] = pd.array(np.where(entered, self.interim_day, 0), dtype="Int64")
            table.loc[~entered, "interim_day"] = pd.NA
            table["interim_service_id"] = np.where(entered, service_ids[np.maximum(self.interim_service, 0)], "")
        return table[arrived].reset_index(drop=True)

    def longest_waits(self) -> dict[int, int]:
        """The longest wait of each priority's patients ready in the run: days from ready to
        placement, or to the end of the run for those still waiting (who count too)."""
        ready = self.patients["ready_day"].to_numpy()
        counted = ready < self.flow.days
        waited = np.where(self.placed_day >= 0, self.placed_day, self.flow.days) - ready
        priority = self.patients["priority"].fillna(1).to_numpy(dtype=np.int64)
        return {k: int(waited[counted & (priority == k)].max()) for k in (1, 2, 3) if (counted & (priority == k)).any()}


def simulate_run(
    snapshot: Snapshot, flow: Flow, policy: str, run: int, seed: np.random.SeedSequence, options=None, observer=None
) -> dict:
    """One run under one policy: ``daily`` and ``patients`` records, the seconds its
    decisions took and the longest wait by priority (plain data, so a Dask worker can return it). ``observer(t, state,
    formulation, result)`` is called after each day's decision."""
    draws = draw_run(snapshot, flow, seed)
    state = Run(snapshot, flow, draws, policy, run, options, observer)
    for t in range(flow.days):
        state.step(t)
    return {
        "daily": pd.DataFrame(state.daily, columns=daily_columns(snapshot)),
        "patients": state.patient_table()[patient_columns(snapshot)],
        "decision_seconds": state.decision_seconds,
        "longest_waits": state.longest_waits(),
    }
