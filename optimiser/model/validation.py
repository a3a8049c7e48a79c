"""Cross-file checks of a snapshot: references, pathway-1 needs, pinned rows.

Each ``check_*`` function appends problems (file, line, column, value, and
what to do) and never raises, so that one run reports everything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.constants import TOLERANCE
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE
from optimiser.data.snapshot import Snapshot, prepare
from optimiser.model.eligibility import equipment_ready_day
from optimiser.model.rules import (
    admits_on_day,
    cumulative_capacity,
    cumulative_stock,
    equipment_needs,
    pathway_matches,
    reach_table,
    unmet_needs,
    with_attributes,
)


def check_snapshot(snapshot: Snapshot, problems: ProblemList) -> None:
    """Run every cross-file check; prepare derived columns when the basics hold."""
    check_references(snapshot, problems)
    check_pathway_one(snapshot, problems)
    pinned_ok = check_pinned_references(snapshot, problems)
    if problems:
        return
    prepare(snapshot)
    if pinned_ok and len(snapshot.pinned):
        check_pinned_rules(snapshot, problems)


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
    """Pathway-1 patients need care_hours > 0 (care_hours x carers is what they use)."""
    patients = snapshot.patients
    pathway_one = patients["pathway"] == 1
    hours = patients["care_hours"]
    missing = pathway_one & hours.isna()
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


def check_pinned_rules(snapshot: Snapshot, problems: ProblemList) -> None:
    """A pinned row must satisfy rules 1-7 of contract section 3; name the rule it breaks."""
    patients, services, pinned = snapshot.patients, snapshot.services, snapshot.pinned
    patient_index = pd.Series(np.arange(len(patients)), index=patients["patient_id"])
    service_index = pd.Series(np.arange(len(services)), index=services["service_id"])
    rows = pd.DataFrame(
        {
            "patient": patient_index.loc[pinned["patient_id"]].to_numpy(),
            "service": service_index.loc[pinned["service_id"]].to_numpy(),
            "day": snapshot.day_of(pinned["date"]).astype(np.int64),
            LINE: pinned[LINE].to_numpy(),
        }
    )
    pairs = with_attributes(snapshot, rows)
    reach = reach_table(snapshot)
    reached = rows.assign(locality=patients["locality"].to_numpy()[rows["patient"]]).merge(
        reach, on=["locality", "service"], how="left"
    )
    pathway_ok = pathway_matches(pairs)
    unmet = unmet_needs(pairs)
    equipment_day = equipment_ready_day(snapshot)
    allowed = admits_on_day(snapshot, rows["service"].to_numpy(), rows["day"].to_numpy())
    for i, row in rows.iterrows():
        p, s, d, line = int(row["patient"]), int(row["service"]), int(row["day"]), int(row[LINE])
        date = snapshot.date_of([d])[0]

        def report(message: str, line: int = line, service_id: str = services["service_id"].iat[s]) -> None:
            problems.add("pinned.csv", line, "service_id", service_id, message + "; fix or unpin")

        if not pathway_ok[i]:
            report(
                f"breaks rule 1 (pathway): a pathway-{patients['pathway'].iat[p]} patient "
                f"pinned to a pathway-{services['pathway'].iat[s]} service"
            )
            continue
        lacking = [need for need, mask in unmet.items() if mask[i]]
        if lacking:
            report(f"breaks rule 2 (needs): the service does not provide {', '.join(lacking)}")
        minutes = reached["minutes"].iat[i]
        if np.isnan(minutes):
            what = (
                "does not cover the patient's locality"
                if patients["pathway"].iat[p] == 1
                else "has no travel time from the patient's locality"
            )
            report(f"breaks rule 3 (reach): the service {what}")
        elif minutes > patients["max_travel"].iat[p] + TOLERANCE:
            report(f"breaks rule 3 (reach): {minutes:g} minutes away, more than the patient's {patients['max_travel'].iat[p]:g}")
        if d < patients["earliest_day"].iat[p]:
            report(
                f"breaks rule 4 (timing): {date} is before the patient's earliest start "
                f"{snapshot.date_of([patients['earliest_day'].iat[p]])[0]}"
            )
        if not allowed[i]:
            report(f"breaks rule 4 (timing): {date} is a weekend day and the service takes no weekend admissions")
        if d < equipment_day[p]:
            report(f"breaks rule 7 (equipment): an item the patient needs is not in stock at their store by {date}")
    _check_pinned_totals(snapshot, rows, problems)


def _check_pinned_totals(snapshot: Snapshot, rows: pd.DataFrame, problems: ProblemList) -> None:
    """Rules 5-7 summed over pinned rows: capacity, admissions a day, equipment stock."""
    horizon = snapshot.horizon
    services, patients = snapshot.services, snapshot.patients
    s, d, p = rows["service"].to_numpy(), rows["day"].to_numpy(), rows["patient"].to_numpy()
    used = np.zeros((len(services), horizon))
    np.add.at(used, (s, d), patients["use"].to_numpy()[p])
    over = np.cumsum(used, axis=1) > cumulative_capacity(snapshot) + TOLERANCE
    for service in np.flatnonzero(over.any(axis=1)):
        day = int(np.argmax(over[service]))
        for line in rows.loc[(s == service) & (d <= day), LINE]:
            problems.add(
                "pinned.csv",
                int(line),
                "service_id",
                services["service_id"].iat[service],
                f"breaks rule 5 (capacity): pinned placements exceed the capacity free by "
                f"{snapshot.date_of([day])[0]}; unpin some or add capacity",
            )
    limit = services["max_admissions_per_day"].to_numpy()
    admitted = np.zeros((len(services), horizon))
    np.add.at(admitted, (s, d), 1)
    for service, day in zip(*np.nonzero(admitted > np.nan_to_num(limit, nan=np.inf)[:, None])):
        for line in rows.loc[(s == service) & (d == day), LINE]:
            problems.add(
                "pinned.csv",
                int(line),
                "service_id",
                services["service_id"].iat[service],
                f"breaks rule 6 (admissions): more than {int(limit[service])} pinned admissions on "
                f"{snapshot.date_of([day])[0]}; move or unpin one",
            )
    needs = equipment_needs(snapshot)
    needs = needs[needs["key"] >= 0].merge(rows[["patient", "day", LINE]], on="patient")
    if needs.empty:
        return
    keys, stock = cumulative_stock(snapshot)
    taken = np.zeros_like(stock)
    np.add.at(taken, (needs["key"].to_numpy(), needs["day"].to_numpy()), 1)
    short = np.cumsum(taken, axis=1) > stock + TOLERANCE
    for key in np.flatnonzero(short.any(axis=1)):
        day = int(np.argmax(short[key]))
        store, item = keys["store"].iat[key], keys["item"].iat[key]
        for line in needs.loc[(needs["key"] == key) & (needs["day"] <= day), LINE]:
            problems.add(
                "pinned.csv",
                int(line),
                "service_id",
                None,
                f"breaks rule 7 (equipment): pinned placements need more {item} at store {store} "
                f"than has arrived by {snapshot.date_of([day])[0]}; unpin some or add stock",
            )
