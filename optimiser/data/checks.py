"""Checks of a snapshot's files against each other: references, pathway-1 needs, pinned
references. (Checks against the placement rules are the model's: ``model/validation.py``.)

Each ``check_*`` function appends problems (file, line, column, value, and
what to do) and never raises, so that one run reports everything.
"""

from __future__ import annotations

import numpy as np

from optimiser.data.identifiers import nhs_digits, valid_nhs_number
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE
from optimiser.data.snapshot import Snapshot


def _unknown(problems, frame, column, known, file, what_to_do) -> None:
    values = frame[column]
    bad = (values != "") & ~values.isin(known)
    for line, value in zip(frame.loc[bad, LINE], values[bad]):
        problems.add(file, int(line), column, value, what_to_do)


def check_references(snapshot: Snapshot, problems: ProblemList) -> None:
    """Every locality, service and store named exists; coverage is for pathway-1 services."""
    localities = set(snapshot.localities["locality_id"])
    services = snapshot.services
    service_ids = set(services["service_id"])
    stores = set(snapshot.localities["equipment_store"]) - {""}
    locality_hint = "is not a locality_id in localities.csv; add the locality or fix the id"
    service_hint = "is not a service_id in services.csv; add the service or fix the id"
    _unknown(problems, snapshot.patients, "locality", localities, "patients.csv", locality_hint)
    _unknown(problems, services, "locality", localities, "services.csv", locality_hint)
    _unknown(problems, snapshot.capacity, "service_id", service_ids, "capacity.csv", service_hint)
    _unknown(problems, snapshot.coverage, "service_id", service_ids, "coverage.csv", service_hint)
    _unknown(problems, snapshot.coverage, "locality", localities, "coverage.csv", locality_hint)
    _unknown(problems, snapshot.travel, "from_locality", localities, "travel.csv", locality_hint)
    _unknown(problems, snapshot.travel, "to_locality", localities, "travel.csv", locality_hint)
    _unknown(
        problems,
        snapshot.equipment,
        "store_id",
        stores,
        "equipment.csv",
        "is not an equipment_store named in localities.csv; name it there or fix the id",
    )
    pathway = dict(zip(services["service_id"], services["pathway"]))
    coverage = snapshot.coverage
    for line, service_id in zip(coverage[LINE], coverage["service_id"]):
        if service_id in pathway and pathway[service_id] in (2, 3):
            problems.add(
                "coverage.csv",
                int(line),
                "service_id",
                service_id,
                f"is a pathway-{int(pathway[service_id])} service; coverage is for pathway-1 services only: remove the row",
            )
    patients = snapshot.patients
    for line, preferred in zip(patients[LINE], patients["preferred_services"]):
        for service_id in preferred:
            if service_id not in service_ids:
                problems.add("patients.csv", int(line), "preferred_services", service_id, service_hint)


def check_pathway_one(snapshot: Snapshot, problems: ProblemList) -> None:
    """Pathway-1 patients need care_hours > 0 (care_hours x carers is what they use); with
    bands (v2) an empty care_hours is the sum of the patient's care_bands.csv hours."""
    patients = snapshot.patients
    pathway_one = patients["pathway"] == 1
    hours = patients["care_hours"]
    banded = patients["patient_id"].isin(set(snapshot.care_bands["patient_id"])) if snapshot.settings.bands else False
    missing = pathway_one & hours.isna() & ~banded
    for line in patients.loc[missing, LINE]:
        problems.add(
            "patients.csv",
            int(line),
            "care_hours",
            "",
            "is empty for a pathway-1 patient; give the hours of care a day (> 0)",
        )
    zero = pathway_one & (hours <= 0)
    for line, value in zip(patients.loc[zero, LINE], hours[zero]):
        problems.add("patients.csv", int(line), "care_hours", f"{value:g}", "must be > 0 for a pathway-1 patient")


def check_pinned_references(snapshot: Snapshot, problems: ProblemList) -> bool:
    """Pinned rows name known patients and services and a date within the horizon."""
    pinned = snapshot.pinned
    before = len(problems)
    _unknown(
        problems,
        pinned,
        "patient_id",
        set(snapshot.patients["patient_id"]),
        "pinned.csv",
        "is not a patient_id in patients.csv; fix the id or remove the row",
    )
    _unknown(
        problems,
        pinned,
        "service_id",
        set(snapshot.services["service_id"]),
        "pinned.csv",
        "is not a service_id in services.csv; fix the id or remove the row",
    )
    days = snapshot.day_of(pinned["date"])
    last = snapshot.date_of([snapshot.horizon - 1])[0] if snapshot.horizon else ""
    outside = ~np.isnan(days) & ((days < 0) | (days >= snapshot.horizon))
    for line, date in zip(pinned.loc[outside, LINE], pinned.loc[outside, "date"]):
        problems.add(
            "pinned.csv",
            int(line),
            "date",
            date.strftime("%Y-%m-%d"),
            f"is outside the horizon; pin a date from {snapshot.snapshot_date.isoformat()} to {last}",
        )
    return len(problems) == before


def check_nhs_numbers(snapshot: Snapshot, problems: ProblemList) -> None:
    """Each NHS number given is 10 digits with a valid Modulus 11 check digit, and no number is
    given for two patients. The numbers themselves are never put in a message: the line is."""
    patients = snapshot.patients
    numbers = patients["nhs_number"].fillna("").astype(str)
    given = numbers.str.strip() != ""
    for line, number in zip(patients.loc[given, LINE], numbers[given]):
        if not valid_nhs_number(number):
            problems.add(
                "patients.csv",
                int(line),
                "nhs_number",
                None,
                "is not a valid NHS number (10 digits, spaces allowed, with a Modulus 11 check digit); the number is not shown",
            )
    digits = numbers[given].map(nhs_digits)
    repeated = digits[digits.duplicated(keep=False)]
    for line in patients.loc[repeated.index, LINE]:
        problems.add(
            "patients.csv", int(line), "nhs_number", None, "is the NHS number of another patient too; give each person one row"
        )


LONG_HORIZON_DAYS = 60
LONG_AGO_DAYS = 365


def plausibility_notes(snapshot: Snapshot) -> list[str]:
    """Things that are allowed but rarely meant, said as warnings (the snapshot still loads):
    a horizon over 60 days (the model grows with it), ready dates over a year back."""
    notes = []
    if snapshot.horizon > LONG_HORIZON_DAYS:
        notes.append(
            f"snapshot.toml: horizon_days = {snapshot.horizon} is over {LONG_HORIZON_DAYS} days; the model grows with the "
            "horizon (memory and time), and places are rarely known that far ahead"
        )
    ready = snapshot.day_of(snapshot.patients["ready_date"])
    old = snapshot.patients.loc[ready < -LONG_AGO_DAYS, LINE]
    if len(old):
        lines = ", ".join(str(int(line)) for line in old[:5]) + (f" and {len(old) - 5} more" if len(old) > 5 else "")
        notes.append(f"patients.csv lines {lines}: ready_date over a year before the snapshot date; is it right?")
    return notes


def check_care_bands(snapshot: Snapshot, problems: ProblemList) -> None:
    """v2 (time-of-day bands): care_bands.csv and capacity.csv's band column agree with
    snapshot.toml's bands; every pathway-1 patient has its hours by band, and a care_hours
    given as well is their sum."""
    bands = set(snapshot.settings.bands)
    rows, patients, capacity = snapshot.care_bands, snapshot.patients, snapshot.capacity
    capacity = capacity.assign(band=capacity["band"].fillna("") if "band" in capacity else "")
    if not bands:
        if len(rows):
            problems.add(
                "care_bands.csv",
                None,
                None,
                None,
                'bands is not set in snapshot.toml; add bands = ["morning", ...] or remove the file',
            )
        for line, band in zip(capacity.loc[capacity["band"] != "", LINE], capacity.loc[capacity["band"] != "", "band"]):
            problems.add(
                "capacity.csv",
                int(line),
                "band",
                band,
                "bands is not set in snapshot.toml; add bands = [...] or leave band empty",
            )
        return
    pathway = dict(zip(patients["patient_id"], patients["pathway"]))
    for line, pid, band in zip(rows[LINE], rows["patient_id"], rows["band"]):
        if pid not in pathway:
            problems.add(
                "care_bands.csv",
                int(line),
                "patient_id",
                pid,
                "is not a patient_id in patients.csv; fix the id or remove the row",
            )
        elif pathway[pid] != 1:
            problems.add("care_bands.csv", int(line), "patient_id", pid, "is not a pathway-1 patient; only home care has bands")
        if band not in bands:
            problems.add(
                "care_bands.csv",
                int(line),
                "band",
                band,
                f"is not one of snapshot.toml's bands ({', '.join(snapshot.settings.bands)})",
            )
    totals = rows.groupby("patient_id")["hours"].sum()
    for line, pid, path, hours in zip(patients[LINE], patients["patient_id"], patients["pathway"], patients["care_hours"]):
        if path != 1:
            continue
        if pid not in totals.index:
            problems.add(
                "patients.csv",
                int(line),
                "patient_id",
                pid,
                "has no rows in care_bands.csv; give its hours of care a day by band",
            )
        elif not np.isnan(hours) and abs(hours - totals[pid]) > 1e-9:
            problems.add(
                "patients.csv",
                int(line),
                "care_hours",
                f"{hours:g}",
                f"is not the sum of its care_bands.csv hours ({totals[pid]:g}); leave it empty or make them agree",
            )
    service_pathway = dict(zip(snapshot.services["service_id"], snapshot.services["pathway"]))
    banded = capacity[capacity["band"] != ""]
    for line, sid, band in zip(banded[LINE], banded["service_id"], banded["band"]):
        if band not in bands:
            problems.add(
                "capacity.csv",
                int(line),
                "band",
                band,
                f"is not one of snapshot.toml's bands ({', '.join(snapshot.settings.bands)})",
            )
        elif service_pathway.get(sid, 1) != 1:
            problems.add(
                "capacity.csv", int(line), "band", band, "is on a bed service; bands are carer-hours of pathway-1 services"
            )


def check_interim(snapshot: Snapshot, problems: ProblemList) -> None:
    """v2 (interim stays): ``interim`` only on pathway-2 services, ``interim_ok`` only on
    pathway-1 and -3 patients."""
    services, patients = snapshot.services, snapshot.patients
    if "interim" in services.columns:
        wrong = services["interim"].fillna(False).astype(bool) & (services["pathway"] != 2)
        for line, pathway in zip(services.loc[wrong, LINE], services.loc[wrong, "pathway"]):
            problems.add(
                "services.csv",
                int(line),
                "interim",
                "true",
                f"is set on a pathway-{int(pathway)} service; interim (bridging) beds are pathway-2 services: "
                "leave it empty or false",
            )
    if "interim_ok" in patients.columns:
        wrong = patients["interim_ok"].fillna(False).astype(bool) & (patients["pathway"] == 2)
        for line in patients.loc[wrong, LINE]:
            problems.add(
                "patients.csv",
                int(line),
                "interim_ok",
                "true",
                "is set on a pathway-2 patient, who goes to a step-down bed directly; interim_ok is for pathways 1 "
                "and 3: leave it empty or false",
            )
