"""Synthetic snapshots calibrated to public figures (sources in instances/README.md).

No real patient data: every row is drawn from distributions whose figures
are documented in ``instances/README.md``. One integrated care system (ICS)
is generated at a time; a region is 7 systems, national is 42.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.data.files import write_atomic
from optimiser.simulate.flow import policy_lines


@dataclass(frozen=True)
class Size:
    systems: int
    patients: int  # in all systems together
    care_homes: int  # per system
    localities: tuple[int, int]  # per system, low-high
    home_care_providers: tuple[int, int]
    step_down_beds: tuple[int, int]
    sites: tuple[int, int]


SIZES = {
    "demo": Size(1, 40, 14, (5, 5), (4, 4), (20, 20), (2, 2)),
    "ics": Size(1, 300, 350, (10, 14), (12, 18), (60, 120), (2, 4)),
    "region": Size(7, 2000, 350, (10, 14), (12, 18), (60, 120), (2, 4)),
    "national": Size(42, 13000, 350, (10, 14), (12, 18), (60, 120), (2, 4)),
}

PATHWAY_SHARE = np.array([0.45, 0.25, 0.25]) / 0.95  # P1, P2, P3 among delayed patients (P0 excluded)
PRIORITY_SHARE = [0.6, 0.3, 0.1]
ITEMS = ("hoist", "profiling_bed", "commode")
STEP_DOWN_LOS_DAYS = 28  # median length of stay in bed-based intermediate care


def generate_snapshot(
    folder: str | Path,
    size: str = "demo",
    seed: int = 1,
    snapshot_date: dt.date | None = None,
    horizon_days: int = 14,
    bands: bool = False,
    interim: bool = False,
) -> dict:
    """Write a contract snapshot to folder; return counts of what was written. ``bands``: a
    v2 snapshot whose pathway-1 care and carer-hours are by time of day (``_with_bands``);
    ``interim``: some step-down units also take bridging stays (``_with_interim``)."""
    spec = SIZES[size]
    rng = np.random.default_rng(seed)
    snapshot_date = snapshot_date or dt.date(2026, 11, 26)
    per_system = _split(spec.patients, spec.systems, rng)
    parts = [
        _system(rng, f"S{number + 1:02d}" if spec.systems > 1 else "S01", spec, per_system[number], horizon_days)
        for number in range(spec.systems)
    ]
    tables = {name: pd.concat([part[name] for part in parts], ignore_index=True) for name in parts[0]}
    patients = tables["patients"]
    patients.insert(0, "patient_id", [f"PT{i + 1:06d}" for i in range(len(patients))])
    flow = _size_for_flow(np.random.default_rng([seed, 1]), tables)  # its own stream: the other tables are as before
    settings = ""
    if bands:
        tables = _with_bands(np.random.default_rng([seed, 2]), tables)
        settings = "bands = [" + ", ".join(f'"{b}"' for b in BANDS) + "]\n"
    if interim:
        tables = _with_interim(np.random.default_rng([seed, 3]), tables)
    _to_dates(tables, snapshot_date)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(
        folder / "snapshot.toml",
        f"# synthetic snapshot: size {size}, seed {seed}; no real patient data\n"
        f"snapshot_date = {snapshot_date.isoformat()}\nhorizon_days = {horizon_days}\n{settings}",
    )
    for name, frame in tables.items():
        write_atomic(folder / f"{name}.csv", frame.to_csv(index=False))
    write_atomic(folder / "flow.toml", _flow_file(flow, size, seed))
    return {"patients": len(patients), "services": len(tables["services"])}


FLOW_LEAVING_SHARE = 0.42  # of the discharge-ready patients, the share that leaves hospital each day
FLOW_STAYS = {1: (14.0, 18.0), 2: (24.0, 30.0), 3: (300.0, 420.0)}  # lognormal median, mean (days)
FLOW_UTILISATION = {1: 0.95, 2: 0.95, 3: 0.98}  # places in use / places, at balance
FLOW_ADMISSION_SHARE = 0.8  # arrivals at most this share of what the services' admission limits let in a week
WEEKDAY_FACTOR = np.array([1.10, 1.10, 1.05, 1.00, 1.00, 0.45, 0.30])
WEEKDAY_FACTOR = WEEKDAY_FACTOR / WEEKDAY_FACTOR.mean()  # Mon..Sun, mean 1: per_day is the mean daily rate


def _size_for_flow(rng, tables: dict) -> dict:
    """``places`` of every service, sized so that each pathway of each system is near balance
    with the flow file's arrivals (``FLOW_LEAVING_SHARE`` of its discharge-ready patients a
    day, or ``FLOW_ADMISSION_SHARE`` of what its services' admission limits let in, if that
    is less: step-down units admit 2-3 a day): places = arrivals x days a stay holds its place (mean + 1/2) x mean use / utilisation,
    split over the pathway's services of the system by weights U(0.5, 1.5), and never below a
    service's capacity free on day 0. Returns the flow figures per pathway."""
    patients, services, capacity = tables["patients"], tables["services"], tables["capacity"]
    system = services["service_id"].str.split("-").str[0]
    patient_system = patients["site"].str.split("-").str[0]
    limit = services["max_admissions_per_day"].astype(float).to_numpy()
    weekend = (services["weekend_admissions"] == "yes").to_numpy()
    admissions = np.where(np.isnan(limit), np.inf, limit * np.where(weekend, 7, 5) / 7)  # starts a day, on average
    free = capacity[capacity["date"] <= 0].groupby("service_id")["amount"].sum()
    free = free.reindex(services["service_id"]).fillna(0.0).to_numpy()
    use = np.where(patients["pathway"] == 1, patients["care_hours"].fillna(0) * patients["carers"], 1.0)
    places = np.zeros(len(services))
    figures = {}
    for k in (1, 2, 3):
        mean_use = float(use[patients["pathway"] == k].mean()) if (patients["pathway"] == k).any() else 1.0
        held_days = FLOW_STAYS[k][1] + 0.5
        arrivals = 0.0
        for code in sorted(set(system)):
            mine = np.flatnonzero((services["pathway"] == k).to_numpy() & (system == code).to_numpy())
            waiting = int(((patients["pathway"] == k) & (patient_system == code)).sum())
            rate = min(FLOW_LEAVING_SHARE * waiting, FLOW_ADMISSION_SHARE * admissions[mine].sum())
            arrivals += rate
            if len(mine) == 0:
                continue
            total = rate * held_days * mean_use / FLOW_UTILISATION[k]
            weights = rng.uniform(0.5, 1.5, len(mine))
            share = total * weights / weights.sum()
            share = np.round(share * 2) / 2 if k == 1 else np.ceil(share)
            places[mine] = np.maximum(share, free[mine])
        total_places = float(places[(services["pathway"] == k).to_numpy()].sum())
        figures[k] = {
            "per_day": round(arrivals, 2),
            "mean_use": round(mean_use, 3),
            "places": total_places,
            "utilisation": round(arrivals * held_days * mean_use / total_places, 3) if total_places else None,
        }
    services["places"] = places
    return figures


def _flow_file(figures: dict, size: str, seed: int) -> str:
    """The flow file of a generated snapshot: arrivals and stays by pathway (instances/README.md
    gives the sources), 90 days, 20 runs."""
    lines = [
        f"# synthetic flow for the {size} snapshot (seed {seed}); no real patient data.",
        f"# Arrivals: {FLOW_LEAVING_SHARE:.0%} of each pathway's discharge-ready patients a day, at most {FLOW_ADMISSION_SHARE:.0%}",
        "# of what the pathway's admission limits let in; services.csv places",
        "# are sized so that arrivals x stay x use is near the places (utilisation at balance below).",
    ]
    for k, figure in figures.items():
        lines.append(
            f"#   pathway {k}: {figure['per_day']:g} a day, mean use {figure['mean_use']:g}, places {figure['places']:g}, "
            f"utilisation {figure['utilisation']}"
        )
    factors = ", ".join(f"{value:.3f}" for value in WEEKDAY_FACTOR)
    lines += [
        "days = 90",
        "runs = 20",
        f"seed = {seed}",
        'policies = ["optimiser", "fifo"]',
        "bed_day_cost = 562",
        "community_cost = { pathway1 = 32, pathway2 = 150, pathway3 = 164 }",
        "",
        "[arrivals]",
        "notice_days = 1",
        f"weekday_factor = [{factors}]",
    ]
    for k, figure in figures.items():
        lines += ["", "[[arrivals.rate]]", f"pathway = {k}", f"per_day = {figure['per_day']:g}"]
    lines += ["", "[length_of_stay]"]
    lines += [f"pathway{k} = {{ median = {median:g}, mean = {mean:g} }}" for k, (median, mean) in FLOW_STAYS.items()]
    lines += ["", *policy_lines(), "", "[equipment]", "return_days = 2", ""]
    return "\n".join(lines)


BANDS = ("morning", "lunch", "tea", "bed")
BAND_VISITS = {1: ("morning",), 2: ("morning", "tea"), 3: ("morning", "lunch", "tea"), 4: BANDS}  # visits a day -> bands
BAND_SUPPLY = {"morning": 0.30, "lunch": 0.25, "tea": 0.27, "bed": 0.18}  # share of a provider's carer-hours by band


def _with_bands(rng, tables: dict) -> dict:
    """The tables as a v2 snapshot with time-of-day bands (an assumption, instances/README.md):
    a pathway-1 patient's calls are its care hours / 0.625 (1 to 4 visits a day), the first in
    the morning, then tea, lunch and bed (``BAND_VISITS``), each an equal share of its hours;
    every provider's carer-hours are split by ``BAND_SUPPLY`` (mornings scarcest against their
    demand), in quarter hours, with no all-day rows."""
    patients = tables["patients"]
    rows = []
    for pid, pathway, hours in zip(patients["patient_id"], patients["pathway"], patients["care_hours"]):
        if pathway != 1:
            continue
        visits = int(np.clip(round(hours / 0.625), 1, 4))
        for band in BAND_VISITS[visits]:
            rows.append({"patient_id": pid, "band": band, "hours": round(hours / visits, 4)})
    care_bands = pd.DataFrame(rows, columns=["patient_id", "band", "hours"])
    patients["care_hours"] = np.where(
        patients["pathway"] == 1, patients["patient_id"].map(care_bands.groupby("patient_id")["hours"].sum()), np.nan
    )
    services, capacity = tables["services"], tables["capacity"]
    home = set(services.loc[services["pathway"] == 1, "service_id"])
    banded = []
    for row in capacity.itertuples(index=False):
        if row.service_id not in home:
            banded.append({**row._asdict(), "band": ""})
            continue
        for band, share in BAND_SUPPLY.items():
            amount = np.floor(row.amount * share * rng.uniform(0.9, 1.1) * 4) / 4
            if amount > 0:
                banded.append({**row._asdict(), "amount": float(amount), "band": band})
    return {**tables, "capacity": pd.DataFrame(banded), "care_bands": care_bands}


INTERIM_UNIT_SHARE = 1 / 3  # of a system's step-down units, the share that also takes bridging stays
INTERIM_OK_SHARE = {1: 0.3, 3: 0.6}  # of pathway-1 and -3 patients, the share who may bridge (halved with dementia)
INTERIM_BLOCK_SHARE = 3000 / 13000  # block-purchased interim beds (England, January 2023) per delayed patient
INTERIM_BLOCK_ADMISSIONS = 8  # a block is beds in several homes: admissions a day


def _with_interim(rng, tables: dict) -> dict:
    """The tables as a v2 snapshot with interim stays (sources and assumptions in
    instances/README.md): a third of each system's step-down units (at least one) are
    ``interim``, and each system gets a block-purchased interim unit (``-IB01``, nursing and
    dementia care) with beds free today for ``INTERIM_BLOCK_SHARE`` of its discharge-ready
    patients; 30% of pathway-1 and 60% of pathway-3 patients are ``interim_ok``, half as
    many among those with dementia (a move is harder on them)."""
    services, patients, capacity = tables["services"].copy(), tables["patients"].copy(), tables["capacity"]
    system = services["service_id"].str.split("-").str[0]
    interim = np.zeros(len(services), dtype=bool)
    blocks, beds = [], []
    waiting = patients["site"].str.split("-").str[0].value_counts()
    for code, units in services[services["pathway"] == 2].groupby(system[services["pathway"] == 2], sort=True):
        count = max(1, int(round(len(units) * INTERIM_UNIT_SHARE)))
        interim[rng.choice(units.index.to_numpy(), count, replace=False)] = True
        service_id = f"{code}-IB01"
        amount = float(round(INTERIM_BLOCK_SHARE * waiting.get(code, 0)))
        blocks.append(
            {
                **{column: None for column in services.columns},
                "service_id": service_id,
                "name": f"Interim beds {service_id}",
                "pathway": 2,
                "locality": units["locality"].iat[0],
                "dementia": "yes",
                "nursing": "yes",
                "bariatric": "no",
                "double_handed": "no",
                "max_admissions_per_day": INTERIM_BLOCK_ADMISSIONS,
                "weekend_admissions": "yes",
                "places": amount,
            }
        )
        beds.append({**{column: None for column in capacity.columns}, "service_id": service_id, "date": 0, "amount": amount})
    services["interim"] = interim
    blocks = pd.DataFrame(blocks).assign(interim=True)
    services = pd.concat([services, blocks.astype(services.dtypes.to_dict())], ignore_index=True)
    services["interim"] = _yes(services["interim"].to_numpy(dtype=bool))
    capacity = pd.concat([capacity, pd.DataFrame(beds).astype(capacity.dtypes.to_dict())], ignore_index=True)
    share = patients["pathway"].map(INTERIM_OK_SHARE).fillna(0.0).to_numpy()
    share = np.where(patients["dementia"].to_numpy() == "yes", share / 2, share)
    patients["interim_ok"] = _yes(rng.random(len(patients)) < share)
    return {**tables, "services": services, "patients": patients, "capacity": capacity}


def _split(total: int, parts: int, rng) -> np.ndarray:
    weights = rng.uniform(0.8, 1.2, parts)
    counts = np.floor(total * weights / weights.sum()).astype(int)
    counts[: total - counts.sum()] += 1
    return counts


def _to_dates(tables: dict, snapshot_date: dt.date) -> None:
    origin = pd.Timestamp(snapshot_date)

    def dates(days):
        return (origin + pd.to_timedelta(np.asarray(days, dtype=float), unit="D")).strftime("%Y-%m-%d")

    patients = tables["patients"]
    patients["ready_date"] = dates(patients["ready_date"])
    earliest = patients["earliest_date"]
    patients["earliest_date"] = np.where(earliest.isna(), "", dates(earliest.fillna(0)))
    for name in ("capacity", "equipment"):
        tables[name]["date"] = dates(tables[name]["date"])


def _yes(mask) -> np.ndarray:
    return np.where(mask, "yes", "no")


def _system(rng, code: str, spec: Size, patient_count: int, horizon: int) -> dict:
    """One integrated care system: localities, travel, services, capacity, stores, patients."""
    n_localities = int(rng.integers(spec.localities[0], spec.localities[1] + 1))
    localities = [f"{code}-L{i + 1:02d}" for i in range(n_localities)]
    position = rng.uniform(0, 40, size=(n_localities, 2))  # km on a 40 x 40 km patch
    distance = np.hypot(*(position[:, None, :] - position[None, :, :]).transpose(2, 0, 1))
    minutes = np.round(8 + 1.4 * distance + rng.uniform(0, 6, distance.shape))
    origin, destination = np.nonzero(~np.eye(n_localities, dtype=bool) & (minutes <= 90))
    travel = pd.DataFrame(
        {
            "from_locality": np.array(localities)[origin],
            "to_locality": np.array(localities)[destination],
            "minutes": minutes[origin, destination].astype(int),
        }
    )
    n_stores = 1 if n_localities < 12 else 2
    store_of = [f"{code}-G{1 + (i * n_stores) // n_localities}" for i in range(n_localities)]
    locality_table = pd.DataFrame(
        {"locality_id": localities, "name": [f"Locality {name}" for name in localities], "equipment_store": store_of}
    )
    services, capacity, coverage = _services(rng, code, spec, localities, distance, horizon)
    equipment = _equipment(rng, sorted(set(store_of)), horizon)
    patients = _patients(rng, code, spec, patient_count, localities)
    _add_preferences(rng, patients, services)
    return {
        "patients": patients,
        "services": services,
        "capacity": capacity,
        "localities": locality_table,
        "coverage": coverage,
        "travel": travel,
        "equipment": equipment,
    }


def _services(rng, code, spec: Size, localities, distance, horizon):
    n_localities = len(localities)
    rows, capacity, coverage = [], [], []

    # Pathway 1: reablement teams and home-care providers, carer-hours a day.
    n_home = int(rng.integers(spec.home_care_providers[0], spec.home_care_providers[1] + 1))
    for i in range(n_home):
        home = int(rng.integers(n_localities))
        service_id = f"{code}-HC{i + 1:02d}"
        rows.append(
            dict(
                service_id=service_id,
                name=f"Home care {service_id}",
                pathway=1,
                locality=localities[home],
                dementia=rng.random() < 0.7,
                nursing=False,
                bariatric=rng.random() < 0.2,
                double_handed=rng.random() < 0.6,
                max_admissions_per_day=int(rng.integers(2, 5)) if rng.random() < 0.5 else None,
                weekend_admissions=rng.random() < 0.7,
            )
        )
        nearest = np.argsort(distance[home])[: int(rng.integers(2, 6))]
        coverage += [dict(service_id=service_id, locality=localities[j]) for j in nearest]
        capacity.append(dict(service_id=service_id, date=-int(rng.integers(0, 10)), amount=float(rng.integers(0, 9))))
        for day in np.flatnonzero(rng.random(horizon) < 0.35):
            capacity.append(dict(service_id=service_id, date=int(day), amount=float(rng.integers(1, 9)) / 2))

    # Pathway 2: step-down / intermediate care units, 60-120 beds per system.
    total_beds = int(rng.integers(spec.step_down_beds[0], spec.step_down_beds[1] + 1))
    n_units = max(2, total_beds // 18)
    beds = _split(total_beds, n_units, rng)
    for i, unit_beds in enumerate(beds):
        service_id = f"{code}-SD{i + 1:02d}"
        rows.append(
            dict(
                service_id=service_id,
                name=f"Step-down unit {service_id}",
                pathway=2,
                locality=localities[int(rng.integers(n_localities))],
                dementia=rng.random() < 0.5,
                nursing=rng.random() < 0.3,
                bariatric=rng.random() < 0.3,
                double_handed=False,
                max_admissions_per_day=int(rng.integers(2, 4)),
                weekend_admissions=rng.random() < 0.5,
            )
        )
        free_now = int(rng.binomial(unit_beds, 0.04))
        capacity.append(dict(service_id=service_id, date=0, amount=float(free_now)))
        freed = rng.poisson(unit_beds / STEP_DOWN_LOS_DAYS, horizon - 1)
        for day in np.flatnonzero(freed):
            capacity.append(dict(service_id=service_id, date=int(day + 1), amount=float(freed[day])))

    # Pathway 3: care homes, 51% residential / 49% nursing, 1-2 admissions a day.
    for i in range(spec.care_homes):
        service_id = f"{code}-CH{i + 1:03d}"
        rows.append(
            dict(
                service_id=service_id,
                name=f"Care home {service_id}",
                pathway=3,
                locality=localities[int(rng.integers(n_localities))],
                dementia=rng.random() < 0.6,
                nursing=rng.random() < 0.49,
                bariatric=rng.random() < 0.1,
                double_handed=False,
                max_admissions_per_day=int(rng.integers(1, 3)),
                weekend_admissions=rng.random() < 0.4,
            )
        )
        free_now = int(rng.poisson(0.5))
        if free_now:
            capacity.append(dict(service_id=service_id, date=0, amount=float(free_now)))
        later = int(rng.poisson(0.3))
        for day in rng.integers(1, horizon, later):
            capacity.append(dict(service_id=service_id, date=int(day), amount=1.0))

    services = pd.DataFrame(rows)
    services["max_admissions_per_day"] = services["max_admissions_per_day"].astype("Int64")
    for column in ("dementia", "nursing", "bariatric", "double_handed", "weekend_admissions"):
        services[column] = _yes(services[column])
    return services, pd.DataFrame(capacity), pd.DataFrame(coverage)


def _add_preferences(rng, patients: pd.DataFrame, services: pd.DataFrame) -> None:
    """About 15% of pathway-3 patients (or families) name one or two care homes in their locality."""
    homes = services[services["pathway"] == 3].groupby("locality")["service_id"].agg(list)
    chosen = (patients["pathway"] == 3).to_numpy() & (rng.random(len(patients)) < 0.15)
    for index in np.flatnonzero(chosen):
        nearby = homes.get(patients["locality"].iat[index], [])
        if nearby:
            picks = rng.choice(nearby, min(len(nearby), int(rng.integers(1, 3))), replace=False)
            patients.iat[index, patients.columns.get_loc("preferred_services")] = ";".join(sorted(picks))


def _equipment(rng, stores, horizon) -> pd.DataFrame:
    rows = []
    for store in stores:
        for item in ITEMS:
            rows.append(dict(store_id=store, item=item, date=-1, quantity=int(rng.integers(1, 6))))
            for day in range(1, horizon, int(rng.integers(2, 4))):
                rows.append(dict(store_id=store, item=item, date=day, quantity=int(rng.integers(0, 4))))
    return pd.DataFrame(rows)


def _patients(rng, code, spec: Size, count: int, localities) -> pd.DataFrame:
    n_sites = int(rng.integers(spec.sites[0], spec.sites[1] + 1))
    pathway = rng.choice([1, 2, 3], size=count, p=PATHWAY_SHARE)
    waiting = rng.random(count) < 0.7
    ready = np.where(waiting, -np.minimum(rng.geometric(1 / 7, count), 60), rng.integers(0, 7, count))
    one, bed, home = pathway == 1, pathway == 2, pathway == 3
    calls = rng.integers(1, 5, count)
    care_hours = np.round(calls * rng.choice([0.5, 0.75], count), 2)
    carers = np.where(one & (rng.random(count) < 0.2), 2, 1)
    needs_kit = one & (rng.random(count) < 0.25)
    kit = [
        ";".join(sorted(set(["hoist"] * int(c == 2) + list(rng.choice(ITEMS, int(rng.integers(1, 3)), replace=False)))))
        if need
        else ""
        for need, c in zip(needs_kit, carers)
    ]
    earliest = np.where(rng.random(count) < 0.05, rng.integers(1, 6, count), np.nan)
    travel = np.where(bed | home, np.where(rng.random(count) < 0.1, rng.choice([30, 90], count), np.nan), np.nan)
    return pd.DataFrame(
        {
            "site": [f"{code}-A{int(i) + 1}" for i in rng.integers(0, n_sites, count)],
            "locality": np.array(localities)[rng.integers(0, len(localities), count)],
            "pathway": pathway,
            "ready_date": ready,
            "priority": rng.choice([1, 2, 3], size=count, p=PRIORITY_SHARE),
            "care_hours": np.where(one, care_hours, np.nan),
            "carers": carers,
            "dementia": _yes(rng.random(count) < np.select([one, bed, home], [0.1, 0.15, 0.4])),
            "nursing": _yes(home & (rng.random(count) < 0.49) | bed & (rng.random(count) < 0.2)),
            "bariatric": _yes(rng.random(count) < 0.03),
            "equipment": kit,
            "earliest_date": earliest,
            "max_travel_minutes": pd.array(travel, dtype="Int64"),
            "preferred_services": "",
        }
    )
