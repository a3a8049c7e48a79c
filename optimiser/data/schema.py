"""The snapshot's input schema, written down once, as data (contract section 2).

Each file is a :class:`Table` of :class:`Column`. Loading (``snapshot.py``)
reads every column by its ``kind`` and reports values that do not parse or
break ``choices`` / ``minimum`` with the column's ``hint``.

Kinds: ``id`` (non-empty text), ``text``, ``int``, ``number``, ``bool``,
``date`` (ISO), ``list`` (``;``-separated ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False  # the column must be present and every value non-empty
    default: object = None
    choices: tuple | None = None
    minimum: float | None = None
    strict_minimum: bool = False  # value must be > minimum rather than >=
    hint: str = ""
    # A required id column may be left out when this column is there instead: the reader
    # then derives the ids from it (patient_id from nhs_number, as keyed pseudonyms).
    derivable_from: str | None = None


@dataclass(frozen=True)
class Table:
    file: str
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # columns whose combination must be unique
    row_is: str = ""

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


BOOL_TRUE = frozenset({"true", "1", "yes", "y"})
BOOL_FALSE = frozenset({"false", "0", "no", "n"})
LIST_SEPARATOR = ";"

NEEDS = ("dementia", "nursing", "bariatric")

# v2 (interim stays): the stage of a plan row or pinned row
DIRECT, INTERIM, ONWARD = "direct", "interim", "onward"
STAGES = (DIRECT, INTERIM)  # what pinned.csv may say (an onward start is not pinned)

PATIENTS = Table(
    "patients.csv",
    required=True,
    key=("patient_id",),
    row_is="a discharge-ready patient",
    columns=(
        Column("patient_id", "id", required=True, hint="give every patient a unique id", derivable_from="nhs_number"),
        Column("site", "id", required=True, hint="give the hospital site code"),
        Column("locality", "id", required=True, hint="use a locality_id from localities.csv"),
        Column(
            "pathway",
            "int",
            required=True,
            choices=(1, 2, 3),
            hint="pathway must be 1, 2 or 3 (pathway 0 needs no placement: remove the row)",
        ),
        Column("ready_date", "date", required=True, hint="write the date as YYYY-MM-DD"),
        Column("priority", "int", default=1, choices=(1, 2, 3), hint="priority must be 1, 2 or 3 (3 = highest risk)"),
        Column(
            "care_hours",
            "number",
            default=None,
            minimum=0.0,
            hint="care_hours must be a number of hours a day (> 0 for pathway 1)",
        ),
        Column("carers", "int", default=1, choices=(1, 2), hint="carers must be 1 or 2 (2 = double-handed care)"),
        Column("dementia", "bool", default=False),
        Column("nursing", "bool", default=False),
        Column("bariatric", "bool", default=False),
        Column("equipment", "list", default=()),
        Column("earliest_date", "date", default=None, hint="write the date as YYYY-MM-DD or leave it empty"),
        Column(
            "max_travel_minutes",
            "number",
            default=None,
            minimum=0.0,
            hint="max_travel_minutes must be a number of minutes >= 0, or empty for the default",
        ),
        Column("preferred_services", "list", default=()),
        Column("nhs_number", "text", default=""),
        Column("interim_ok", "bool", default=False),  # v2: may bridge in an interim bed (pathways 1 and 3)
    ),
)

SERVICES = Table(
    "services.csv",
    required=True,
    key=("service_id",),
    row_is="a service",
    columns=(
        Column("service_id", "id", required=True, hint="give every service a unique id"),
        Column("name", "text", default=""),
        Column("pathway", "int", required=True, choices=(1, 2, 3), hint="pathway must be 1, 2 or 3"),
        Column("locality", "id", required=True, hint="use a locality_id from localities.csv"),
        Column("dementia", "bool", default=False),
        Column("nursing", "bool", default=False),
        Column("bariatric", "bool", default=False),
        Column("double_handed", "bool", default=False),
        Column(
            "max_admissions_per_day",
            "int",
            default=None,
            minimum=0,
            hint="max_admissions_per_day must be a whole number >= 0, or empty for no limit",
        ),
        Column("weekend_admissions", "bool", default=True),
        Column(
            "places",
            "number",
            default=None,
            minimum=0.0,
            hint="places must be a number >= 0 (the service's beds or carer-hours a day), or empty",
        ),
        Column("interim", "bool", default=False),  # v2: a pathway-2 service that also takes bridging stays
    ),
)

CAPACITY = Table(
    "capacity.csv",
    required=True,
    row_is="capacity that becomes free on a date",
    columns=(
        Column("service_id", "id", required=True, hint="use a service_id from services.csv"),
        Column("date", "date", required=True, hint="write the date as YYYY-MM-DD"),
        Column("amount", "number", required=True, minimum=0.0, hint="amount must be a number >= 0 (beds or carer-hours)"),
        Column("band", "text", default=""),  # v2: a time-of-day band of snapshot.toml's bands; empty = all day
    ),
)

LOCALITIES = Table(
    "localities.csv",
    required=True,
    key=("locality_id",),
    row_is="a locality",
    columns=(
        Column("locality_id", "id", required=True, hint="give every locality a unique id"),
        Column("name", "text", default=""),
        Column("equipment_store", "text", default=""),
    ),
)

COVERAGE = Table(
    "coverage.csv",
    required=False,
    row_is="a locality a pathway-1 service visits",
    columns=(
        Column("service_id", "id", required=True, hint="use a service_id from services.csv"),
        Column("locality", "id", required=True, hint="use a locality_id from localities.csv"),
    ),
)

TRAVEL = Table(
    "travel.csv",
    required=False,
    key=("from_locality", "to_locality"),
    row_is="minutes from a home locality to a service's locality",
    columns=(
        Column("from_locality", "id", required=True, hint="use a locality_id from localities.csv"),
        Column("to_locality", "id", required=True, hint="use a locality_id from localities.csv"),
        Column("minutes", "number", required=True, minimum=0.0, hint="minutes must be a number >= 0"),
    ),
)

EQUIPMENT = Table(
    "equipment.csv",
    required=False,
    row_is="stock of one item arriving at one store",
    columns=(
        Column("store_id", "id", required=True, hint="use an equipment_store named in localities.csv"),
        Column("item", "id", required=True, hint="give the item code"),
        Column("date", "date", required=True, hint="write the date as YYYY-MM-DD"),
        Column("quantity", "int", required=True, minimum=0, hint="quantity must be a whole number of units >= 0"),
    ),
)

PINNED = Table(
    "pinned.csv",
    required=False,
    key=("patient_id",),
    row_is="a placement already agreed",
    columns=(
        Column("patient_id", "id", required=True, hint="use a patient_id from patients.csv"),
        Column("service_id", "id", required=True, hint="use a service_id from services.csv"),
        Column("date", "date", required=True, hint="write the date as YYYY-MM-DD, within the horizon"),
        Column(
            "stage",
            "text",
            default=DIRECT,
            choices=STAGES,
            hint="stage must be direct (a start, the default) or interim (an interim stay)",
        ),  # v2
    ),
)

CARE_BANDS = Table(
    "care_bands.csv",
    required=False,
    key=("patient_id", "band"),
    row_is="a pathway-1 patient's hours of care a day in one time-of-day band (v2)",
    columns=(
        Column("patient_id", "id", required=True, hint="use a patient_id from patients.csv"),
        Column("band", "id", required=True, hint="use a band of snapshot.toml's bands"),
        Column("hours", "number", required=True, minimum=0.0, strict_minimum=True, hint="hours must be a number > 0"),
    ),
)

TABLES: tuple[Table, ...] = (PATIENTS, SERVICES, CAPACITY, LOCALITIES, COVERAGE, TRAVEL, EQUIPMENT, PINNED, CARE_BANDS)


@dataclass(frozen=True)
class Weights:
    """The standard objective's weights (contract section 4)."""

    wait_growth_days: float = 7.0
    tail_days: int = 7
    travel_weight: float = 0.01
    preference_penalty: float = 2.0
    max_travel_minutes: float = 60.0
    interim_weight: float = 0.25  # v2: harm of a day in an interim bed, as a share of an acute day
    move_penalty: float = 1.0  # v2: each move into an interim bed


# key -> (kind, minimum, strictly greater?)
WEIGHT_RULES: dict[str, tuple[str, float, bool]] = {
    "wait_growth_days": ("number", 0.0, True),
    "tail_days": ("int", 0, False),
    "travel_weight": ("number", 0.0, False),
    "preference_penalty": ("number", 0.0, False),
    "max_travel_minutes": ("number", 0.0, False),
    "interim_weight": ("number", 0.0, False),
    "move_penalty": ("number", 0.0, False),
}

DEFAULT_HORIZON_DAYS = 14
SNAPSHOT_FILE = "snapshot.toml"


@dataclass(frozen=True)
class Settings:
    """What ``snapshot.toml`` says."""

    snapshot_date: object  # datetime.date
    horizon_days: int = DEFAULT_HORIZON_DAYS
    weights: Weights = field(default_factory=Weights)
    bands: tuple[str, ...] = ()  # v2: time-of-day bands of pathway-1 care (none: v1)
