"""An independent reading of the contract (shared/spec/PROBLEM.md), for tests only.

Written apart from the model code and importing nothing from ``optimiser``:
plain ``csv``/``tomllib``/``datetime``, one patient at a time. It checks a plan
folder against a snapshot folder (rules 1-8 of section 3) and computes the
section-4 objective. ``brute_force_optimum`` enumerates every plan of a tiny
snapshot with these same rules.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import tomllib
from pathlib import Path

TRUE = {"true", "1", "yes", "y"}
EPS = 1e-7


def _rows(folder: Path, name: str) -> list[dict]:
    path = folder / name
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _flag(value: str, default: bool = False) -> bool:
    return default if value == "" else value.lower() in TRUE


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


class Instance:
    """The snapshot as plain dicts, with the contract's rules as methods."""

    def __init__(self, folder: Path, rules=()):
        folder = Path(folder)
        self.rules = tuple(rules)  # extra rules of a test: rule(instance, plan) -> list of violations
        settings = tomllib.loads((folder / "snapshot.toml").read_text())
        self.date = settings["snapshot_date"]
        self.D = settings.get("horizon_days", 14)
        weights = {
            "wait_growth_days": 7,
            "tail_days": 7,
            "travel_weight": 0.01,
            "preference_penalty": 2.0,
            "max_travel_minutes": 60,
            "interim_weight": 0.25,  # v2, section 6.2
            "move_penalty": 1.0,
        }
        weights.update(settings.get("weights", {}))
        self.w = weights
        self.patients = {row["patient_id"]: row for row in _rows(folder, "patients.csv")}
        self.services = {row["service_id"]: row for row in _rows(folder, "services.csv")}
        self.store = {row["locality_id"]: row.get("equipment_store", "") for row in _rows(folder, "localities.csv")}
        self.coverage: dict[str, set] = {}
        for row in _rows(folder, "coverage.csv"):
            self.coverage.setdefault(row["service_id"], set()).add(row["locality"])
        self.travel = {(row["from_locality"], row["to_locality"]): float(row["minutes"]) for row in _rows(folder, "travel.csv")}
        # v2 (section 6.1): time-of-day bands; capacity rows with a band are that band's
        self.bands = list(settings.get("bands", []))
        self.band_hours: dict[str, dict] = {}
        for row in _rows(folder, "care_bands.csv"):
            self.band_hours.setdefault(row["patient_id"], {})[row["band"]] = float(row["hours"])
        self.capacity: dict[str, list] = {}
        self.band_capacity: dict[tuple, list] = {}
        for row in _rows(folder, "capacity.csv"):
            entry = (max(0, self.day(row["date"])), float(row["amount"]))
            if row.get("band", ""):
                self.band_capacity.setdefault((row["service_id"], row["band"]), []).append(entry)
            else:
                self.capacity.setdefault(row["service_id"], []).append(entry)
        self.stock: dict[tuple, list] = {}
        for row in _rows(folder, "equipment.csv"):
            key = (row["store_id"], row["item"])
            self.stock.setdefault(key, []).append((max(0, self.day(row["date"])), float(row["quantity"])))
        self.pinned = {row["patient_id"]: (row["service_id"], self.day(row["date"])) for row in _rows(folder, "pinned.csv")}
        # v2 (section 6.2): pinned stage; "interim" pins an entry
        self.pinned_stage = {row["patient_id"]: (row.get("stage") or "direct").lower() for row in _rows(folder, "pinned.csv")}

    def interim(self, s) -> bool:
        return _flag(self.services[s].get("interim", "")) and int(self.services[s]["pathway"]) == 2

    def interim_ok(self, p) -> bool:
        return _flag(self.patients[p].get("interim_ok", "")) and int(self.patients[p]["pathway"]) in (1, 3)

    def any_interim(self) -> bool:
        return any(self.interim(s) for s in self.services)

    def day(self, text: str) -> int:
        return (dt.date.fromisoformat(text) - self.date).days

    # --- per-patient facts
    def r(self, p) -> int:
        return self.day(self.patients[p]["ready_date"])

    def e(self, p) -> int:
        row = self.patients[p]
        earliest = self.day(row["earliest_date"]) if row.get("earliest_date") else -(10**9)
        return max(0, self.r(p), earliest)

    def carers(self, p) -> int:
        row = self.patients[p]
        return int(row["carers"]) if row.get("carers") else 1

    def use(self, p) -> float:
        row = self.patients[p]
        if int(row["pathway"]) == 1:
            hours = float(row["care_hours"]) if row.get("care_hours") else sum(self.band_hours.get(p, {}).values())
            return hours * self.carers(p)
        return 1.0

    def band_use(self, p, band) -> float:
        """Section 6.1: hours in the band x carers (pathway 1)."""
        if int(self.patients[p]["pathway"]) != 1:
            return 0.0
        return self.band_hours.get(p, {}).get(band, 0.0) * self.carers(p)

    def has_bands(self, s) -> bool:
        return any(service == s for service, _ in self.band_capacity)

    def all_day_rule(self, s) -> bool:
        """Rule 5 holds for a service with any all-day row, or with no band rows (v1)."""
        return s in self.capacity or not self.has_bands(s)

    def items(self, p) -> list[str]:
        row = self.patients[p]
        return _list(row.get("equipment", "")) if int(row["pathway"]) == 1 else []

    def minutes(self, p, s) -> float | None:
        home, there = self.patients[p]["locality"], self.services[s]["locality"]
        if (home, there) in self.travel:
            return self.travel[(home, there)]
        return 0.0 if home == there else None

    # --- rules 1-4 for one triple; returns the broken rule or None
    def triple_problem(self, p, s, d) -> str | None:
        pr, sr = self.patients[p], self.services[s]
        if int(pr["pathway"]) != int(sr["pathway"]):
            return "rule 1"
        if self.needs_problem(p, s):
            return "rule 2"
        pathway = int(pr["pathway"])
        if pathway == 1 and pr.get("carers") == "2" and not _flag(sr.get("double_handed", "")):
            return "rule 2"
        if pathway == 1:
            covered = self.coverage.get(s, {sr["locality"]})
            if pr["locality"] not in covered:
                return "rule 3"
        elif self.travel_problem(p, s):
            return "rule 3"
        return self.timing_problem(p, s, d)

    def entry_problem(self, p, s, d) -> str | None:
        """Section 6.2: where z[p, s, d] may be 1 (rule 2's needs, bed reach, rule 4's timing)."""
        if not self.interim_ok(p):
            return "not interim_ok"
        if not self.interim(s):
            return "not an interim service"
        return self.needs_problem(p, s) or self.travel_problem(p, s) or self.timing_problem(p, s, d)

    def needs_problem(self, p, s) -> str | None:
        pr, sr = self.patients[p], self.services[s]
        for need in ("dementia", "nursing", "bariatric"):
            if _flag(pr.get(need, "")) and not _flag(sr.get(need, "")):
                return "rule 2"
        return None

    def travel_problem(self, p, s) -> str | None:
        pr = self.patients[p]
        minutes = self.minutes(p, s)
        limit = float(pr["max_travel_minutes"]) if pr.get("max_travel_minutes") else float(self.w["max_travel_minutes"])
        return "rule 3" if minutes is None or minutes > limit + EPS else None

    def timing_problem(self, p, s, d) -> str | None:
        if d < self.e(p) or d >= self.D:
            return "rule 4"
        weekday = (self.date + dt.timedelta(days=d)).weekday()
        if weekday >= 5 and not _flag(self.services[s].get("weekend_admissions", ""), default=True):
            return "rule 4"
        return None

    # --- costs
    def priority(self, p) -> int:
        return int(self.patients[p]["priority"]) if self.patients[p].get("priority") else 1

    def harm(self, p, first_day, last_day) -> float:
        """priority * sum of f(k) for k from first_day - r to last_day - r - 1 (clipped at max(0, -r))."""
        r = self.r(p)
        low = max(max(0, -r), first_day - r)
        return self.priority(p) * sum(1 + k / self.w["wait_growth_days"] for k in range(low, last_day - r))

    def delay(self, p, d) -> float:
        r = self.r(p)
        priority = int(self.patients[p]["priority"]) if self.patients[p].get("priority") else 1
        return priority * sum(1 + k / self.w["wait_growth_days"] for k in range(max(0, -r), d - r))

    def cost(self, p, s, d) -> float:
        return self.delay(p, d) + self.start_terms(p, s)

    def start_terms(self, p, s) -> float:
        """Section 4's travel (pathways 2, 3) and preference terms of a start at s."""
        value = 0.0
        if int(self.patients[p]["pathway"]) != 1:
            value += self.w["travel_weight"] * self.minutes(p, s)
        preferred = _list(self.patients[p].get("preferred_services", ""))
        if preferred and s not in preferred:
            value += self.w["preference_penalty"]
        return value

    def journey_costs(self, p, entry, onward) -> tuple[float, float]:
        """Section 6.2: (the interim row's cost, the onward row's) for an entry (s, d) and an
        onward start (s', d') or None (the interim row then holds the whole cost)."""
        s, d = entry
        head = self.delay(p, d) + self.w["move_penalty"] + self.w["travel_weight"] * self.minutes(p, s)
        end = onward[1] if onward is not None else self.D + self.w["tail_days"]
        waited = self.w["interim_weight"] * self.harm(p, d, end)
        if onward is None:
            return head + waited, 0.0
        return head, waited + self.start_terms(p, onward[0])

    def unplaced_cost(self, p) -> float:
        return self.delay(p, self.D + self.w["tail_days"])

    # --- whole plans: {patient: (service, day)}
    def violations(self, plan: dict, complete: bool = True, interim: dict | None = None) -> list[str]:
        """``plan``: the x starts {patient: (service, day)} (direct or onward); ``interim``:
        the entries z {patient: (service, day)} (v2)."""
        interim = interim or {}
        broken = []
        for where, moves, problem_of in (("interim @", interim, self.entry_problem), ("@", plan, self.triple_problem)):
            for p, (s, d) in moves.items():
                if p not in self.patients or s not in self.services:
                    broken.append(f"unknown {p} or {s}")
                elif problem := problem_of(p, s, d):
                    broken.append(f"{p} {where}{s} day {d}: {problem}")
        for p, (_, d) in interim.items():
            if p in plan and plan[p][1] <= d:
                broken.append(f"{p}: onward start day {plan[p][1]} not after the entry day {d}")
        for s in self.services:
            limit = self.services[s].get("max_admissions_per_day", "")
            for d in range(self.D):
                used = sum(self.use(p) for p, (t, e) in plan.items() if t == s and e <= d)
                used += sum(  # section 6.2: entered by d and not started onward by d
                    1 for p, (t, e) in interim.items() if t == s and e <= d and not (p in plan and plan[p][1] <= d)
                )
                free = sum(a for day, a in self.capacity.get(s, []) if day <= d)
                if self.all_day_rule(s) and used > free + 1e-6:
                    broken.append(f"rule 5 at {s} day {d}: {used} > {free}")
                if int(self.services[s]["pathway"]) == 1 and self.has_bands(s):
                    for band in self.bands:  # rule 5b: no capacity in a band without rows
                        taken = sum(self.band_use(p, band) for p, (t, e) in plan.items() if t == s and e <= d)
                        have = sum(a for day, a in self.band_capacity.get((s, band), []) if day <= d)
                        if taken > have + 1e-6:
                            broken.append(f"rule 5b at {s} {band} day {d}: {taken} > {have}")
                admitted = sum(1 for t, e in plan.values() if t == s and e == d)
                admitted += sum(1 for t, e in interim.values() if t == s and e == d)
                if limit != "" and admitted > int(float(limit)):
                    broken.append(f"rule 6 at {s} day {d}")
        needs: dict[tuple, list] = {}
        for p, (_, d) in plan.items():
            items = self.items(p)
            store = self.store.get(self.patients[p]["locality"], "")
            if items and not store:
                broken.append(f"rule 7: {p} needs equipment but has no store")
            for item in items:
                needs.setdefault((store, item), []).append(d)
        for key, days in needs.items():
            for d in range(self.D):
                taken = sum(1 for day in days if day <= d)
                have = sum(q for day, q in self.stock.get(key, []) if day <= d)
                if taken > have + 1e-9:
                    broken.append(f"rule 7 at {key} day {d}: {taken} > {have}")
        for p, where in self.pinned.items():
            if not complete:
                continue
            if self.pinned_stage.get(p, "direct") == "interim":
                if interim.get(p) != where:
                    broken.append(f"rule 8: {p} not in the interim bed pinned")
            elif plan.get(p) != where or p in interim:
                broken.append(f"rule 8: {p} not placed as pinned")
        for rule in self.rules:
            broken += rule(self, plan)
        return broken

    def objective(self, plan: dict, interim: dict | None = None) -> float:
        interim = interim or {}
        placed = sum(self.cost(p, s, d) for p, (s, d) in plan.items() if p not in interim)
        placed += sum(sum(self.journey_costs(p, entry, plan.get(p))) for p, entry in interim.items())
        left = set(self.patients) - set(plan) - set(interim)
        return placed + sum(self.unplaced_cost(p) for p in left)


def read_plan(plan_folder: Path, instance: Instance) -> dict:
    """The x starts of a plan folder (direct and onward rows)."""
    return {
        row["patient_id"]: (row["service_id"], instance.day(row["start_date"]))
        for row in _rows(Path(plan_folder), "plan.csv")
        if (row.get("stage") or "direct") != "interim"
    }


def read_interim(plan_folder: Path, instance: Instance) -> dict:
    """The interim entries of a plan folder (v2: rows with stage ``interim``)."""
    return {
        row["patient_id"]: (row["service_id"], instance.day(row["start_date"]))
        for row in _rows(Path(plan_folder), "plan.csv")
        if row.get("stage") == "interim"
    }


def check_plan_folder(snapshot_folder: Path, plan_folder: Path, rules=()) -> tuple[list[str], float]:
    """(violations, objective) of a written plan; also checks the files' columns and reported costs.
    ``rules``: extra rules of a test (see ``Instance``)."""
    instance = Instance(snapshot_folder, rules)
    plan_rows = _rows(Path(plan_folder), "plan.csv")
    plan = read_plan(plan_folder, instance)
    interim = read_interim(plan_folder, instance)
    broken = instance.violations(plan, interim=interim)
    if len(plan) + len(interim) != len(plan_rows):
        broken.append("a patient is placed twice")
    journeys = instance.any_interim()
    if plan_rows and journeys != ("stage" in plan_rows[0]):
        broken.append("plan.csv must have a stage column exactly when a service is interim")
    for row in plan_rows:
        p, s, d = row["patient_id"], row["service_id"], instance.day(row["start_date"])
        stage = row.get("stage") or "direct"
        if int(row["wait_days"]) != d - instance.r(p):
            broken.append(f"{p}: wait_days {row['wait_days']} != {d - instance.r(p)}")
        if stage == "direct":
            expected = instance.cost(p, s, d)
            if p in interim:
                broken.append(f"{p}: a direct row beside an interim row")
        elif stage == "interim":
            expected = instance.journey_costs(p, (s, d), plan.get(p))[0]
        elif stage == "onward":
            expected = instance.journey_costs(p, interim[p], (s, d))[1] if p in interim else math.nan
            if p not in interim:
                broken.append(f"{p}: an onward row without an interim row")
        else:
            broken.append(f"{p}: stage {stage!r} is not direct, interim or onward")
            continue
        if not math.isclose(float(row["cost"]), expected, rel_tol=1e-9, abs_tol=1e-9):
            broken.append(f"{p}: {stage} cost {row['cost']} != {expected}")
    unplaced = {row["patient_id"] for row in _rows(Path(plan_folder), "unplaced.csv")}
    if unplaced != set(instance.patients) - set(plan) - set(interim):
        broken.append("unplaced.csv does not list exactly the patients not in plan.csv")
    return broken, instance.objective(plan, interim)


def brute_force_optimum(folder: Path, extra=None, rules=()) -> float:
    """The optimum of a tiny snapshot by exhaustive search (depth-first, exact pruning).

    ``extra(p, choice)``, if given, is added to each patient's price (choice
    is (service, day) or None for unplaced): an optional objective term.
    ``rules``: extra rules of a test (see ``Instance``)."""
    instance = Instance(folder, rules)
    patients = sorted(instance.patients)
    options = {}
    for p in patients:
        choices = [
            (s, d) for s in sorted(instance.services) for d in range(instance.D) if instance.triple_problem(p, s, d) is None
        ]
        entries = [  # section 6.2: ("interim", entry, onward start or None)
            (s, d) for s in sorted(instance.services) for d in range(instance.D) if instance.entry_problem(p, s, d) is None
        ]
        journeys = [("interim", entry, None) for entry in entries]
        journeys += [("interim", entry, start) for entry in entries for start in choices if start[1] > entry[1]]
        if p in instance.pinned:
            if instance.pinned_stage.get(p) == "interim":
                choices = [j for j in journeys if j[1] == instance.pinned[p]]
            else:
                choices = [instance.pinned[p]]
        else:
            choices = choices + journeys + [None]
        options[p] = choices

    def price(p, choice):
        if choice is None:
            base = instance.unplaced_cost(p)
        elif choice[0] == "interim":
            base = sum(instance.journey_costs(p, choice[1], choice[2]))
        else:
            base = instance.cost(p, *choice)
        return base + (extra(p, choice) if extra is not None else 0.0)

    for p in patients:
        options[p].sort(key=lambda choice: price(p, choice))
    floor = [min(price(p, c) for c in options[p]) for p in patients]
    rest = [sum(floor[i:]) for i in range(len(patients) + 1)]
    best = [math.inf]

    def search(index: int, plan: dict, spent: float) -> None:
        if spent + rest[index] >= best[0] - 1e-9:
            return  # cannot beat the best plan found
        if index == len(patients):
            best[0] = spent
            return
        p = patients[index]
        for choice in options[p]:
            if choice is not None and choice[0] == "interim":
                interim[p] = choice[1]
                if choice[2] is not None:
                    plan[p] = choice[2]
            elif choice is not None:
                plan[p] = choice
            if choice is not None and instance.violations(plan, complete=False, interim=interim):
                plan.pop(p, None)  # adding a placement only breaks more rules
                interim.pop(p, None)
                continue
            search(index + 1, plan, spent + price(p, choice))
            plan.pop(p, None)
            interim.pop(p, None)

    interim: dict = {}
    search(0, {}, 0.0)
    return best[0]
