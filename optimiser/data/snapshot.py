"""A snapshot: today's discharge-ready patients and capacity (contract section 2).

``read_snapshot(folder, problems)`` reads every file into typed tables;
``optimiser.load_snapshot`` (``model/loading.py``) also checks them across
files and against the placement rules.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.data import schema
from optimiser.data.database import database_texts, is_database_url
from optimiser.data.identifiers import nhs_digits, pseudonym, pseudonym_key
from optimiser.data.problems import ProblemList
from optimiser.data.reading import LINE, empty_table, parse_settings, parse_table, read_settings, read_table
from optimiser.data.workbook import SETTINGS_SHEET, is_workbook, workbook_texts


@dataclass
class Snapshot:
    """Typed tables of one snapshot.

    Rows are in id order (:func:`sort_by_ids`), whatever the order of the
    files, so that the plan depends on the snapshot's content only; ``line``
    keeps each row's file line. The model refers to patients and services
    by their position (``patient`` / ``service`` index) in these tables.
    Derived patient columns (added by :func:`prepare`): ``ready_day`` (r),
    ``earliest_day`` (e(p)), ``use`` (care_hours x carers on pathway 1, else
    1), ``max_travel`` and ``store`` (the locality's equipment store, or "").
    """

    settings: schema.Settings
    patients: pd.DataFrame
    services: pd.DataFrame
    capacity: pd.DataFrame
    localities: pd.DataFrame
    coverage: pd.DataFrame
    travel: pd.DataFrame
    equipment: pd.DataFrame
    pinned: pd.DataFrame
    source: Path | None = None
    care_bands: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"line": [], "patient_id": [], "band": [], "hours": []})
    )  # v2: a pathway-1 patient's care hours by time-of-day band
    derived: dict = field(default_factory=dict, repr=False, compare=False)  # rules.derived's values, shared by copies
    content_hash: str | None = None  # sha256 of the files as read (``content_hash``)
    notes: list = field(default_factory=list, repr=False, compare=False)  # warnings: allowed, rarely meant

    @property
    def snapshot_date(self) -> dt.date:
        return self.settings.snapshot_date

    @property
    def horizon(self) -> int:
        return self.settings.horizon_days

    @property
    def weights(self) -> schema.Weights:
        return self.settings.weights

    @property
    def patient_index(self) -> pd.Series:
        """Position (``patient`` index) of each patient_id in ``patients``."""
        return pd.Series(np.arange(len(self.patients)), index=self.patients["patient_id"])

    @property
    def service_index(self) -> pd.Series:
        """Position (``service`` index) of each service_id in ``services``."""
        return pd.Series(np.arange(len(self.services)), index=self.services["service_id"])

    def day_of(self, dates: pd.Series) -> np.ndarray:
        """Day index of each date: (date - snapshot_date).days (float, NaN where no date)."""
        origin = pd.Timestamp(self.snapshot_date)
        return ((pd.to_datetime(dates) - origin) / pd.Timedelta(days=1)).to_numpy(dtype=float)

    def date_of(self, days) -> pd.Series:
        """ISO date string of each day index."""
        origin = pd.Timestamp(self.snapshot_date)
        return (origin + pd.to_timedelta(np.asarray(days), unit="D")).strftime("%Y-%m-%d")

    def weekday_of_day(self) -> np.ndarray:
        """Weekday (Monday = 0) of each day of the horizon."""
        return (self.snapshot_date.weekday() + np.arange(self.horizon)) % 7

    def summary(self) -> dict:
        """What was loaded: counts by pathway, localities, stores, horizon."""
        patients = self.patients
        capacity = self.capacity.merge(self.services[["service_id", "pathway"]], on="service_id")
        capacity = capacity[self.day_of(capacity["date"]) < self.horizon]
        by_pathway = {}
        for pathway in (1, 2, 3):
            by_pathway[pathway] = {
                "patients": int((patients["pathway"] == pathway).sum()),
                "services": int((self.services["pathway"] == pathway).sum()),
                "capacity": float(capacity.loc[capacity["pathway"] == pathway, "amount"].sum()),
            }
        stores = sorted(set(self.localities["equipment_store"]) - {""})
        return {
            "snapshot_date": self.snapshot_date.isoformat(),
            "horizon_days": self.horizon,
            "patients": len(patients),
            "services": len(self.services),
            "localities": len(self.localities),
            "equipment_stores": len(stores),
            "pinned": len(self.pinned),
            "by_pathway": by_pathway,
        }


def content_hash(folder: Path) -> str:
    """sha256 of the snapshot's files as they are (names and bytes, in name order): what a
    plan folder records, so that a later command can tell that the snapshot changed."""
    if is_database_url(folder):
        return database_texts(str(folder), ProblemList())[2]
    if is_workbook(folder):
        return hashlib.sha256(Path(folder).read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for name in sorted([schema.SNAPSHOT_FILE, *(table.file for table in schema.TABLES)]):
        path = Path(folder) / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def read_snapshot(folder: str | Path, problems: ProblemList, pseudonym_key: bytes | None = None) -> Snapshot | None:
    """Read every file of a snapshot folder into typed tables, adding each problem found;
    None when a file or the settings cannot be read. Cross-file checks come after
    (``optimiser.model.loading.load_snapshot``).

    A ``patients.csv`` with ``nhs_number`` and no ``patient_id`` column gets its ids as
    keyed pseudonyms of the NHS numbers (``pseudonym_key``, else the key in the
    environment): see :func:`_ids_from_nhs_numbers`."""
    if is_database_url(folder):
        return _read_sources(database_texts(str(folder), problems), str(folder), problems, pseudonym_key, "table")
    folder = Path(folder)
    if is_workbook(folder):
        return _read_sources(workbook_texts(folder, problems), folder, problems, pseudonym_key, "sheet")
    if not folder.is_dir():
        problems.add(str(folder), None, None, None, "is not a folder; give the snapshot folder (or an .xlsx workbook)")
        return None
    settings = read_settings(folder, problems)
    tables = {table.file: read_table(folder, table, problems) for table in schema.TABLES}
    return _snapshot_of(settings, tables, folder, content_hash(folder), problems, pseudonym_key)


def _read_sources(found, source, problems: ProblemList, pseudonym_key: bytes | None, unit: str) -> Snapshot | None:
    """A snapshot kept as one workbook or database (``data/workbook.py``, ``data/database.py``):
    each sheet or table read as its file would be."""
    settings_text, texts, digest = found
    if problems:
        return None
    if settings_text is None:
        problems.add(schema.SNAPSHOT_FILE, None, None, None, f"is missing; add a {unit} '{SETTINGS_SHEET}' of key/value rows")
        return None
    settings = parse_settings(settings_text, problems)
    tables = {}
    for table in schema.TABLES:
        if table.file in texts:
            tables[table.file] = parse_table(texts[table.file], table, problems)
        elif table.required:
            required = ", ".join(c.name for c in table.columns if c.required)
            problems.add(table.file, None, None, None, f"is missing; add a {unit} with columns {required}")
            tables[table.file] = None
        else:
            tables[table.file] = empty_table(table)
    return _snapshot_of(settings, tables, source, digest, problems, pseudonym_key)


def _snapshot_of(settings, tables: dict, source: Path, digest: str, problems: ProblemList, pseudonym_key) -> Snapshot | None:
    if settings is None or any(frame is None for frame in tables.values()):
        return None
    patients = tables["patients.csv"]
    if "patient_id" in patients.attrs.get("derived", ()) and not _ids_from_nhs_numbers(patients, pseudonym_key, problems):
        return None
    return Snapshot(
        settings=settings,
        patients=tables["patients.csv"],
        services=tables["services.csv"],
        capacity=tables["capacity.csv"],
        localities=tables["localities.csv"],
        coverage=tables["coverage.csv"],
        travel=tables["travel.csv"],
        equipment=tables["equipment.csv"],
        pinned=tables["pinned.csv"],
        care_bands=tables["care_bands.csv"],
        source=source,
        content_hash=digest,
    )


def _ids_from_nhs_numbers(patients: pd.DataFrame, key: bytes | None, problems: ProblemList) -> bool:
    """Fill ``patient_id`` with each NHS number's keyed pseudonym (in place); False, with the
    problems added, when there is no key or a patient has no NHS number or shares one.
    Problems name lines, never the numbers."""
    file = schema.PATIENTS.file
    if key is None:
        try:
            key = pseudonym_key()
        except ValueError as error:
            problems.add(
                file,
                None,
                "patient_id",
                None,
                f"is not in the header, so ids are made from nhs_number as pseudonyms, which needs a key: {error}; "
                "or add a patient_id column",
            )
            return False
    digits = patients["nhs_number"].fillna("").astype(str).map(nhs_digits)
    first_line: dict[str, int] = {}
    found = len(problems)
    for number, line in zip(digits, patients[LINE]):
        if not number:
            problems.add(
                file, int(line), "nhs_number", "", "is empty; with no patient_id column every patient needs an NHS number"
            )
        elif number in first_line:
            problems.add(
                file,
                int(line),
                "nhs_number",
                None,
                f"is the NHS number of line {first_line[number]} too; give each person one row",
            )
        else:
            first_line[number] = int(line)
    if len(problems) > found:
        return False
    patients["patient_id"] = [pseudonym(number, key) for number in digits]
    return True


def sort_by_ids(snapshot: Snapshot, only: tuple[str, ...] | None = None) -> None:
    """Put every table in id order (in place): its key, else all its columns.

    Ties between equally good plans are broken by row position, so without
    this a snapshot exported in another row order could give another of the
    optimal plans. The sort is stable, so rows equal in every contract column
    keep their file order. ``only``: the tables to sort (by name, e.g. ``patients``).
    """
    for table in schema.TABLES:
        name = table.file.removesuffix(".csv")
        if only is not None and name not in only:
            continue
        frame = getattr(snapshot, name)
        by = [column for column in (table.key or table.names) if column in frame.columns]  # tables made in code may lack v2's
        setattr(snapshot, name, frame.sort_values(by, kind="stable").reset_index(drop=True))


def prepare(snapshot: Snapshot) -> None:
    """Add the derived patient columns the model and checks use (in place)."""
    patients = snapshot.patients
    weights = snapshot.weights
    ready = snapshot.day_of(patients["ready_date"])
    earliest = snapshot.day_of(patients["earliest_date"])
    patients["ready_day"] = ready.astype(np.int64)
    patients["earliest_day"] = np.fmax(np.fmax(ready, np.nan_to_num(earliest, nan=0.0)), 0.0).astype(np.int64)
    pathway_one = (patients["pathway"] == 1).to_numpy()
    if snapshot.settings.bands and len(snapshot.care_bands):  # v2: care_hours is the sum of the bands' hours
        banded = snapshot.care_bands.groupby("patient_id")["hours"].sum()
        patients["care_hours"] = patients["care_hours"].fillna(patients["patient_id"].map(banded))
    care = np.nan_to_num(patients["care_hours"].to_numpy(dtype=float), nan=0.0)
    carers = patients["carers"].to_numpy(dtype=float)
    patients["use"] = np.where(pathway_one, care * carers, 1.0)
    patients["max_travel"] = patients["max_travel_minutes"].fillna(weights.max_travel_minutes).astype(float)
    store_of = dict(zip(snapshot.localities["locality_id"], snapshot.localities["equipment_store"]))
    patients["store"] = patients["locality"].map(store_of).fillna("")
    for column in ("pathway", "priority", "carers"):
        patients[column] = patients[column].astype(np.int64)
    snapshot.services["pathway"] = snapshot.services["pathway"].astype(np.int64)


def restrict_to_pathway(snapshot: Snapshot, pathway: int) -> Snapshot:
    """The snapshot's patients and services of one pathway (a prepared snapshot, not re-validated).

    Exact for that pathway: pathways share no constraint (rules 1 and 5-7;
    equipment counts for pathway 1 only), so the optimum of the whole is the
    sum of the pathways' optima. A preferred service of another pathway keeps
    its meaning (the preference penalty always applies).
    """
    patients = snapshot.patients[snapshot.patients["pathway"] == pathway].reset_index(drop=True)
    services = snapshot.services[snapshot.services["pathway"] == pathway].reset_index(drop=True)
    kept = set(services["service_id"])
    restricted = copy.copy(snapshot)
    restricted.content_hash = None  # a part of the folder's content
    restricted.patients = patients
    restricted.services = services
    restricted.capacity = snapshot.capacity[snapshot.capacity["service_id"].isin(kept)].reset_index(drop=True)
    restricted.coverage = snapshot.coverage[snapshot.coverage["service_id"].isin(kept)].reset_index(drop=True)
    restricted.pinned = snapshot.pinned[snapshot.pinned["patient_id"].isin(set(patients["patient_id"]))].reset_index(drop=True)
    return restricted
