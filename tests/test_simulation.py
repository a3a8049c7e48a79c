"""The flow simulation against closed forms, conservation, the independent checker on each
day's decision, common random numbers, determinism across Dask workers, and its input errors.

Kept small: tiny snapshots and a few days; long runs are in benchmarks/.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import checked_decision, day, write_snapshot
from scipy import stats

from optimiser import load_snapshot
from optimiser.cli import main
from optimiser.simulate import simulate
from optimiser.simulate.engine import simulate_run
from optimiser.simulate.flow import read_flow
from optimiser.simulate.runner import run_seeds

ROOT = Path(__file__).resolve().parent.parent
LAMBDA = 3.0  # arrivals a day, each pathway
STAYS = {
    1: ("lognormal", {"median": 2.0, "mean": 2.6}),
    2: ("exponential", {"mean": 2.5}),
    3: ("fixed", {"days": 2.5}),
}
OCCUPANTS = 12  # day-0 occupants of each service of locality B (locality A's start empty)
RUNS = 200


def unlimited_snapshot(folder: Path) -> Path:
    """Two localities, each with one service a pathway with room for everyone (so first come
    first served places each patient on the ready day: an infinite-server queue) and one day-0
    patient a pathway. Services S1-S3 (locality A) start empty; T1-T3 (locality B) start with
    OCCUPANTS occupants. A patient reaches only its own locality's services, and each site has
    its own arrivals, so one simulation holds both queues side by side."""
    patients, services, capacity = [], [], []
    for locality, prefix, occupants in (("A", "S", 0), ("B", "T", OCCUPANTS)):
        for k in (1, 2, 3):
            patients.append(
                {
                    "patient_id": f"P{k}{locality}",
                    "site": f"H{locality}",
                    "locality": locality,
                    "pathway": k,
                    "ready_date": day(0),
                    "care_hours": 1 if k == 1 else "",
                }
            )
            services.append({"service_id": f"{prefix}{k}", "pathway": k, "locality": locality, "places": 1000 + occupants})
            capacity.append({"service_id": f"{prefix}{k}", "date": day(0), "amount": 1000})
    folder = write_snapshot(folder, patients, services, capacity, horizon=4)
    stays = "\n".join(
        f'pathway{k} = {{ distribution = "{kind}", ' + ", ".join(f"{key} = {value}" for key, value in values.items()) + " }"
        for k, (kind, values) in STAYS.items()
    )
    rates = "".join(
        f'[[arrivals.rate]]\npathway = {k}\nsite = "H{locality}"\nper_day = {LAMBDA}\n' for k in (1, 2, 3) for locality in "AB"
    )
    (folder / "flow.toml").write_text(
        f'days = 4\nruns = {RUNS}\nseed = 7\npolicies = ["fifo"]\n[arrivals]\nnotice_days = 1\n{rates}[length_of_stay]\n{stays}\n'
    )
    return folder


def survival(k: int, j: np.ndarray) -> np.ndarray:
    """P(L > j) for the pathway's stay, written from the distributions (not the package)."""
    kind, values = STAYS[k]
    j = np.asarray(j, dtype=float)
    if kind == "lognormal":
        mu, sigma = math.log(values["median"]), math.sqrt(2 * math.log(values["mean"] / values["median"]))
        return np.where(j <= 0, 1.0, stats.norm.sf((np.log(np.maximum(j, 1e-300)) - mu) / sigma))
    if kind == "exponential":
        return np.exp(-np.maximum(j, 0) / values["mean"])
    return (values["days"] > j).astype(float)


def residual_survival(k: int, t: float) -> float:
    """P(R > t) = (1 / E[L]) * integral_t^inf P(L > v) dv, in closed form."""
    kind, values = STAYS[k]
    if kind == "lognormal":
        mu, sigma = math.log(values["median"]), math.sqrt(2 * math.log(values["mean"] / values["median"]))
        if t <= 0:
            return 1.0
        d1 = (mu + sigma**2 - math.log(t)) / sigma
        return stats.norm.cdf(d1) - t / values["mean"] * stats.norm.cdf(d1 - sigma)
    if kind == "exponential":
        return math.exp(-t / values["mean"])
    return max(0.0, 1 - t / values["days"])


def expected_occupied(k: int, t: int, occupants: int) -> float:
    """Infinite servers: the day-0 patient placed on day 0, lambda newcomers placed each day
    from day 1 (ready one day after arriving), each holding 1 while its stay lasts."""
    placed = np.array([1.0] + [LAMBDA] * t)  # placements on days 0..t
    held = survival(k, t - np.arange(t + 1))  # a place taken on day d is held at the end of day t iff L > t - d
    return float(placed @ held + occupants * residual_survival(k, t))


@pytest.fixture(scope="module")
def infinite_server(tmp_path_factory):
    folder = unlimited_snapshot(tmp_path_factory.mktemp("unlimited"))
    return simulate(folder, workers=0, progress=False)  # in process: the workers are tested apart


def occupied_by_locality(result, k: int) -> pd.DataFrame:
    """Places in use at the end of each day of each run on pathway k, by locality: A's counted
    from patients.csv (a patient placed on day d holds its place on days d .. d + stay_days - 1;
    no occupants there), B's the rest of daily.csv's ``occupied`` (B's patients and occupants)."""
    days = np.arange(result.flow.days)
    placed = result.patients[(result.patients["service_id"] == f"S{k}")]
    start = placed["placed_day"].to_numpy(dtype=int)[:, None]
    held = (start <= days) & (days < start + placed["stay_days"].to_numpy(dtype=int)[:, None])
    a = pd.DataFrame(held, columns=days).groupby(placed["run"].to_numpy()).sum()
    a = a.reindex(range(result.flow.runs), fill_value=0).stack().rename("A")
    total = result.daily[result.daily["pathway"] == k].set_index(["run", "day"])["occupied"]
    frame = pd.concat([a.rename_axis(["run", "day"]), total], axis=1)
    return frame.assign(B=frame["occupied"] - frame["A"]).reset_index()


@pytest.mark.parametrize("locality, occupants", [("A", 0), ("B", OCCUPANTS)], ids=["no occupants", "with day-0 occupants"])
def test_mean_occupancy_matches_the_infinite_server_formula(infinite_server, locality, occupants):
    result = infinite_server
    assert (result.daily["waiting"] == 0).all()  # nobody waits when there is room for all
    unplaced = result.patients[result.patients["placed_day"].isna()]
    assert (unplaced["ready_day"] >= result.flow.days).all()  # only those not ready by the last day
    for k in (1, 2, 3):
        occupied = occupied_by_locality(result, k)
        for t, runs in occupied.groupby("day")[locality]:
            expected = expected_occupied(k, int(t), occupants)
            error = runs.std(ddof=1) / math.sqrt(len(runs))
            assert len(runs) == RUNS and (error > 0 or t == 0)  # day 0 without occupants: exactly the day-0 patient
            assert abs(runs.mean() - expected) <= 4 * error + 1e-12, (k, t, runs.mean(), expected, error)


def test_littles_law_once_fixed_stays_are_in_steady_state(infinite_server):
    """Fixed stays of 2.5 days hold a place 3 days: from day 3 on (day-0 occupants gone),
    places in use = arrival rate x days held in each locality, and waiting = rate x wait = 0."""
    occupied = occupied_by_locality(infinite_server, 3)
    steady = occupied[occupied["day"] >= 3]
    held_days = math.ceil(STAYS[3][1]["days"])
    for locality in "AB":
        error = steady[locality].std(ddof=1) / math.sqrt(len(steady))
        assert abs(steady[locality].mean() - LAMBDA * held_days) <= 4 * error
    assert infinite_server.daily.loc[infinite_server.daily["pathway"] == 3, "waiting"].sum() == 0


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """The demo with arrivals and tight places: both policies, 2 runs of 5 days, here in process,
    each day's state and plan kept."""
    folder = tmp_path_factory.mktemp("demo")
    snapshot = load_snapshot(ROOT / "instances" / "demo")
    (folder / "flow.toml").write_text(
        "days = 5\nruns = 2\nseed = 3\n[[arrivals.rate]]\npathway = 1\nper_day = 4\n[[arrivals.rate]]\npathway = 3\nper_day = 2\n"
        "[policy]\nwork_limit = 20\n"
    )
    flow = read_flow(folder / "flow.toml", snapshot)
    seeds = run_seeds(flow)
    decisions = []
    results = {}
    for policy in flow.policies:
        for run in range(flow.runs):

            def keep(t, state, formulation, result, policy=policy, run=run):
                decisions.append((policy, run, t, state, formulation, result))

            results[policy, run] = simulate_run(snapshot, flow, policy, run, seeds[run], observer=keep)
    return snapshot, flow, results, decisions


def test_every_days_decision_passes_the_independent_checker(demo_runs, tmp_path):
    _, _, _, decisions = demo_runs
    checked = 0
    for i, (_, _, _, state, formulation, result) in enumerate(decisions[:: max(1, len(decisions) // 8)]):
        violations, objective, planned = checked_decision(state, formulation, result, tmp_path / f"day{i}")
        assert violations == []
        assert math.isclose(objective, planned, rel_tol=1e-9, abs_tol=1e-9)
        checked += 1
    assert checked >= 6


def test_conservation_and_places_never_overfull(demo_runs):
    snapshot, flow, results, _ = demo_runs
    for result in results.values():
        daily, patients = result["daily"], result["patients"]
        last = daily[daily["day"] == flow.days - 1]
        initial = len(snapshot.patients)
        arrived = int(daily["arrived"].sum())
        placed = int(patients["placed_day"].notna().sum())
        assert initial + arrived == placed + int(last["waiting"].sum()) + int(last["known"].sum())
        assert patients["patient_id"].is_unique  # nobody counted, nor placed, twice
        waits = patients["wait_days"].dropna()
        assert (waits >= 0).all()
        done = patients[patients["placed_day"].notna()]
        assert (done["wait_days"] == done["placed_day"] - done["ready_day"]).all()
        assert (daily["occupied"] <= daily["places"] + 1e-9).all()
        assert (daily["delayed_bed_days"] == daily["waiting"]).all()


def test_both_policies_see_the_same_arrivals_patients_and_stays(demo_runs):
    _, flow, results, _ = demo_runs
    for run in range(flow.runs):
        first, second = results["optimiser", run], results["fifo", run]
        columns = ["day", "pathway", "arrived"]
        assert first["daily"][columns].equals(second["daily"][columns])
        a, b = first["patients"].set_index("patient_id"), second["patients"].set_index("patient_id")
        assert a.index.equals(b.index) and a["ready_day"].equals(b["ready_day"]) and a["pathway"].equals(b["pathway"])
        both = a["stay_days"].notna() & b["stay_days"].notna()
        assert both.any() and (a.loc[both, "stay_days"] == b.loc[both, "stay_days"]).all()
    assert not results["optimiser", 0]["patients"]["patient_id"].equals(results["optimiser", 1]["patients"]["patient_id"])


def test_same_seed_same_files_for_one_two_and_four_workers(tmp_path):
    folder = ROOT / "instances" / "demo"
    flow = tmp_path / "flow.toml"
    flow.write_text("days = 3\nruns = 2\nseed = 5\n[[arrivals.rate]]\npathway = 1\nper_day = 3\n[policy]\nwork_limit = 5\n")
    outputs = []
    for workers in (1, 2, 4):
        result = simulate(folder, flow, workers=workers, progress=False)
        result.write(tmp_path / f"out{workers}")
        outputs.append(tmp_path / f"out{workers}")
    for name in ("daily.csv", "patients.csv"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes() == (outputs[2] / name).read_bytes()
    report = (outputs[0] / "report.html").read_text()
    assert "<svg" in report and "<script" not in report and "http" not in report.replace("http://www.w3.org", "")


def test_a_small_policy_comparison_on_the_demo(demo_runs):
    """The optimiser policy leaves no more delayed bed-days than first come first served here,
    run by run (common random numbers make the comparison paired)."""
    _, flow, results, _ = demo_runs
    for run in range(flow.runs):
        ours = results["optimiser", run]["daily"]["delayed_bed_days"].sum()
        fifo = results["fifo", run]["daily"]["delayed_bed_days"].sum()
        assert ours <= fifo


def test_a_flow_file_error_exits_2_naming_file_key_and_value(tmp_path):
    flow = tmp_path / "flow.toml"
    flow.write_text('dayz = 3\nruns = 0\n[arrivals]\n[[arrivals.rate]]\npathway = 1\nsite = "NOPE"\nper_day = 2\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", str(ROOT / "instances" / "demo"), "--flow", str(flow), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "The flow file has 3 problems; nothing was written."
    assert "flow.toml, key dayz: is not a key of the flow file; did you mean days?" in result.stderr
    assert "flow.toml, key runs = '0': must be a whole number >= 1" in result.stderr
    assert "flow.toml, key arrivals.rate[1].site = 'NOPE': is not a site of patients.csv" in result.stderr
    assert not out.exists() and "Traceback" not in result.output


def test_the_optimiser_policy_may_plan_over_a_shorter_horizon(tmp_path):
    """policy.horizon_days: the optimiser policy's daily state spans that many days; first come
    first served keeps the snapshot's; a bad value is an input error naming the key; the
    committed flow files (as ``generate`` writes them) ask for known_release_days + 1."""
    from optimiser.data.problems import InputError
    from optimiser.simulate.engine import Run, draw_run

    snapshot = load_snapshot(ROOT / "instances" / "demo")
    flow_file = tmp_path / "flow.toml"
    flow_file.write_text("days = 2\nruns = 1\n[policy]\nhorizon_days = 4\n")
    flow = read_flow(flow_file, snapshot)
    draws = draw_run(snapshot, flow, run_seeds(flow)[0])
    assert Run(snapshot, flow, draws, "optimiser", 0).state(0).horizon == 4 < snapshot.horizon
    assert Run(snapshot, flow, draws, "fifo", 0).state(0).horizon == snapshot.horizon
    flow_file.write_text("[policy]\nhorizon_days = 0\n")
    with pytest.raises(InputError, match="policy.horizon_days"):
        read_flow(flow_file, snapshot)
    for name in ("demo", "ics"):  # the flow files this package writes plan up to the last known release
        written = read_flow(ROOT / "instances" / name / "flow.toml", snapshot)
        assert written.horizon_days == written.known_release_days + 1 == 4


def test_places_below_the_free_capacity_are_an_input_error(tmp_path):
    folder = unlimited_snapshot(tmp_path / "s")
    services = pd.read_csv(folder / "services.csv", dtype=str)
    services.loc[0, "places"] = "5"
    services.to_csv(folder / "services.csv", index=False)
    result = CliRunner().invoke(main, ["simulate", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "services.csv line 2, column places = '5': is less than the 1000 free on day 0" in result.stderr


def test_a_dask_scheduler_started_apart_gives_the_same_results(tmp_path):
    """`dask scheduler` and `dask worker` started as their own processes, as the docs say."""
    import shutil
    import socket
    import subprocess
    import time

    dask = shutil.which("dask")
    if dask is None:
        pytest.skip("the `dask` command (package distributed) is not on PATH")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([dask, "scheduler", "--port", str(port), "--no-dashboard"], stderr=subprocess.DEVNULL)
    worker = None
    try:
        worker = subprocess.Popen(
            [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"], stderr=subprocess.DEVNULL
        )
        flow = tmp_path / "flow.toml"
        flow.write_text("days = 3\nruns = 2\nseed = 9\n[[arrivals.rate]]\npathway = 3\nper_day = 2\n[policy]\nwork_limit = 5\n")
        folder = ROOT / "instances" / "demo"
        deadline = time.time() + 60
        while True:
            try:
                remote = simulate(folder, flow, scheduler=address, progress=False)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        here = simulate(folder, flow, workers=0, progress=False)
        assert remote.daily.equals(here.daily) and remote.patients.equals(here.patients)
        # the sweep command through the same scheduler: the same table as run here
        tables = []
        for where in (["--scheduler", address], ["--workers", "0"]):
            out = tmp_path / f"sweep{len(tables)}"
            args = ["--no-history", "sweep", str(folder), "--flow", str(flow), "--vary", "pathway3=1:2:1", "--out", str(out)]
            result = CliRunner().invoke(main, args + where)
            assert result.exit_code == 0, result.output
            tables.append((out / "sweep.csv").read_bytes())
        assert tables[0] == tables[1] and tables[0].count(b"\n") == 1 + 2 * 2  # header, 2 points x 2 policies
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


def test_a_sweep_costs_each_point_and_marks_the_cheapest(tmp_path):
    """fifo on a tight tiny system: more places, no more delays (same runs at each point); the
    costs add up from the daily table's figures; one cheapest point."""
    from optimiser.simulate.flow import read_flow
    from optimiser.simulate.sweep import sweep

    folder = unlimited_snapshot(tmp_path / "s")
    capacity = pd.read_csv(folder / "capacity.csv", dtype=str)
    capacity["amount"] = "2"
    capacity.to_csv(folder / "capacity.csv", index=False)
    services = pd.read_csv(folder / "services.csv", dtype=str)
    services["places"] = "2"
    services.to_csv(folder / "services.csv", index=False)
    snapshot = load_snapshot(folder)
    flow = read_flow(folder / "flow.toml", snapshot).with_options(runs=3, days=4)
    table = sweep(snapshot, flow, {3: [1.0, 2.0, 4.0]}, workers=0, progress=False)
    assert list(table["pathway3_factor"]) == [1.0, 2.0, 4.0]
    assert list(table["pathway3_places"]) == [4.0, 8.0, 16.0]  # both localities' pathway-3 services, 2 places each
    assert (
        table["delayed_bed_days"].is_monotonic_decreasing
        and table["delayed_bed_days"].iloc[0] > table["delayed_bed_days"].iloc[-1]
    )
    community = sum(table[f"pathway{k}_place_days"] * flow.community_cost[k] for k in (1, 2, 3))
    assert np.allclose(table["total_cost"], table["delayed_bed_days"] * flow.bed_day_cost + community)
    assert table["cheapest"].sum() == 1 and table.loc[table["cheapest"], "total_cost"].iat[0] == table["total_cost"].min()


def test_a_bad_vary_is_an_input_error(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["sweep", str(ROOT / "instances" / "demo"), "--vary", "pathway4=1:2:0.5", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "--vary = 'pathway4=1:2:0.5': write it as pathwayK=START:STOP:STEP" in result.stderr and not out.exists()


CHROMIUM = __import__("shutil").which("chromium") or __import__("shutil").which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed: the simulation report is not rendered in a browser")
def test_the_simulation_report_renders_in_headless_chromium(infinite_server, tmp_path):
    import subprocess

    result = infinite_server
    result.write(tmp_path / "sim")
    shot = tmp_path / "report.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
    flags += [
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,2400",
    ]
    subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={shot}", (tmp_path / "sim" / "report.html").as_uri()], capture_output=True, timeout=120
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 30_000


@pytest.mark.parametrize("signal_name", ["SIGTERM"])  # SIGINT takes the same path (the allocate test sends both)
def test_a_signal_stops_the_whole_simulation_and_writes_nothing(tmp_path, signal_name):
    """Not just one day's solve: the simulation ends, and no partial results are written."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "sim"
    command = [sys.executable, "-m", "optimiser", "simulate", str(ROOT / "instances" / "ics"), "--out", str(out)]
    command += ["--workers", "0", "--runs", "1", "--days", "60", "--policy", "optimiser", "--policy-time-limit", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)
    process.send_signal(getattr(signal, signal_name))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0 and not out.exists(), stderr[-2000:]
