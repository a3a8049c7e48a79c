"""Writing small snapshots for tests: hand-made fixtures and random tiny ones."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

SNAPSHOT_DATE = dt.date(2026, 11, 26)  # a Thursday: day 2 is Saturday, day 3 Sunday

HEADERS = {
    "patients.csv": [
        "patient_id",
        "site",
        "locality",
        "pathway",
        "ready_date",
        "priority",
        "care_hours",
        "carers",
        "dementia",
        "nursing",
        "bariatric",
        "equipment",
        "earliest_date",
        "max_travel_minutes",
        "preferred_services",
        "nhs_number",
    ],
    "services.csv": [
        "service_id",
        "name",
        "pathway",
        "locality",
        "dementia",
        "nursing",
        "bariatric",
        "double_handed",
        "max_admissions_per_day",
        "weekend_admissions",
        "places",
    ],
    "capacity.csv": ["service_id", "date", "amount"],
    "localities.csv": ["locality_id", "name", "equipment_store"],
    "coverage.csv": ["service_id", "locality"],
    "travel.csv": ["from_locality", "to_locality", "minutes"],
    "equipment.csv": ["store_id", "item", "date", "quantity"],
    "pinned.csv": ["patient_id", "service_id", "date"],
    "care_bands.csv": ["patient_id", "band", "hours"],
}


def day(offset: int) -> str:
    """ISO date of a day index relative to SNAPSHOT_DATE."""
    return (SNAPSHOT_DATE + dt.timedelta(days=offset)).isoformat()


def write_snapshot(
    folder: Path,
    patients,
    services,
    capacity,
    localities=None,
    coverage=None,
    travel=None,
    equipment=None,
    pinned=None,
    horizon: int = 5,
    weights: dict | None = None,
    bands: list[str] | None = None,
    care_bands=None,
) -> Path:
    """Write a snapshot folder; rows are dicts (missing columns are written empty). A column
    beyond a file's usual ones (capacity's v2 ``band``) is written when a row has it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    toml = f"snapshot_date = {SNAPSHOT_DATE.isoformat()}\nhorizon_days = {horizon}\n"
    if bands:
        toml += "bands = [" + ", ".join(f'"{b}"' for b in bands) + "]\n"
    if weights:
        toml += "[weights]\n" + "".join(f"{key} = {value}\n" for key, value in weights.items())
    (folder / "snapshot.toml").write_text(toml)
    if localities is None:
        names = {row["locality"] for row in list(patients) + list(services)}
        localities = [{"locality_id": name} for name in sorted(names)]
    tables = {
        "patients.csv": patients,
        "services.csv": services,
        "capacity.csv": capacity,
        "localities.csv": localities,
        "coverage.csv": coverage,
        "travel.csv": travel,
        "equipment.csv": equipment,
        "pinned.csv": pinned,
        "care_bands.csv": care_bands,
    }
    for name, rows in tables.items():
        if rows is None:
            continue
        extra = sorted({key for row in rows for key in row} - set(HEADERS[name]))
        with open(folder / name, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=HEADERS[name] + extra)
            writer.writeheader()
            for row in rows:
                writer.writerow({key: ("" if value is None else value) for key, value in row.items()})
    return folder


def random_tiny_snapshot(folder: Path, seed: int, patients: int = 6, services: int = 3, horizon: int = 4) -> Path:
    """A random valid snapshot with every feature: needs, reach, weekends, admissions,
    equipment, preferences, earliest dates, past ready dates, custom weights."""
    rng = random.Random(seed)
    localities = ["A", "B"]
    service_rows, capacity_rows, coverage_rows = [], [], []
    for i in range(rng.randint(min(2, services), services)):
        pathway = rng.choice([1, 1, 2, 3])
        service_id = f"S{i}"
        service_rows.append(
            {
                "service_id": service_id,
                "pathway": pathway,
                "locality": rng.choice(localities),
                "dementia": rng.choice(["yes", "yes", "no", ""]),
                "nursing": rng.choice(["y", "y", "n"]),
                "bariatric": rng.choice(["true", "true", "false"]),
                "double_handed": rng.choice(["1", "1", "0"]),
                "max_admissions_per_day": rng.choice(["", "", 1, 2]),
                "weekend_admissions": rng.choice(["", "no", "yes"]),
            }
        )
        for _ in range(rng.randint(1, 3)):
            amount = rng.choice([0.5, 1, 1.5, 2, 3]) if pathway == 1 else rng.randint(0, 2)
            capacity_rows.append({"service_id": service_id, "date": day(rng.randint(-2, horizon - 1)), "amount": amount})
        if pathway == 1 and rng.random() < 0.7:
            coverage_rows += [
                {"service_id": service_id, "locality": name} for name in rng.sample(localities, rng.choice([1, 2, 2]))
            ]
    service_ids = [row["service_id"] for row in service_rows]
    patient_rows = []
    for i in range(rng.randint(1, patients)):
        pathway = rng.choice([row["pathway"] for row in service_rows] * 12 + [1, 2, 3])
        patient_rows.append(
            {
                "patient_id": f"P{i}",
                "site": "H",
                "locality": rng.choice(localities),
                "pathway": pathway,
                "ready_date": day(rng.randint(-6, horizon - 1)),
                "priority": rng.choice(["", 1, 2, 3]),
                "care_hours": rng.choice([0.5, 1, 1.5]) if pathway == 1 else "",
                "carers": rng.choice(["", 1, 1, 2]) if pathway == 1 else "",
                "dementia": rng.choice(["", "no", "no", "no", "yes"]),
                "nursing": rng.choice(["", "no", "no", "yes"]),
                "bariatric": rng.choice(["", "n", "n", "n", "y"]),
                "equipment": rng.choice(["", "", "", "hoist", "hoist;commode"]) if pathway == 1 else "",
                "earliest_date": rng.choice(["", "", "", day(rng.randint(0, horizon))]),
                "max_travel_minutes": rng.choice(["", "", "", 20, 45]),
                "preferred_services": rng.choice(["", "", ";".join(rng.sample(service_ids, 1))]),
            }
        )
    travel_rows = [{"from_locality": "A", "to_locality": "B", "minutes": rng.choice([15, 15, 40, 70])}]
    if rng.random() < 0.9:
        travel_rows.append({"from_locality": "B", "to_locality": "A", "minutes": rng.choice([15, 40, 70])})
    locality_rows = [{"locality_id": "A", "equipment_store": "G"}, {"locality_id": "B", "equipment_store": rng.choice(["G", ""])}]
    equipment_rows = [
        {"store_id": "G", "item": item, "date": day(rng.randint(-1, horizon)), "quantity": rng.randint(0, 2)}
        for item in ("hoist", "commode")
        for _ in range(rng.randint(1, 2))
    ]
    weights = rng.choice([None, {"wait_growth_days": 3, "tail_days": 2}, {"travel_weight": 0.1, "preference_penalty": 5}])
    return write_snapshot(
        folder,
        patient_rows,
        service_rows,
        capacity_rows,
        locality_rows,
        coverage_rows,
        travel_rows,
        equipment_rows,
        None,
        horizon=horizon,
        weights=weights,
    )


def random_tiny_banded_snapshot(folder: Path, seed: int, patients: int = 5, horizon: int = 4) -> Path:
    """A random valid v2 snapshot with time-of-day bands: pathway-1 patients with hours by
    band, services with band rows (some also all-day rows, some none), plus a bed service."""
    rng = random.Random(seed)
    bands = rng.choice([["morning", "tea"], ["morning", "lunch", "bed"], ["day"]])
    service_rows, capacity_rows = [], []
    for i in range(rng.randint(1, 3)):
        service_id = f"S{i}"
        service_rows.append(
            {
                "service_id": service_id,
                "pathway": 1,
                "locality": "A",
                "double_handed": rng.choice(["yes", "no"]),
                "max_admissions_per_day": rng.choice(["", "", 1]),
                "weekend_admissions": rng.choice(["", "no"]),
            }
        )
        kind = rng.choice(["bands", "bands", "both", "all-day"])
        if kind in ("bands", "both"):
            for band in bands:
                for _ in range(rng.randint(0, 2)):
                    capacity_rows.append(
                        {
                            "service_id": service_id,
                            "date": day(rng.randint(-1, horizon - 1)),
                            "amount": rng.choice([0.5, 1, 1.5, 2]),
                            "band": band,
                        }
                    )
        if kind in ("both", "all-day"):
            capacity_rows.append(
                {"service_id": service_id, "date": day(rng.randint(-1, horizon - 1)), "amount": rng.choice([1, 2, 3]), "band": ""}
            )
    service_rows.append({"service_id": "B0", "pathway": 2, "locality": "A"})
    capacity_rows.append({"service_id": "B0", "date": day(0), "amount": rng.randint(0, 2), "band": ""})
    patient_rows, band_rows = [], []
    for i in range(rng.randint(1, patients)):
        pathway = rng.choice([1, 1, 1, 2])
        pid = f"P{i}"
        patient_rows.append(
            {
                "patient_id": pid,
                "site": "H",
                "locality": "A",
                "pathway": pathway,
                "ready_date": day(rng.randint(-3, horizon - 1)),
                "priority": rng.choice(["", 1, 2]),
                "carers": rng.choice(["", 1, 2]) if pathway == 1 else "",
            }
        )
        if pathway == 1:
            chosen = rng.sample(bands, rng.randint(1, len(bands)))
            hours = {band: rng.choice([0.5, 1]) for band in chosen}
            band_rows += [{"patient_id": pid, "band": band, "hours": h} for band, h in hours.items()]
            patient_rows[-1]["care_hours"] = rng.choice(["", sum(hours.values())])
    return write_snapshot(folder, patient_rows, service_rows, capacity_rows, horizon=horizon, bands=bands, care_bands=band_rows)


def random_tiny_interim_snapshot(folder: Path, seed: int, patients: int = 4, horizon: int = 5, bands: bool = False) -> Path:
    """A random valid v2 snapshot with interim stays: pathway-1 and -3 patients (some
    ``interim_ok``), home care and care homes with little room, step-down units of which
    some are interim, travel limits, admission limits and weekends; with ``bands``, the
    home care is by time of day too."""
    rng = random.Random(seed)
    band_names = ["morning", "tea"] if bands else []
    service_rows, capacity_rows, coverage_rows = [], [], []
    kinds = [1, 3, 2, 2] + [rng.choice([1, 2, 3]) for _ in range(rng.randint(0, 1))]
    for i, pathway in enumerate(kinds):
        service_id = f"S{i}"
        service_rows.append(
            {
                "service_id": service_id,
                "pathway": pathway,
                "locality": rng.choice(["A", "B"]),
                "dementia": rng.choice(["yes", "no"]),
                "double_handed": rng.choice(["yes", "no"]) if pathway == 1 else "",
                "max_admissions_per_day": rng.choice(["", "", 1]),
                "weekend_admissions": rng.choice(["", "", "no"]),
                "interim": ("yes" if i == 2 else rng.choice(["yes", "no", ""])) if pathway == 2 else "",
            }
        )
        for _ in range(rng.randint(1, 2)):
            when = day(rng.randint(-1, horizon - 1))
            if pathway == 1 and bands and rng.random() < 0.7:
                for band in band_names:
                    capacity_rows.append(
                        {"service_id": service_id, "date": when, "amount": rng.choice([0.5, 1, 2]), "band": band}
                    )
            elif pathway == 2 and service_rows[-1]["interim"] == "yes":  # bridging beds free early, places later
                capacity_rows.append(
                    {"service_id": service_id, "date": day(rng.randint(-1, 1)), "amount": rng.randint(1, 2), "band": ""}
                )
            else:
                amount = rng.choice([0.5, 1, 2]) if pathway == 1 else rng.randint(0, 1)
                when = day(rng.randint(1, horizon - 1)) if pathway != 2 else when  # places come free later
                capacity_rows.append({"service_id": service_id, "date": when, "amount": amount, "band": ""})
        if pathway == 1:
            coverage_rows += [{"service_id": service_id, "locality": name} for name in ("A", "B")]
    patient_rows, band_rows = [], []
    for i in range(rng.randint(2, patients)):
        pathway = rng.choice([1, 3, 3, 2])
        pid = f"P{i}"
        row = {
            "patient_id": pid,
            "site": "H",
            "locality": rng.choice(["A", "B"]),
            "pathway": pathway,
            "ready_date": day(rng.randint(-4, horizon - 2)),
            "priority": rng.choice(["", 1, 2, 3]),
            "dementia": rng.choice(["", "no", "no", "yes"]),
            "earliest_date": rng.choice(["", "", "", day(rng.randint(0, horizon - 1))]),
            "max_travel_minutes": rng.choice(["", "", 20]),
            "preferred_services": rng.choice(["", "", "S0", "S1"]),
            "interim_ok": rng.choice(["yes", "yes", "no", ""]) if pathway != 2 else "",
        }
        if pathway == 1:
            row["carers"] = rng.choice(["", 1, 2])
            if bands:
                chosen = rng.sample(band_names, rng.randint(1, 2))
                band_rows += [{"patient_id": pid, "band": band, "hours": rng.choice([0.5, 1])} for band in chosen]
            else:
                row["care_hours"] = rng.choice([0.5, 1])
        patient_rows.append(row)
    travel_rows = [
        {"from_locality": "A", "to_locality": "B", "minutes": rng.choice([15, 40])},
        {"from_locality": "B", "to_locality": "A", "minutes": rng.choice([15, 40, 70])},
    ]
    weights = rng.choice(
        [None, {"interim_weight": 0.5, "move_penalty": 0.2}, {"interim_weight": 0.1, "tail_days": 2}, {"move_penalty": 3}]
    )
    return write_snapshot(
        folder,
        patient_rows,
        service_rows,
        capacity_rows,
        [{"locality_id": "A"}, {"locality_id": "B"}],
        coverage_rows,
        travel_rows,
        horizon=horizon,
        weights=weights,
        bands=band_names or None,
        care_bands=band_rows if bands else None,
    )


def append_rows(folder: Path, name: str, rows: list[dict]) -> None:
    """Append rows to one of a snapshot's csv files (created with its header if missing)."""
    path = Path(folder) / name
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADERS[name])
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow(row)


def checked_decision(state, formulation, result, folder: Path) -> tuple[list, float, float]:
    """A simulated day's decision through the independent checker: the state written as a
    snapshot folder and the plan as a plan folder under ``folder``; (violations, the
    checker's objective, the plan's objective)."""
    from checker import check_plan_folder

    from optimiser.analysis.plan import make_plan
    from optimiser.data.files import snapshot_files, write_folder

    write_folder(folder / "state", snapshot_files(state))
    plan = make_plan(formulation, result)
    plan.write(folder / "plan")
    violations, objective = check_plan_folder(folder / "state", folder / "plan")
    return violations, objective, plan.objective
