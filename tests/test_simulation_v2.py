"""The flow simulation of v2 snapshots (contract 6.1 bands, 6.2 interim stays).

- A journey by hand: the patient leaves the acute bed for the interim bed on day 0, its
  days there are not delayed acute bed-days, it moves on when the care home frees, and the
  interim bed is free again from the onward day.
- On a generated v2 demo with arrivals: each day's decision passes the independent checker,
  patients are conserved (in acute, in interim beds, placed, known), and places rebuilt from
  patients.csv alone (beds, interim beds until the onward start, carer-hours band by band)
  never exceed the places.
- Equivalences that must hold exactly: one band holding every hour is the v1 all-day pool;
  interim services that nobody may use change nothing but the added columns.
- The pools: band places are the free band hours plus the day-0 occupants' share.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import checked_decision, day, write_snapshot

from optimiser import load_snapshot
from optimiser.generate import generate_snapshot
from optimiser.model.rules import band_use
from optimiser.simulate import simulate
from optimiser.simulate.engine import draw_run, simulate_run
from optimiser.simulate.flow import read_flow
from optimiser.simulate.pools import pools_of
from optimiser.simulate.runner import run_seeds

FLOW = (
    "days = 6\nruns = 1\nseed = 5\n[arrivals]\nnotice_days = 1\n"
    "[[arrivals.rate]]\npathway = 1\nper_day = 5\n[[arrivals.rate]]\npathway = 2\nper_day = 2\n"
    "[[arrivals.rate]]\npathway = 3\nper_day = 3\n[policy]\nwork_limit = 20\n"
)


def journey_snapshot(folder: Path) -> Path:
    """One care-home patient who may bridge; the care home's one bed is taken by a day-0
    occupant (fixed stays of 3 days: it leaves on day 1, 2 or 3); an interim bed is free."""
    patients = [{"patient_id": "P1", "site": "H", "locality": "A", "pathway": 3, "ready_date": day(0), "interim_ok": "yes"}]
    services = [
        {"service_id": "B", "pathway": 2, "locality": "A", "interim": "yes", "places": 1},
        {"service_id": "C", "pathway": 3, "locality": "A", "places": 1},
    ]
    capacity = [{"service_id": "B", "date": day(0), "amount": 1}, {"service_id": "C", "date": day(0), "amount": 0}]
    folder = write_snapshot(folder, patients, services, capacity, horizon=5, weights={"move_penalty": 0.0})
    (folder / "flow.toml").write_text(
        'days = 5\nruns = 1\nseed = 2\n[length_of_stay]\npathway2 = { distribution = "fixed", days = 3 }\n'
        'pathway3 = { distribution = "fixed", days = 3 }\n[policy]\nwork_limit = 20\n'
    )
    return folder


@pytest.mark.parametrize("policy", ["optimiser", "fifo"])
def test_a_journey_through_an_interim_bed(tmp_path, policy):
    folder = journey_snapshot(tmp_path / "s")
    result = simulate(folder, policies=(policy,), workers=0)
    patient = result.patients.set_index("patient_id").loc["P1"]
    assert patient["interim_day"] == 0 and patient["interim_service_id"] == "B"
    onward = int(patient["placed_day"])
    assert 1 <= onward <= 3 and patient["service_id"] == "C"  # the day the occupant leaves
    assert patient["wait_days"] == onward  # the whole wait, acute and interim
    daily = result.daily.set_index(["day", "pathway"])
    assert (result.daily["delayed_bed_days"] == 0).all()  # out of the acute bed on day 0
    for t in range(5):
        assert daily.loc[(t, 3), "in_interim"] == (1 if t < onward else 0)
        assert daily.loc[(t, 2), "occupied"] == (1.0 if t < onward else 0.0)  # free again from the onward day
        assert daily.loc[(t, 3), "occupied"] == 1.0  # the occupant, then the patient
    assert daily.loc[(0, 3), "entered_interim"] == 1 and result.daily["entered_interim"].sum() == 1


def _no_occupants(folder: Path) -> None:
    """places emptied: every service's places are its capacity free on day 0 (no occupants),
    so patients.csv alone tells every place held."""
    services = pd.read_csv(folder / "services.csv", dtype=str, keep_default_na=False)
    services["places"] = ""
    services.to_csv(folder / "services.csv", index=False)


@pytest.fixture(scope="module")
def v2_runs(tmp_path_factory):
    """The demo with bands and interim stays, no occupants, arrivals: both policies, one run of
    6 days, in process, each day's state and plan kept."""
    folder = tmp_path_factory.mktemp("demo-v2")
    generate_snapshot(folder, "demo", seed=1, bands=True, interim=True)
    _no_occupants(folder)
    (folder / "flow.toml").write_text(FLOW)
    snapshot = load_snapshot(folder)
    flow = read_flow(folder / "flow.toml", snapshot)
    seeds = run_seeds(flow)
    decisions, results = [], {}
    for policy in flow.policies:

        def keep(t, state, formulation, result, policy=policy):
            decisions.append((policy, t, state, formulation, result))

        results[policy] = simulate_run(snapshot, flow, policy, 0, seeds[0], observer=keep)
    return snapshot, flow, results, decisions


def test_the_v2_runs_use_interim_beds_and_fill_bands(v2_runs):
    snapshot, flow, results, _ = v2_runs
    for result in results.values():
        assert result["daily"]["entered_interim"].sum() > 0
    held = _band_hours_held(snapshot, flow, results["optimiser"]["patients"])
    pools = pools_of(snapshot)
    full = held >= pools.places[:, 1:, None] - 1e-9  # some band of some provider is full on some day
    assert (full & pools.binds[:, 1:, None] & (pools.places[:, 1:, None] > 0)).any()


def test_every_v2_days_decision_passes_the_independent_checker(v2_runs, tmp_path):
    _, _, _, decisions = v2_runs
    objectives = 0
    for i, (_, _, state, formulation, result) in enumerate(decisions):
        violations, objective, planned = checked_decision(state, formulation, result, tmp_path / f"day{i}")
        assert violations == []
        if (state.patients["priority"] % 1 == 0).all():  # a patient in an interim bed has a scaled priority
            assert math.isclose(objective, planned, rel_tol=1e-9, abs_tol=1e-9)
            objectives += 1
    assert len(decisions) == 12 and objectives >= 2


def test_v2_patients_are_conserved(v2_runs):
    snapshot, flow, results, _ = v2_runs
    for result in results.values():
        daily, patients = result["daily"], result["patients"]
        last = daily[daily["day"] == flow.days - 1]
        placed = int(patients["placed_day"].notna().sum())
        in_interim = int(last["in_interim"].sum())
        assert len(snapshot.patients) + int(daily["arrived"].sum()) == (
            placed + int(last["waiting"].sum()) + in_interim + int(last["known"].sum())
        )
        bridged = patients[patients["interim_day"].notna()]
        assert in_interim == int(bridged["placed_day"].isna().sum())
        moved_on = bridged[bridged["placed_day"].notna()]
        assert (moved_on["placed_day"] > moved_on["interim_day"]).all()
        assert (bridged["interim_day"] >= bridged["ready_day"]).all()
        assert set(bridged["pathway"]) <= {1, 3}
        assert (daily.groupby("pathway")["entered_interim"].sum() == patients.groupby("pathway")["interim_day"].count()).all()


def _beds_held(snapshot, patients: pd.DataFrame, days: int) -> np.ndarray:
    """Beds held per service and day, from patients.csv: a placement for its stay, an
    interim entry until the onward start (or the end)."""
    index = snapshot.service_index
    held = np.zeros((len(snapshot.services), days))
    t = np.arange(days)
    for row in patients.itertuples():
        if pd.notna(row.placed_day) and row.pathway != 1:
            held[index[row.service_id]] += (t >= row.placed_day) & (t < row.placed_day + row.stay_days)
        if pd.notna(row.interim_day):
            until = row.placed_day if pd.notna(row.placed_day) else days
            held[index[row.interim_service_id]] += (t >= row.interim_day) & (t < until)
    return held


def _band_hours_held(snapshot, flow, patients: pd.DataFrame) -> np.ndarray:
    """Carer-hours held per service, band and day, from patients.csv and care_bands.csv: a
    newcomer holds the band hours of the day-0 patient it copies (the run's draw, which
    patients.csv does not name)."""
    draws = draw_run(snapshot, flow, run_seeds(flow)[0]).patients
    template = dict(zip(draws["patient_id"], draws["template"]))
    held = np.zeros((len(snapshot.services), len(snapshot.settings.bands), flow.days))
    use = band_use(snapshot)
    t = np.arange(flow.days)
    for row in patients.itertuples():
        if pd.isna(row.placed_day) or row.pathway != 1:
            continue
        s = snapshot.service_index[row.service_id]
        held[s] += use[template[row.patient_id]][:, None] * ((t >= row.placed_day) & (t < row.placed_day + row.stay_days))
    return held


def test_v2_places_rebuilt_from_the_outputs_are_never_exceeded(v2_runs):
    snapshot, flow, results, _ = v2_runs
    pools = pools_of(snapshot)
    interim = snapshot.services["interim"].astype(str).str.lower().isin(["yes", "true", "1"]).to_numpy()
    beds_used = 0.0
    for policy, result in results.items():
        patients = result["patients"]
        beds = _beds_held(snapshot, patients, flow.days)
        bed_services = (snapshot.services["pathway"] != 1).to_numpy()
        assert (beds[bed_services] <= pools.places[bed_services, 0][:, None] + 1e-9).all(), policy
        bands = _band_hours_held(snapshot, flow, patients)
        banded = pools.binds[:, 1:]
        assert (np.where(banded[:, :, None], bands, 0.0) <= pools.places[:, 1:, None] + 1e-9).all(), policy
        beds_used += beds[interim].sum()
    assert beds_used > 0  # the interim beds were used, and counted


def _one_band(folder: Path, target: Path) -> None:
    """The v1 snapshot as v2 with a single band "day" holding every carer-hour."""
    target.mkdir()
    for path in folder.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    patients = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    one = patients[patients["pathway"] == "1"]
    pd.DataFrame({"patient_id": one["patient_id"], "band": "day", "hours": one["care_hours"]}).to_csv(
        target / "care_bands.csv", index=False
    )
    capacity = pd.read_csv(folder / "capacity.csv", dtype=str, keep_default_na=False)
    services = pd.read_csv(folder / "services.csv", dtype=str, keep_default_na=False)
    pathway = capacity["service_id"].map(dict(zip(services["service_id"], services["pathway"])))
    capacity["band"] = np.where(pathway == "1", "day", "")
    capacity.to_csv(target / "capacity.csv", index=False)
    toml = (folder / "snapshot.toml").read_text().replace("horizon_days", 'bands = ["day"]\nhorizon_days')
    (target / "snapshot.toml").write_text(toml)


def test_one_band_holding_every_hour_simulates_as_v1(tmp_path):
    v1 = tmp_path / "v1"
    generate_snapshot(v1, "demo", seed=2)
    (v1 / "flow.toml").write_text(FLOW.replace("days = 6", "days = 8"))
    _one_band(v1, tmp_path / "banded")
    first = simulate(v1, policies=("fifo",), workers=0)
    second = simulate(tmp_path / "banded", policies=("fifo",), workers=0)
    pd.testing.assert_frame_equal(first.daily, second.daily)
    pd.testing.assert_frame_equal(first.patients, second.patients)
    assert first.daily["waiting"].sum() > 0  # capacity binds: the equivalence is not empty


def test_interim_beds_nobody_may_use_change_nothing_but_the_added_columns(tmp_path):
    v1 = tmp_path / "v1"
    generate_snapshot(v1, "demo", seed=2)
    (v1 / "flow.toml").write_text(FLOW)
    marked = tmp_path / "marked"
    marked.mkdir()
    for path in v1.iterdir():
        (marked / path.name).write_bytes(path.read_bytes())
    services = pd.read_csv(v1 / "services.csv", dtype=str, keep_default_na=False)
    services["interim"] = np.where(services["pathway"] == "2", "yes", "no")
    services.to_csv(marked / "services.csv", index=False)
    for policy in ("fifo", "optimiser"):
        first = simulate(v1, policies=(policy,), workers=0)
        second = simulate(marked, policies=(policy,), workers=0)
        assert (second.daily["entered_interim"] == 0).all() and (second.daily["in_interim"] == 0).all()
        pd.testing.assert_frame_equal(first.daily, second.daily[first.daily.columns])
        pd.testing.assert_frame_equal(first.patients, second.patients[first.patients.columns])


def test_band_places_are_the_free_hours_and_the_occupants_share(tmp_path):
    """Two patients: 2 morning + 1 tea hours, and 1 morning (use 4 with one carer); a service
    with places 10, 3 morning and 1 tea hours free: the occupants hold 10 - 4 = 6 hours,
    3/4 of them in the morning (3 of the 4 hours of the average patient), 1/4 at tea."""
    patients = [
        {"patient_id": "P1", "site": "H", "locality": "A", "pathway": 1, "ready_date": day(0)},
        {"patient_id": "P2", "site": "H", "locality": "A", "pathway": 1, "ready_date": day(0)},
    ]
    services = [{"service_id": "S", "pathway": 1, "locality": "A", "places": 10}]
    capacity = [
        {"service_id": "S", "date": day(0), "amount": 3, "band": "morning"},
        {"service_id": "S", "date": day(0), "amount": 1, "band": "tea"},
    ]
    care_bands = [
        {"patient_id": "P1", "band": "morning", "hours": 2},
        {"patient_id": "P1", "band": "tea", "hours": 1},
        {"patient_id": "P2", "band": "morning", "hours": 1},
    ]
    folder = write_snapshot(
        tmp_path / "s",
        patients,
        services,
        capacity,
        coverage=[{"service_id": "S", "locality": "A"}],
        bands=["morning", "tea"],
        care_bands=care_bands,
    )
    pools = pools_of(load_snapshot(folder))
    assert pools.names == ("", "morning", "tea")
    assert pools.free[0].tolist() == [4.0, 3.0, 1.0] and pools.places[0].tolist() == [10.0, 3.0 + 4.5, 1.0 + 1.5]
    assert pools.binds[0].tolist() == [False, True, True]  # band rows only: no all-day pool
