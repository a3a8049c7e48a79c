"""The perfect-information bound (optimiser.simulate.bound) against an independent brute force.

The brute force reads the rules from the contract through ``checker.Instance`` (written apart
from the model: needs, carers, coverage, travel), and the run's draws (arrivals, stays,
day-0 occupants, places) from the simulation; it enumerates every start (service, day) or
none for every patient of a tiny run, keeps the schedules that respect places, admission
limits, weekends and equipment day by day, and takes the fewest delayed acute bed-days,
counted as ``daily.csv`` counts them. The MILP bound must equal it, the LP must not exceed
it, and dropping one of the bound's rule families must be caught on some run. Over random
flows (hypothesis), the bound is never above any policy's delayed bed-days.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from checker import Instance, _flag
from helpers import random_tiny_interim_snapshot, random_tiny_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimiser import load_snapshot
from optimiser.simulate import engine
from optimiser.simulate.bound import RULES, BoundSettings, perfect_information_bound
from optimiser.simulate.engine import draw_run, places_of, simulate_run
from optimiser.simulate.flow import read_flow
from optimiser.simulate.runner import run_seeds

TOL = 1e-7
DAYS = 4


def tiny_flow(folder: Path, days: int = DAYS, per_day: float = 0.6, stay: str = "1.5", return_days: int = 1) -> Path:
    """A flow of a few newcomers a pathway (those the snapshot has patients of) over ``days``."""
    snapshot = load_snapshot(folder)
    rates = "".join(f"[[arrivals.rate]]\npathway = {k}\nper_day = {per_day}\n" for k in sorted(set(snapshot.patients["pathway"])))
    stays = "\n".join(
        f'pathway{k} = {{ distribution = "lognormal", median = {stay}, mean = {float(stay) * 1.3} }}' for k in (1, 2, 3)
    )
    (Path(folder) / "flow.toml").write_text(
        f'days = {days}\nruns = 3\nseed = 3\npolicies = ["fifo", "optimiser"]\n[arrivals]\nnotice_days = 1\n{rates}'
        f"[length_of_stay]\n{stays}\n[policy]\ntime_limit = 5\n[equipment]\nreturn_days = {return_days}\n"
    )
    return folder


def with_places(folder: Path, seed: int) -> Path:
    """Give some services more places than they have free on day 0, so the runs start with occupants."""
    import csv

    path = Path(folder) / "services.csv"
    rows = list(csv.DictReader(open(path, newline="")))
    snapshot = load_snapshot(folder)
    _, free = places_of(snapshot)
    position = {sid: i for i, sid in enumerate(snapshot.services["service_id"])}
    rng = np.random.default_rng(seed)
    for row in rows:
        extra = int(rng.integers(0, 3))
        row["places"] = f"{free[position[row['service_id']]] + extra:g}"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def brute_force(folder: Path, snapshot, flow, draws) -> int:
    """The fewest delayed acute bed-days of any schedule of starts of the run (module doc)."""
    instance = Instance(folder)
    horizon = flow.days
    patients = draws.patients
    ids = snapshot.patients["patient_id"].to_numpy()
    services = list(snapshot.services["service_id"])
    places, _ = places_of(snapshot)
    occupants = draws.occupants
    load = np.zeros((len(services), horizon))
    for s, use, end in zip(occupants["service"], occupants["use"], occupants["end_day"]):
        load[int(s), : min(int(end), horizon)] += float(use)
    limit = [instance.services[s].get("max_admissions_per_day", "") for s in services]
    limit = [float(v) if v else math.inf for v in limit]
    stock: dict[tuple, np.ndarray] = {}
    for row in _rows(folder, "equipment.csv"):  # units in store from their date on
        units = stock.setdefault((row["store_id"], row["item"]), np.zeros(horizon))
        units[max(instance.day(row["date"]), 0) :] += float(row["quantity"])
    options, counted = [], []
    for p in range(len(patients)):
        template = ids[int(patients["template"].iat[p])]
        ready = int(patients["ready_day"].iat[p])
        earliest = patients["earliest_date"].iat[p]
        earliest = -(10**9) if pd.isna(earliest) else (earliest.date() - snapshot.snapshot_date).days
        available = max(0, ready, earliest)
        counted.append((max(ready, 0), available))
        items = instance.items(template)
        store = instance.store.get(instance.patients[template]["locality"], "")
        mine = []
        for s, sid in enumerate(services):
            if instance.triple_problem(template, sid, instance.e(template)) not in (None, "rule 4"):
                continue  # rules 1-3 (pathway, needs and carers, coverage and travel)
            if items and not store:
                continue
            for t in range(available, horizon):
                weekday = (snapshot.snapshot_date + dt.timedelta(days=t)).weekday()
                if weekday >= 5 and not _flag(instance.services[sid].get("weekend_admissions", ""), default=True):
                    continue
                mine.append((s, t))
        stay = int(math.ceil(patients["stay"].iat[p]))
        options.append((mine, instance.use(template), stay, [(store, item) for item in items]))
    best = [math.inf]
    admitted = np.zeros((len(services), horizon))

    def delayed(p: int, start: int) -> int:
        counted_from, _ = counted[p]
        return max(min(start, horizon) - counted_from, 0) if counted_from < horizon else 0

    def search(p: int, so_far: int) -> None:
        if so_far >= best[0]:
            return
        if p == len(options):
            best[0] = so_far
            return
        mine, use, stay, goods = options[p]
        for s, t in mine:
            end = min(t + stay, horizon)
            if admitted[s, t] + 1 > limit[s] + TOL or np.any(load[s, t:end] + use > places[s] + TOL):
                continue
            back = min(t + stay + flow.return_days, horizon)
            if any(stock.get(g, np.zeros(horizon))[t:].min() < 1 - TOL for g in goods):
                continue
            load[s, t:end] += use
            admitted[s, t] += 1
            for g in goods:
                stock[g][t:back] -= 1
            search(p + 1, so_far + delayed(p, t))
            load[s, t:end] -= use
            admitted[s, t] -= 1
            for g in goods:
                stock[g][t:back] += 1
        search(p + 1, so_far + delayed(p, horizon))

    search(0, 0)
    return int(best[0])


def _rows(folder: Path, name: str) -> list[dict]:
    import csv

    path = Path(folder) / name
    return list(csv.DictReader(open(path, newline=""))) if path.exists() else []


def tiny_run(tmp_path: Path, seed: int, run: int = 0, per_day: float = 1.0):
    folder = tiny_flow(
        with_places(random_tiny_snapshot(tmp_path / f"s{seed}", seed, patients=5, services=3), seed), per_day=per_day
    )
    snapshot = load_snapshot(folder)
    flow = read_flow(folder / "flow.toml", snapshot)
    draws = draw_run(snapshot, flow, run_seeds(flow)[run])
    return folder, snapshot, flow, draws


SEEDS = range(24)


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Tiny runs small enough to enumerate (at most 9 patients), with the brute force's optimum."""
    found = []
    base = tmp_path_factory.mktemp("bound")
    for seed in SEEDS:
        folder, snapshot, flow, draws = tiny_run(base, seed)
        if len(draws.patients) > 9:
            continue
        found.append((seed, folder, snapshot, flow, draws, brute_force(folder, snapshot, flow, draws)))
    assert len(found) >= 18
    return found


def test_the_mip_bound_equals_the_brute_force_and_the_lp_is_below(tiny_runs):
    for seed, _, snapshot, flow, draws, best in tiny_runs:
        mip = perfect_information_bound(snapshot, flow, draws, 0, BoundSettings(method="mip", time_limit=60))
        lp = perfect_information_bound(snapshot, flow, draws, 0, BoundSettings(method="lp"))
        assert mip.optimal, seed
        assert mip.delayed_bed_days == best, (seed, mip.value, best)
        assert lp.value <= best + 1e-6, (seed, lp.value, best)
        assert sum(mip.pathways.values()) == pytest.approx(mip.value)


@pytest.mark.parametrize("dropped", [rule for rule in RULES if rule != "bridge"])
def test_dropping_a_rule_family_is_caught(tiny_runs, dropped):
    """Each rule family binds on some tiny run: without it the bound falls below the brute force."""
    caught = []
    for seed, _, snapshot, flow, draws, best in tiny_runs:
        rules = tuple(rule for rule in RULES if rule != dropped)
        loose = perfect_information_bound(snapshot, flow, draws, 0, BoundSettings(method="mip", time_limit=60, rules=rules))
        assert loose.delayed_bed_days <= best, seed  # a dropped rule only relaxes
        caught.append(loose.delayed_bed_days < best)
    assert any(caught), f"no tiny run needs the {dropped} rows"


def _policy_totals(snapshot, flow, seed) -> dict[str, int]:
    return {
        policy: int(simulate_run(snapshot, flow, policy, 0, seed)["daily"]["delayed_bed_days"].sum())
        for policy in ("fifo", "optimiser")
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), interim=st.booleans(), per_day=st.sampled_from([0.5, 1.0, 2.0]))
def test_the_bound_is_never_above_any_policy(tmp_path_factory, seed, interim, per_day):
    folder = tmp_path_factory.mktemp("flow")
    if interim:
        random_tiny_interim_snapshot(folder, seed, patients=4, horizon=4)
    else:
        with_places(random_tiny_snapshot(folder, seed, patients=5, services=3), seed)
    tiny_flow(folder, days=6, per_day=per_day)
    snapshot = load_snapshot(folder)
    flow = read_flow(folder / "flow.toml", snapshot)
    run_seed = run_seeds(flow)[0]
    bound = perfect_information_bound(snapshot, flow, engine.draw_run(snapshot, flow, run_seed), 0)
    for policy, total in _policy_totals(snapshot, flow, run_seed).items():
        assert bound.value <= total + 1e-6, (seed, interim, policy, bound.value, total)


def test_simulate_with_the_bound_writes_it_beside_each_policy(tmp_path):
    """``simulate --bound``: bound.csv per run, summary.json's bound row (recomputed here from
    daily.csv and bound.csv), the human summary and the report."""
    import json

    from click.testing import CliRunner

    from optimiser.cli import main

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "sim"
    args = ["simulate", str(root / "instances" / "demo"), "--out", str(out), "--days", "6", "--runs", "3", "--workers", "0"]
    result = CliRunner().invoke(main, [*args, "--bound", "--no-history"])
    assert result.exit_code == 0, result.output
    assert "of the fifo-to-bound gap" in result.output
    summary = json.loads((out / "summary.json").read_text())
    floors = pd.read_csv(out / "bound.csv")
    daily = pd.read_csv(out / "daily.csv")
    totals = daily.groupby(["policy", "run"])["delayed_bed_days"].sum()
    assert list(floors["run"]) == [0, 1, 2]
    for policy in ("fifo", "optimiser"):
        assert (totals.loc[policy].to_numpy() >= floors["delayed_bed_days"].to_numpy()).all()
    fifo, ours, floor = (totals.loc["fifo"].to_numpy(), totals.loc["optimiser"].to_numpy(), floors["delayed_bed_days"].to_numpy())
    closed = summary["bound"]["policies"]["optimiser"]["gap_closed"]
    assert closed["mean"] == pytest.approx((fifo - ours).mean() / (fifo - floor).mean())
    assert closed["low"] <= closed["mean"] <= closed["high"]
    assert summary["bound"]["delayed_bed_days"]["mean"] == pytest.approx(floor.mean())
    assert summary["bound"]["policies"]["fifo"]["runs_below_bound"] == 0
    assert "fifo-to-bound gap closed" in (out / "report.html").read_text()
