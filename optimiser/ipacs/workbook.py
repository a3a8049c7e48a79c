"""The IPACS workbook (``IPACS_params.xlsx``) read as it is, into typed parameters.

Sheets read: ``arrivals`` (node, arrivals, scenario, date), ``initial conditions`` (node,
measure ``dtoc`` or ``occ``, value), ``capacity`` (node, scenario, capacity), ``los`` (node,
scenario, median, mean_los, optional sd_los, IVR and FVR for pathway-1 nodes) and ``costs``
(node, community_cost, acute_dtoc). Other sheets are ignored. A node is ``P{1,2,3}_{place}``:
pathway 1 is IPACS's visit model, pathways 2 and 3 its bed model.

Derived as IPACS does: a lognormal length of stay from its median and mean (mu = ln median,
sigma = sqrt(2 (ln mean - mu))); sd_los, when empty, 0.3 x mean; visit slots a day =
capacity x the mean of all visit scenarios' IVR and FVR; every node x arrival x capacity x
LOS scenario is a scenario, named ``{node}_{capacity}_{los}_{arrivals}``, in IPACS's order
(``order.py``). Every problem (sheet, row, column, value, what to do) is collected and raised
together as one :class:`InputError`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optimiser.data.problems import InputError, ProblemList
from optimiser.ipacs.order import scenario_order

SHEETS = {
    "arrivals": ("node", "arrivals", "scenario", "date"),
    "initial conditions": ("node", "measure", "value"),
    "capacity": ("node", "scenario", "capacity"),
    "los": ("node", "scenario", "median", "mean_los"),
    "costs": ("node", "community_cost", "acute_dtoc"),
}
NODE = re.compile(r"^P([123])_([A-Za-z0-9]+)$")
SD_SHARE = 0.3  # sd_los when the sheet leaves it empty: 0.3 x mean_los
VISIT_SD = 0.5  # sd of the initial and final visits a day (IPACS's sd_isr, sd_esr)


@dataclass(frozen=True)
class Stay:
    """A node's length of stay in one LOS scenario."""

    median: float
    mean: float
    sd: float
    ivr: float | None = None  # pathway 1: visits a day at the start ...
    fvr: float | None = None  # ... and at the end of a package

    @property
    def mu(self) -> float:
        return math.log(self.median)

    @property
    def sigma(self) -> float:
        return math.sqrt(2.0 * (math.log(self.mean) - self.mu))


@dataclass(frozen=True)
class Scenario:
    """One IPACS scenario: a node under one capacity, LOS and arrival scenario."""

    node: str
    capacity_scenario: str
    los_scenario: str
    arrival_scenario: str

    @property
    def name(self) -> str:
        return f"{self.node}_{self.capacity_scenario}_{self.los_scenario}_{self.arrival_scenario}"

    @property
    def pathway(self) -> int:
        return int(self.node[1])

    @property
    def model(self) -> str:
        return "visit" if self.pathway == 1 else "bed"


@dataclass
class Workbook:
    source: Path
    dates: list[dt.date]
    arrivals: dict[tuple[str, str], np.ndarray]  # (node, arrival scenario) -> mean arrivals each day
    capacity: dict[tuple[str, str], float]  # (node, capacity scenario) -> beds, or patients on pathway 1
    stays: dict[tuple[str, str], Stay]  # (node, LOS scenario)
    queue: dict[str, int]  # node -> dtoc: waiting at the start
    occupants: dict[str, int]  # node -> occ: in service at the start
    community_cost: dict[str, float]  # node -> pounds per bed-day or visit slot
    acute_cost: dict[str, float]  # node -> pounds per delayed acute bed-day
    scenarios: list[Scenario] = field(default_factory=list)  # IPACS's order

    @property
    def days(self) -> int:
        return len(self.dates)

    def bed_scenarios(self) -> list[Scenario]:
        return [s for s in self.scenarios if s.model == "bed"]

    def visit_scenarios(self) -> list[Scenario]:
        return [s for s in self.scenarios if s.model == "visit"]

    def scenario(self, name: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.name == name:
                return scenario
        raise KeyError(name)

    def visits_a_day(self) -> float:
        """IPACS's 2.5: the mean of every visit scenario's IVR and FVR, as whole numbers."""
        stays = [self.stays[(s.node, s.los_scenario)] for s in self.visit_scenarios()]
        values = [int(stay.ivr) for stay in stays] + [int(stay.fvr) for stay in stays]
        return float(np.mean(values)) if values else 2.5

    def slots(self, scenario: Scenario) -> float:
        """Visit slots a day of a pathway-1 scenario: capacity x ``visits_a_day``."""
        return self.capacity[(scenario.node, scenario.capacity_scenario)] * self.visits_a_day()

    def cost_node(self, scenario: Scenario) -> str:
        """Whose costs a scenario is priced with: on the bed model IPACS prices every place of
        a pathway with its first place's costs (``P2_B`` for all of P2); visits, their own."""
        if scenario.model == "visit":
            return scenario.node
        same = [node for node in self.community_cost if node.startswith(f"P{scenario.pathway}_")]
        return same[0] if same else scenario.node


def read_workbook(path: str | Path) -> Workbook:
    """Read and check the workbook; raise InputError listing every problem."""
    path = Path(path)
    problems = ProblemList()
    name = path.name
    if not path.is_file():
        problems.add(name, None, None, None, "is not a file; give the IPACS workbook (.xlsx)")
        raise InputError(problems, subject="workbook")
    try:
        import openpyxl  # deferred: only an IPACS command needs it

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # a damaged or non-xlsx file: openpyxl raises many kinds
        problems.add(name, None, None, None, f"cannot be read as an Excel workbook ({type(error).__name__}); save it as .xlsx")
        raise InputError(problems, subject="workbook") from None
    tables = {}
    for sheet, columns in SHEETS.items():
        if sheet not in book.sheetnames:
            problems.add(
                f"{name} sheet '{sheet}'",
                None,
                None,
                None,
                f"is missing; add a sheet '{sheet}' with columns {', '.join(columns)}",
            )
            continue
        tables[sheet] = _rows(book[sheet], f"{name} sheet '{sheet}'", columns, problems)
    book.close()
    if problems:
        raise InputError(problems, subject="workbook")
    workbook = _parse(path, tables, problems)
    if problems:
        raise InputError(problems, subject="workbook")
    return workbook


def _rows(sheet, where: str, columns: tuple[str, ...], problems: ProblemList) -> list[dict] | None:
    """The sheet's rows as dicts keyed by header (with ``row``, the Excel row number); blank
    rows skipped. None when a required column is missing."""
    values = sheet.iter_rows(values_only=True)
    header = next(values, None)
    if header is None:
        problems.add(where, None, None, None, f"is empty; it needs a header row: {', '.join(columns)}")
        return None
    names = [str(cell).strip() if cell is not None else "" for cell in header]
    missing = [column for column in columns if column not in names]
    for column in missing:
        problems.add(where, 1, column, None, f"required column is missing from the header; add a {column} column")
    if missing:
        return None
    rows = []
    for number, record in enumerate(values, start=2):
        if record is None or all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in record):
            continue
        row = {names[k]: record[k] for k in range(min(len(names), len(record))) if names[k]}
        row["row"] = number
        rows.append(row)
    return rows


def _number(row: dict, column: str, where: str, problems: ProblemList, minimum: float = 0.0, strict: bool = False):
    value = row.get(column)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        text = "" if value is None else value
        problems.add(where, row["row"], column, text, "is not a number; give a number")
        return None
    if value < minimum or (strict and value == minimum):
        sign = ">" if strict else ">="
        problems.add(where, row["row"], column, value, f"must be {sign} {minimum:g}")
        return None
    return float(value)


def _text(row: dict, column: str, where: str, problems: ProblemList) -> str | None:
    value = row.get(column)
    if value is None or not str(value).strip():
        problems.add(where, row["row"], column, "", f"is empty; give the {column}")
        return None
    return str(value).strip()


def _node(row: dict, where: str, problems: ProblemList) -> str | None:
    node = _text(row, "node", where, problems)
    if node is not None and not NODE.match(node):
        problems.add(where, row["row"], "node", node, "is not a node name like P1_B (pathway 1-3, underscore, place)")
        return None
    return node


def _parse(path: Path, tables: dict[str, list[dict]], problems: ProblemList) -> Workbook:
    name = path.name
    where = {sheet: f"{name} sheet '{sheet}'" for sheet in SHEETS}

    # arrivals: one row per node, scenario and date
    series: dict[tuple[str, str], dict[dt.date, float]] = {}
    arrival_rows = []
    damaged: set = set()  # nodes or series with a rejected row: not also reported incomplete
    for row in tables["arrivals"]:
        node, scenario = _node(row, where["arrivals"], problems), _text(row, "scenario", where["arrivals"], problems)
        value = _number(row, "arrivals", where["arrivals"], problems)
        date = row.get("date")
        if isinstance(date, dt.datetime):
            date = date.date()
        if not isinstance(date, dt.date):
            problems.add(where["arrivals"], row["row"], "date", "" if date is None else date, "is not a date; give an Excel date")
            date = None
        if None in (node, scenario, value, date):
            damaged.add((node, scenario))
            continue
        day = series.setdefault((node, scenario), {})
        if date in day:
            problems.add(
                where["arrivals"], row["row"], "date", date.isoformat(), f"repeats a date of {node} {scenario}; give each once"
            )
        day[date] = value
        arrival_rows.append({"node": node, "arrival_scenario": scenario})
    dates = sorted({date for day in series.values() for date in day})
    arrivals = {}
    for key, day in series.items():
        absent = [date for date in dates if date not in day]
        if absent and key not in damaged:
            problems.add(
                where["arrivals"],
                None,
                "date",
                absent[0].isoformat(),
                f"{key[0]} {key[1]} has no arrivals on {len(absent)} of the dates; give every date",
            )
        arrivals[key] = np.array([day.get(date, 0.0) for date in dates])

    # initial conditions
    queue, occupants, initial_rows = {}, {}, []
    for row in tables["initial conditions"]:
        node, measure = (
            _node(row, where["initial conditions"], problems),
            _text(row, "measure", where["initial conditions"], problems),
        )
        value = _number(row, "value", where["initial conditions"], problems)
        if measure is not None and measure not in ("dtoc", "occ"):
            problems.add(
                where["initial conditions"], row["row"], "measure", measure, "must be dtoc (waiting) or occ (in service)"
            )
            damaged.add(node)
            continue
        if None in (node, measure, value):
            damaged.add(node)
            continue
        if value != round(value):
            problems.add(where["initial conditions"], row["row"], "value", value, "must be a whole number of patients")
            damaged.add(node)
            continue
        (queue if measure == "dtoc" else occupants)[node] = int(value)
        initial_rows.append({"node": node, "measure": measure})

    # capacity
    capacity, capacity_rows = {}, []
    for row in tables["capacity"]:
        node, scenario = _node(row, where["capacity"], problems), _text(row, "scenario", where["capacity"], problems)
        value = _number(row, "capacity", where["capacity"], problems)
        if None in (node, scenario, value):
            continue
        capacity[(node, scenario)] = value
        capacity_rows.append({"node": node, "capacity_scenario": scenario})

    # lengths of stay
    stays, los_rows = {}, []
    for row in tables["los"]:
        node, scenario = _node(row, where["los"], problems), _text(row, "scenario", where["los"], problems)
        median = _number(row, "median", where["los"], problems, strict=True)
        mean = _number(row, "mean_los", where["los"], problems, strict=True)
        sd = row.get("sd_los")
        sd = None if sd is None or (isinstance(sd, str) and not sd.strip()) else _number(row, "sd_los", where["los"], problems)
        ivr = fvr = None
        if node is not None and node.startswith("P1"):
            ivr = _number(row, "IVR", where["los"], problems, strict=True)
            fvr = _number(row, "FVR", where["los"], problems, strict=True)
            if ivr is None or fvr is None:
                continue
        if None in (node, scenario, median, mean):
            continue
        if mean < median:
            problems.add(
                where["los"], row["row"], "mean_los", mean, f"is below the median {median:g}; a lognormal stay has mean >= median"
            )
            continue
        stays[(node, scenario)] = Stay(median, mean, SD_SHARE * mean if sd is None else sd, ivr, fvr)
        los_rows.append({"node": node, "los_scenario": scenario})

    # costs
    community, acute = {}, {}
    for row in tables["costs"]:
        node = _node(row, where["costs"], problems)
        c, a = _number(row, "community_cost", where["costs"], problems), _number(row, "acute_dtoc", where["costs"], problems)
        if None in (node, c, a):
            continue
        community[node], acute[node] = c, a

    nodes = sorted({node for node, _ in arrivals})
    for node in nodes:
        for what, table, sheet in (
            ("capacity", {n for n, _ in capacity}, "capacity"),
            ("length of stay", {n for n, _ in stays}, "los"),
            ("costs", set(community), "costs"),
        ):
            if node not in table:
                problems.add(where[sheet], None, "node", node, f"has arrivals but no {what}; add its rows to sheet '{sheet}'")
        for measure, values in (("dtoc", queue), ("occ", occupants)):
            if node not in values and node not in damaged:
                problems.add(where["initial conditions"], None, "node", node, f"has no {measure} row; add one (0 if none)")
    workbook = Workbook(path, dates, arrivals, capacity, stays, queue, occupants, community, acute)
    if problems:
        return workbook
    names = scenario_order(arrival_rows, capacity_rows, los_rows, initial_rows)
    parts = {}
    for node, arrival in arrivals:
        for cap_node, cap in capacity:
            for los_node, los in stays:
                if cap_node == node == los_node:
                    parts[f"{node}_{cap}_{los}_{arrival}"] = Scenario(node, cap, los, arrival)
    workbook.scenarios = [parts[name] for name in names if name in parts]
    return workbook
