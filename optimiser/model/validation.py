"""Checks of a snapshot against the placement rules: every pinned row must keep rules 1-7.

``check_snapshot`` runs the file checks (``data/checks.py``), prepares the
derived columns, then asks the rules (``rules.py``) and each constraint family
(``families/``) about the pinned rows. Each check appends problems (file, line,
column, value, and what to do) and never raises, so that one run reports everything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.data.checks import (
    check_care_bands,
    check_interim,
    check_nhs_numbers,
    check_pathway_one,
    check_pinned_references,
    check_references,
)
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE
from optimiser.data.snapshot import Snapshot, prepare
from optimiser.model.eligibility import equipment_ready_day
from optimiser.model.families import Family, active
from optimiser.model.families.base import INTERIM
from optimiser.model.families.interim import pinned_stage
from optimiser.model.rules import admits_on_day, exclusions, pathway_matches, with_attributes


def check_snapshot(snapshot: Snapshot, problems: ProblemList) -> None:
    """Run every cross-file check; prepare derived columns when the basics hold."""
    check_references(snapshot, problems)
    check_pathway_one(snapshot, problems)
    check_care_bands(snapshot, problems)
    check_interim(snapshot, problems)
    check_nhs_numbers(snapshot, problems)
    pinned_ok = check_pinned_references(snapshot, problems)
    if problems:
        return
    prepare(snapshot)
    if pinned_ok and len(snapshot.pinned):
        check_pinned_rules(snapshot, problems)


def check_pinned_rules(snapshot: Snapshot, problems: ProblemList, families: tuple[Family, ...] | None = None) -> None:
    """A pinned row must satisfy rules 1-7 of contract section 3; name the rule it breaks
    (rules 1-4 and the stock each start needs here, the row families' totals by each family)."""
    families = active() if families is None else families
    patients, services, pinned = snapshot.patients, snapshot.services, snapshot.pinned
    patient_index = snapshot.patient_index
    service_index = snapshot.service_index
    rows = pd.DataFrame(
        {
            "patient": patient_index.loc[pinned["patient_id"]].to_numpy(),
            "service": service_index.loc[pinned["service_id"]].to_numpy(),
            "day": snapshot.day_of(pinned["date"]).astype(np.int64),
            LINE: pinned[LINE].to_numpy(),
            "stage": pinned_stage(snapshot),
        }
    )
    every = rows
    rows = rows[rows["stage"] != INTERIM].reset_index(drop=True)  # v2: the interim family checks entries' rules
    lacking, reach = exclusions(snapshot, rows["patient"].to_numpy(), rows["service"].to_numpy())
    pathway_ok = pathway_matches(with_attributes(snapshot, rows))
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
        if lacking[i]:
            report(f"breaks rule 2 (needs): the service does not provide {', '.join(lacking[i])}")
        if reach[i]:
            report(f"breaks rule 3 (reach): {reach[i]}")
        if d < patients["earliest_day"].iat[p]:
            report(
                f"breaks rule 4 (timing): {date} is before the patient's earliest start "
                f"{snapshot.date_of([patients['earliest_day'].iat[p]])[0]}"
            )
        if not allowed[i]:
            report(f"breaks rule 4 (timing): {date} is a weekend day and the service takes no weekend admissions")
        if d < equipment_day[p]:
            report(f"breaks rule 7 (equipment): an item the patient needs is not in stock at their store by {date}")
    for family in families:
        family.check_pinned(snapshot, every, problems)
