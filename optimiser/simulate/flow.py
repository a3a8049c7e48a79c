"""The flow file (``flow.toml``): arrivals, lengths of stay, the policies and their limits.

``read_flow(path, snapshot)`` returns a :class:`Flow` or raises ``InputError``
listing every problem (file, key, value, what to do): an unknown key (with a "did you
mean"), a bad value, a site, store or item the snapshot does not have. Every key has a
default (``docs/simulation.md`` lists them).
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from optimiser.constants import BED_DAY_COST
from optimiser.data.problems import InputError, ProblemList
from optimiser.data.snapshot import Snapshot
from optimiser.simulate.lookahead import Lookahead
from optimiser.simulate.stays import Stay, exponential, fixed, lognormal

POLICIES = ("optimiser", "fifo", "lookahead")
DEFAULT_POLICIES = ("optimiser", "fifo")
WARM_STARTS = ("whole", "kept", "none")  # yesterday's plan as a start: all of it or nothing, the patients that fit, none
DEFAULT_STAYS = {1: lognormal(14, 18), 2: lognormal(24, 30), 3: lognormal(300, 420)}
DEFAULT_COMMUNITY_COST = {1: 32.0, 2: 150.0, 3: 164.0}


@dataclass(frozen=True)
class Rate:
    """New discharge-ready patients of a pathway (at one site, or spread over the sites)."""

    pathway: int
    per_day: float
    site: str | None = None


@dataclass(frozen=True)
class Delivery:
    """New stock of an item at a store, ``per_week`` units spread evenly over the days."""

    store: str
    item: str
    per_week: float


@dataclass(frozen=True)
class Flow:
    days: int = 90
    runs: int = 20
    seed: int = 1
    policies: tuple[str, ...] = DEFAULT_POLICIES
    bed_day_cost: float = BED_DAY_COST
    community_cost: dict[int, float] = field(default_factory=lambda: dict(DEFAULT_COMMUNITY_COST))
    notice_days: int = 1
    weekday_factor: tuple[float, ...] = (1.0,) * 7
    rates: tuple[Rate, ...] = ()
    stays: dict[int, Stay] = field(default_factory=lambda: dict(DEFAULT_STAYS))
    time_limit: float | None = 5.0
    work_limit: int | None = None
    known_release_days: int = 3
    threads: int = 1
    horizon_days: int | None = None  # the optimiser policy's planning horizon (None: the snapshot's)
    return_days: int = 2
    deliveries: tuple[Delivery, ...] = ()
    warm_start: str = "whole"  # optimiser and lookahead: yesterday's plan as today's start (WARM_STARTS)
    max_wait_days: int | None = None  # optimiser and lookahead: a patient this long waiting goes first (None: no cap)
    lookahead: Lookahead = field(default_factory=Lookahead)
    source: str = "flow.toml"

    def with_options(self, **options) -> Flow:
        """The flow with the options given (not None) in place of the file's: days, runs,
        seed, policies, time_limit, work_limit, threads."""
        changes = {key: value for key, value in options.items() if value is not None}
        if "work_limit" in changes:
            changes.setdefault("time_limit", None)
        return replace(self, **changes)

    def as_dict(self) -> dict:
        """The flow as read (for summary.json)."""
        return {
            "days": self.days,
            "runs": self.runs,
            "seed": self.seed,
            "policies": list(self.policies),
            "bed_day_cost": self.bed_day_cost,
            "community_cost": {f"pathway{k}": v for k, v in self.community_cost.items()},
            "arrivals": {
                "notice_days": self.notice_days,
                "weekday_factor": list(self.weekday_factor),
                "rate": [{"pathway": r.pathway, "site": r.site, "per_day": r.per_day} for r in self.rates],
            },
            "length_of_stay": {f"pathway{k}": stay.as_dict() for k, stay in self.stays.items()},
            "policy": {
                "time_limit": self.time_limit,
                "work_limit": self.work_limit,
                "known_release_days": self.known_release_days,
                "threads": self.threads,
                **({"horizon_days": self.horizon_days} if self.horizon_days is not None else {}),
                **({"max_wait_days": self.max_wait_days} if self.max_wait_days is not None else {}),
                "warm_start": self.warm_start,
            },
            **({"lookahead": self.lookahead.as_dict()} if "lookahead" in self.policies else {}),
            "equipment": {
                "return_days": self.return_days,
                "delivery": [{"store": d.store, "item": d.item, "per_week": d.per_week} for d in self.deliveries],
            },
        }


def policy_lines(time_limit: float = 2, known_release_days: int = 3) -> list[str]:
    """The ``[policy]`` table of a flow file this package writes (``generate``, the IPACS
    conversion): the optimiser policy plans ``known_release_days + 1`` days a day. Those are
    the days on which a state's capacity differs (releases are known that far ahead; later
    days only repeat what is free today), and only the first is carried out; on ics a 4-day
    plan at 2 s a day matches a 14-day plan at 10 s (benchmarks/README.md)."""
    return [
        "[policy]",
        f"time_limit = {time_limit:g}",
        f"known_release_days = {known_release_days}",
        f"horizon_days = {known_release_days + 1}   # the days a state's capacity changes on; only the first is carried out",
    ]


KEYS = {
    "": {
        "days",
        "runs",
        "seed",
        "policies",
        "bed_day_cost",
        "community_cost",
        "arrivals",
        "length_of_stay",
        "policy",
        "equipment",
        "lookahead",
    },
    "lookahead": {"phantoms", "flat_harm", "capacity_price"},
    "community_cost": {"pathway1", "pathway2", "pathway3"},
    "arrivals": {"notice_days", "weekday_factor", "rate"},
    "arrivals.rate": {"pathway", "site", "per_day"},
    "length_of_stay": {"pathway1", "pathway2", "pathway3"},
    "length_of_stay.pathway": {"distribution", "median", "mean", "days"},
    "policy": {"time_limit", "work_limit", "known_release_days", "threads", "horizon_days", "max_wait_days", "warm_start"},
    "equipment": {"return_days", "delivery"},
    "equipment.delivery": {"store", "item", "per_week"},
}


class _Reader:
    """Reads values out of the TOML tables, adding a problem for each bad one."""

    def __init__(self, file: str, problems: ProblemList):
        self.file, self.problems = file, problems

    def bad(self, key: str, value, message: str) -> None:
        self.problems.add(self.file, None, key, value, message)

    def keys(self, table: dict, allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"; did you mean {close[0]}?" if close else f"; the keys here are {', '.join(sorted(allowed))}"
                self.bad(prefix + key, None, "is not a key of the flow file" + hint)

    def number(self, table: dict, key: str, prefix: str, default, minimum=None, strict=False, whole=False):
        if key not in table:
            return default
        value = table[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and whole:
            ok = float(value).is_integer()
        if ok and minimum is not None:
            ok = value > minimum if strict else value >= minimum
        if not ok:
            kind = "a whole number" if whole else "a number"
            bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
            self.bad(prefix + key, value, f"must be {kind}{bound}")
            return default
        return int(value) if whole else float(value)

    def table(self, table: dict, key: str, prefix: str) -> dict:
        value = table.get(key, {})
        if not isinstance(value, dict):
            self.bad(prefix + key, value, "must be a table")
            return {}
        return value

    def rows(self, table: dict, key: str, prefix: str) -> list[dict]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            self.bad(prefix + key, value, f"must be a list of tables ([[{prefix}{key}]])")
            return []
        return value


def read_flow(path: str | Path, snapshot: Snapshot) -> Flow:
    """Read and check a flow file against the snapshot; InputError lists every problem."""
    path = Path(path)
    problems = ProblemList()
    file = path.name
    if not path.is_file():
        problems.add(
            str(path), None, None, None, "is not a file; give the flow file (--flow FILE) or put flow.toml in the snapshot"
        )
        raise InputError(problems, subject="flow file")
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        problems.add(file, None, None, None, f"is not valid TOML ({error}); fix the syntax")
        raise InputError(problems, subject="flow file") from None
    flow = parse_flow(settings, snapshot, _Reader(file, problems), source=str(path))
    if problems:
        raise InputError(problems, subject="flow file")
    return flow


def parse_flow(settings: dict, snapshot: Snapshot, read: _Reader, source: str = "flow.toml") -> Flow:
    read.keys(settings, KEYS[""], "")
    flow = Flow(source=source)
    days = read.number(settings, "days", "", flow.days, minimum=1, whole=True)
    runs = read.number(settings, "runs", "", flow.runs, minimum=1, whole=True)
    seed = read.number(settings, "seed", "", flow.seed, minimum=0, whole=True)
    bed_day_cost = read.number(settings, "bed_day_cost", "", flow.bed_day_cost, minimum=0)
    policies = settings.get("policies", list(flow.policies))
    if (
        not isinstance(policies, list)
        or not policies
        or any(p not in POLICIES for p in policies)
        or len(set(policies)) < len(policies)
    ):
        read.bad("policies", policies, f"must be a list of distinct policies from {', '.join(POLICIES)}")
        policies = list(flow.policies)
    community = read.table(settings, "community_cost", "")
    read.keys(community, KEYS["community_cost"], "community_cost.")
    community_cost = {
        k: read.number(community, f"pathway{k}", "community_cost.", DEFAULT_COMMUNITY_COST[k], minimum=0) for k in (1, 2, 3)
    }

    arrivals = read.table(settings, "arrivals", "")
    read.keys(arrivals, KEYS["arrivals"], "arrivals.")
    notice = read.number(arrivals, "notice_days", "arrivals.", flow.notice_days, minimum=0, whole=True)
    factor = arrivals.get("weekday_factor", list(flow.weekday_factor))
    if not (isinstance(factor, list) and len(factor) == 7 and all(_non_negative(v) for v in factor)):
        read.bad("arrivals.weekday_factor", factor, "must be 7 numbers >= 0, Monday to Sunday")
        factor = list(flow.weekday_factor)
    rates = []
    sites = set(snapshot.patients["site"])
    for i, row in enumerate(read.rows(arrivals, "rate", "arrivals.")):
        prefix = f"arrivals.rate[{i + 1}]."
        read.keys(row, KEYS["arrivals.rate"], prefix)
        pathway = row.get("pathway")
        if pathway not in (1, 2, 3) or isinstance(pathway, bool):
            read.bad(prefix + "pathway", pathway, "must be 1, 2 or 3")
            continue
        per_day = read.number(row, "per_day", prefix, None, minimum=0)
        site = row.get("site")
        if site is not None and site not in sites:
            read.bad(prefix + "site", site, "is not a site of patients.csv; use one of " + ", ".join(sorted(sites)[:5]))
            continue
        if per_day is None:
            if "per_day" not in row:
                read.bad(prefix + "per_day", None, "is missing; give the mean new patients a day")
            continue
        mine = snapshot.patients[snapshot.patients["pathway"] == pathway]
        if site is not None:
            mine = mine[mine["site"] == site]
        if len(mine) == 0 and per_day > 0:
            where = f" at site {site}" if site is not None else ""
            read.bad(
                prefix + "pathway", pathway, f"has no pathway-{pathway} patient{where} in the snapshot to copy new patients from"
            )
            continue
        rates.append(Rate(int(pathway), per_day, site))

    stays_table = read.table(settings, "length_of_stay", "")
    read.keys(stays_table, KEYS["length_of_stay"], "length_of_stay.")
    stays = dict(DEFAULT_STAYS)
    for k in (1, 2, 3):
        key = f"pathway{k}"
        if key in stays_table:
            stay = _stay(stays_table[key], f"length_of_stay.{key}", read)
            if stay is not None:
                stays[k] = stay

    policy = read.table(settings, "policy", "")
    read.keys(policy, KEYS["policy"], "policy.")
    work_limit = read.number(policy, "work_limit", "policy.", None, minimum=0, whole=True)
    time_limit = read.number(
        policy, "time_limit", "policy.", None if work_limit is not None else flow.time_limit, minimum=0, strict=True
    )
    known = read.number(policy, "known_release_days", "policy.", flow.known_release_days, minimum=0, whole=True)
    threads = read.number(policy, "threads", "policy.", flow.threads, minimum=1, whole=True)
    horizon_days = read.number(policy, "horizon_days", "policy.", None, minimum=1, whole=True)
    max_wait_days = read.number(policy, "max_wait_days", "policy.", None, minimum=1, whole=True)
    warm_start = policy.get("warm_start", flow.warm_start)
    if warm_start not in WARM_STARTS:
        read.bad("policy.warm_start", warm_start, "must be one of " + ", ".join(f'"{w}"' for w in WARM_STARTS))
        warm_start = flow.warm_start

    ahead = read.table(settings, "lookahead", "")
    read.keys(ahead, KEYS["lookahead"], "lookahead.")
    switches = {}
    for key in ("phantoms", "flat_harm"):
        value = ahead.get(key, getattr(Lookahead(), key))
        if not isinstance(value, bool):
            read.bad(f"lookahead.{key}", value, "must be true or false")
            value = getattr(Lookahead(), key)
        switches[key] = value
    price = read.number(ahead, "capacity_price", "lookahead.", Lookahead().capacity_price, minimum=0)

    equipment = read.table(settings, "equipment", "")
    read.keys(equipment, KEYS["equipment"], "equipment.")
    return_days = read.number(equipment, "return_days", "equipment.", flow.return_days, minimum=0, whole=True)
    stores = set(snapshot.localities["equipment_store"]) - {""}
    deliveries = []
    for i, row in enumerate(read.rows(equipment, "delivery", "equipment.")):
        prefix = f"equipment.delivery[{i + 1}]."
        read.keys(row, KEYS["equipment.delivery"], prefix)
        store, item = row.get("store"), row.get("item")
        per_week = read.number(row, "per_week", prefix, None, minimum=0)
        if store not in stores:
            read.bad(prefix + "store", store, "is not an equipment_store of localities.csv")
            continue
        if not isinstance(item, str) or not item:
            read.bad(prefix + "item", item, "must be an item code, e.g. hoist")
            continue
        if per_week is not None:
            deliveries.append(Delivery(store, item, per_week))
    return Flow(
        days=days,
        runs=runs,
        seed=seed,
        policies=tuple(policies),
        bed_day_cost=bed_day_cost,
        community_cost=community_cost,
        notice_days=notice,
        weekday_factor=tuple(float(v) for v in factor),
        rates=tuple(rates),
        stays=stays,
        time_limit=time_limit,
        work_limit=work_limit,
        known_release_days=known,
        threads=threads,
        horizon_days=None if horizon_days is None else int(horizon_days),
        return_days=return_days,
        deliveries=tuple(deliveries),
        max_wait_days=None if max_wait_days is None else int(max_wait_days),
        warm_start=warm_start,
        lookahead=Lookahead(capacity_price=price, **switches),
        source=source,
    )


def _non_negative(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _stay(table, prefix: str, read: _Reader) -> Stay | None:
    if not isinstance(table, dict):
        read.bad(prefix, table, "must be a table, e.g. { median = 14, mean = 18 }")
        return None
    read.keys(table, KEYS["length_of_stay.pathway"], prefix + ".")
    kind = table.get("distribution", "lognormal")
    if kind == "lognormal":
        median = read.number(table, "median", prefix + ".", None, minimum=0, strict=True)
        mean = read.number(table, "mean", prefix + ".", None, minimum=0, strict=True)
        if median is None or mean is None:
            if "median" not in table or "mean" not in table:
                read.bad(prefix, None, "a lognormal stay needs median and mean (days)")
            return None
        if mean < median:
            read.bad(prefix + ".mean", mean, f"must be >= the median ({median:g}): a lognormal's mean is at least its median")
            return None
        return lognormal(median, mean)
    if kind == "exponential":
        mean = read.number(table, "mean", prefix + ".", None, minimum=0, strict=True)
        if mean is None:
            if "mean" not in table:
                read.bad(prefix, None, "an exponential stay needs mean (days)")
            return None
        return exponential(mean)
    if kind == "fixed":
        days = read.number(table, "days", prefix + ".", None, minimum=0, strict=True)
        if days is None:
            if "days" not in table:
                read.bad(prefix, None, "a fixed stay needs days")
            return None
        return fixed(days)
    read.bad(prefix + ".distribution", kind, "must be lognormal, exponential or fixed")
    return None
