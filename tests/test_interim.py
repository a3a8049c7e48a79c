"""Interim stays (contract v2 section 6.2): the family's rows on 2-5 patient fixtures,
the loader's checks, the plan's stage rows and split costs, and the MILP against a brute
force on random tiny snapshots with interim beds (and bands), every route agreeing."""

from __future__ import annotations

import math

import pytest
from checker import Instance, brute_force_optimum, check_plan_folder
from click.testing import CliRunner
from family import bed_patient, care_home
from helpers import day, random_tiny_interim_snapshot, write_snapshot

from optimiser import InputError, allocate, load_snapshot
from optimiser.cli import main


def interim_unit(sid="I", **extra):
    return {"service_id": sid, "pathway": 2, "locality": "A", "interim": "yes", **extra}


def bridging(pid, ready=0, **extra):
    return bed_patient(pid, ready=ready, interim_ok="yes", **extra)


def solved(tmp_path, patients, services, capacity, **extra):
    folder = write_snapshot(tmp_path / "s", patients, services, capacity, **extra)
    plan = allocate(load_snapshot(folder))
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan")
    assert violations == []
    assert math.isclose(objective, plan.objective, rel_tol=1e-9)
    assert math.isclose(brute_force_optimum(folder), plan.objective, rel_tol=1e-9)
    return folder, plan


def rows(plan) -> list[tuple]:
    return [(r.patient_id, r.service_id, r.start_date, r.stage) for r in plan.placements.itertuples()]


def test_a_patient_waits_in_an_interim_bed_and_moves_on_with_the_costs_split(tmp_path):
    """The home is free on day 2, an interim bed today: in at once, on to the home on day 2."""
    _, plan = solved(
        tmp_path,
        [bridging("P1")],
        [care_home("C"), interim_unit("I")],
        [{"service_id": "C", "date": day(2), "amount": 1}, {"service_id": "I", "date": day(0), "amount": 1}],
        horizon=5,
    )
    assert rows(plan) == [("P1", "I", day(0), "interim"), ("P1", "C", day(2), "onward")]
    harm = 1 + (1 + 1 / 7)  # f(0) + f(1): the two days waited, now in the interim bed
    assert plan.placements["cost"].tolist() == pytest.approx([1.0, 0.25 * harm])  # move penalty; then the rest
    assert (plan.summary["placed"], plan.summary["interim"], plan.summary["onward"]) == (1, 1, 1)
    header = (tmp_path / "plan" / "plan.csv").read_text().splitlines()[0]
    assert header == "patient_id,service_id,start_date,wait_days,cost,stage"


def test_a_bed_freed_on_the_onward_day_is_usable_that_day(tmp_path):
    """One interim bed: P1 bridges days 0-1 and moves on on day 2; P2 (pathway 2, ready on
    day 2) takes the bed that very day."""
    _, plan = solved(
        tmp_path,
        [bridging("P1"), {**bed_patient("P2", ready=2), "pathway": 2}],
        [care_home("C"), interim_unit("I")],
        [{"service_id": "C", "date": day(2), "amount": 1}, {"service_id": "I", "date": day(0), "amount": 1}],
        horizon=5,
    )
    assert ("P2", "I", day(2), "direct") in rows(plan) and ("P1", "C", day(2), "onward") in rows(plan)


def test_an_interim_stay_without_onward_holds_the_bed_to_the_end(tmp_path):
    """No home place ever: P1 stays in the one interim bed, so P2 (pathway 2) cannot use it;
    the interim row holds the whole cost, to D + tail_days."""
    folder, plan = solved(
        tmp_path,
        [bridging("P1", priority=3), {**bed_patient("P2", ready=1), "pathway": 2}],
        [care_home("C"), interim_unit("I")],
        [{"service_id": "I", "date": day(0), "amount": 1}],
        horizon=4,
    )
    assert rows(plan) == [("P1", "I", day(0), "interim")]
    instance = Instance(folder)
    whole = 3 * (0.25 * sum(1 + k / 7 for k in range(0, 4 + 7))) + 1.0
    assert plan.placements["cost"].iat[0] == pytest.approx(whole) == instance.journey_costs("P1", ("I", 0), None)[0]
    assert plan.unplaced["patient_id"].tolist() == ["P2"] and plan.unplaced["cause"].iat[0] == "capacity"


def test_entries_count_as_admissions_and_bring_no_equipment(tmp_path):
    """The interim unit admits one a day: of two bridging patients, one enters on day 0 and
    one on day 1. A pathway-1 patient whose hoist never comes can still bridge (the bed has
    its own), but never moves on."""
    home_patient = {
        "patient_id": "H1",
        "site": "H",
        "locality": "A",
        "pathway": 1,
        "ready_date": day(0),
        "care_hours": 1,
        "equipment": "hoist",
        "interim_ok": "yes",
    }
    _, plan = solved(
        tmp_path,
        [bridging("P1"), bridging("P2"), home_patient],
        [care_home("C"), interim_unit("I", max_admissions_per_day=1), {"service_id": "R", "pathway": 1, "locality": "A"}],
        [
            {"service_id": "I", "date": day(0), "amount": 3},
            {"service_id": "R", "date": day(0), "amount": 5},
        ],
        localities=[{"locality_id": "A", "equipment_store": "G"}],
        equipment=[{"store_id": "G", "item": "hoist", "date": day(0), "quantity": 0}],
        horizon=4,
    )
    entries = plan.placements[plan.placements["stage"] == "interim"]
    assert sorted(entries["start_date"]) == [day(0), day(1), day(2)]  # one a day
    assert "H1" in set(entries["patient_id"]) and (plan.placements["stage"] != "onward").all()


def test_full_interim_harm_and_no_move_penalty_never_beat_a_direct_start(tmp_path):
    """interim_weight = 1 and move_penalty = 0: waiting in an interim bed harms as much as in
    the acute bed, so on random snapshots the optimum is that without interim beds."""
    for seed in range(5):
        folder = random_tiny_interim_snapshot(tmp_path / f"s{seed}", seed)
        toml = (folder / "snapshot.toml").read_text().split("[weights]")[0]
        (folder / "snapshot.toml").write_text(toml + "[weights]\ninterim_weight = 1.0\nmove_penalty = 0.0\n")
        with_interim = allocate(load_snapshot(folder)).objective
        text = (folder / "services.csv").read_text().replace(",yes\n", ",no\n")  # interim is the last column
        (folder / "services.csv").write_text(text)
        assert with_interim == pytest.approx(allocate(load_snapshot(folder)).objective, abs=1e-9), seed


@pytest.mark.parametrize("seed", range(50))
def test_the_milp_equals_the_brute_force_on_random_snapshots_with_interim_beds(tmp_path, seed):
    """Interim beds alone (seeds not divisible by 3) and with time-of-day bands (the others)."""
    folder = random_tiny_interim_snapshot(tmp_path / "s", seed, bands=seed % 3 == 0)
    snapshot = load_snapshot(folder)
    plan = allocate(snapshot)
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(folder, tmp_path / "plan")
    assert violations == [] and math.isclose(objective, plan.objective, rel_tol=1e-9, abs_tol=1e-9)
    assert plan.objective == pytest.approx(brute_force_optimum(folder), abs=1e-7)
    greedy = allocate(snapshot, solver="greedy")  # feasible, and no better than the optimum
    greedy.write(tmp_path / "greedy")
    violations, objective = check_plan_folder(folder, tmp_path / "greedy")
    assert violations == [] and objective >= plan.objective - 1e-9
    if seed % 10 == 0:
        for solver in ("cpsat", "pyomo"):
            assert allocate(snapshot, solver=solver).objective == pytest.approx(plan.objective, abs=1e-7)


def test_first_come_first_served_bridges_when_no_place_is_free_today(tmp_path):
    """The greedy baseline: no home place until day 3, an interim bed today: in, then on."""
    folder = write_snapshot(
        tmp_path / "s",
        [bridging("P1")],
        [care_home("C"), interim_unit("I")],
        [{"service_id": "C", "date": day(3), "amount": 1}, {"service_id": "I", "date": day(0), "amount": 1}],
        horizon=5,
    )
    plan = allocate(load_snapshot(folder), solver="greedy")
    assert rows(plan) == [("P1", "I", day(0), "interim"), ("P1", "C", day(3), "onward")]


def test_a_pinned_interim_row_pins_the_entry_and_leaves_the_onward_start_free(tmp_path):
    _, plan = solved(
        tmp_path,
        [bridging("P1")],
        [care_home("C"), interim_unit("I")],
        [{"service_id": "C", "date": day(2), "amount": 1}, {"service_id": "I", "date": day(0), "amount": 1}],
        pinned=[{"patient_id": "P1", "service_id": "I", "date": day(1), "stage": "interim"}],
        horizon=5,
    )
    assert rows(plan) == [("P1", "I", day(1), "interim"), ("P1", "C", day(2), "onward")]


def test_interim_inputs_are_checked_with_every_problem_listed(tmp_path):
    folder = write_snapshot(
        tmp_path / "s",
        [
            {**bed_patient("P1"), "pathway": 2, "interim_ok": "yes"},
            bridging("P2"),
            bridging("P3"),
        ],
        [care_home("C"), interim_unit("I"), {"service_id": "R", "pathway": 1, "locality": "A", "interim": "yes"}],
        [{"service_id": "I", "date": day(0), "amount": 1}],
        pinned=[
            {"patient_id": "P2", "service_id": "C", "date": day(0), "stage": "interim"},
            {"patient_id": "P3", "service_id": "I", "date": day(0), "stage": "bridge"},
        ],
    )
    with pytest.raises(InputError) as error:
        load_snapshot(folder)
    text = str(error.value)
    assert "patients.csv line 2, column interim_ok" in text and "pathway-2 patient" in text
    assert "services.csv line 4, column interim" in text and "pathway-1 service" in text
    assert "pinned.csv line 3, column stage = 'bridge'" in text
    result = CliRunner().invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "plan")])
    assert result.exit_code == 2 and "Traceback" not in result.output and not (tmp_path / "plan").exists()
    # with the other problems fixed, the pinned interim row at a care home is named
    (folder / "patients.csv").write_text((folder / "patients.csv").read_text().replace(",2,2026-11-26,", ",3,2026-11-26,"))
    (folder / "services.csv").write_text((folder / "services.csv").read_text().replace("R,,1,A,,,,,,,,yes", "R,,1,A,,,,,,,,"))
    (folder / "pinned.csv").write_text((folder / "pinned.csv").read_text().replace("bridge", "direct"))
    with pytest.raises(InputError) as error:
        load_snapshot(folder)
    assert "an interim stay at a service that is not interim (C)" in str(error.value)


def test_a_v1_snapshot_has_no_stage_column(tmp_path):
    folder = write_snapshot(
        tmp_path / "s", [bed_patient("P1")], [care_home("C")], [{"service_id": "C", "date": day(0), "amount": 1}]
    )
    plan = allocate(load_snapshot(folder))
    plan.write(tmp_path / "plan")
    assert (tmp_path / "plan" / "plan.csv").read_text().splitlines()[0] == "patient_id,service_id,start_date,wait_days,cost"
    assert "interim" not in plan.summary and "interim_weight" not in plan.summary["weights"]


def _full_home_and_bridge(tmp_path, interim_beds=1):
    """P1 bridges into the one interim bed and waits for a home that never frees; P2 (also
    bridging) finds neither."""
    return write_snapshot(
        tmp_path / "s",
        [bridging("P1", priority=3), bridging("P2")],
        [care_home("C"), interim_unit("I")],
        [{"service_id": "I", "date": day(0), "amount": interim_beds}],
        horizon=4,
    )


def test_a_patient_with_no_place_and_no_interim_bed_is_told_both(tmp_path):
    plan = allocate(load_snapshot(_full_home_and_bridge(tmp_path)))
    assert rows(plan) == [("P1", "I", day(0), "interim")]
    reason = plan.unplaced.set_index("patient_id").loc["P2", "reason"]
    assert reason == (
        "capacity: needs 1 bed; eligible services C have at most 0 free in the horizon; no interim bed free at I either"
    )


def test_explain_shows_the_journey_and_the_interim_option(tmp_path):
    folder = write_snapshot(
        tmp_path / "s",
        [bridging("P1")],
        [care_home("C"), interim_unit("I")],
        [{"service_id": "C", "date": day(2), "amount": 1}, {"service_id": "I", "date": day(0), "amount": 1}],
        horizon=5,
    )
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "plan")]).exit_code == 0
    result = runner.invoke(main, ["explain", str(tmp_path / "plan"), "P1", "--snapshot", str(folder)])
    assert result.exit_code == 0, result.output
    journey = 1.0 + 0.25 * (1 + (1 + 1 / 7))
    assert f"Plan: interim bed at I from {day(0)}, then C from {day(2)} (cost {journey:.2f} in all)." in result.output
    assert "  I (interim bed): room from" in result.output and "staying to the end" in result.output


def test_what_if_makes_a_step_down_unit_interim(tmp_path):
    folder = write_snapshot(
        tmp_path / "s",
        [bridging("P1")],
        [care_home("C"), {"service_id": "I", "pathway": 2, "locality": "A"}],
        [{"service_id": "C", "date": day(2), "amount": 1}, {"service_id": "I", "date": day(0), "amount": 1}],
        horizon=5,
    )
    result = CliRunner().invoke(main, ["whatif", str(folder), "--make-interim", "I", "--json"])
    assert result.exit_code == 0, result.output
    import json

    figures = json.loads(result.output)
    before, after = figures["figures"]["objective"]["base"], figures["figures"]["objective"]["variant"]
    assert before == pytest.approx(1 + 1 + 1 / 7) and after == pytest.approx(1.0 + 0.25 * (1 + 1 + 1 / 7))
    result = CliRunner().invoke(main, ["whatif", str(folder), "--make-interim", "C"])
    assert result.exit_code == 2 and "only pathway-2 services can be interim" in result.stderr


def test_one_more_interim_bed_is_valued_by_two_exact_solves(tmp_path):
    from optimiser import capacity_value

    folder = _full_home_and_bridge(tmp_path)
    table = capacity_value(load_snapshot(folder), candidates=5)
    row = table[(table["service_id"] == "I") & (table["from_date"] == day(0))].iloc[0]
    bigger = _full_home_and_bridge(tmp_path / "bigger", interim_beds=2)
    assert row["objective_saved"] == pytest.approx(brute_force_optimum(folder) - brute_force_optimum(bigger))
    assert row["objective_saved"] > 0


def test_keep_reads_a_plan_with_stages_back(tmp_path):
    folder = write_snapshot(
        tmp_path / "s",
        [bridging("P1"), bridging("P2", ready=1)],
        [care_home("C"), interim_unit("I")],
        [{"service_id": "C", "date": day(2), "amount": 2}, {"service_id": "I", "date": day(0), "amount": 2}],
        horizon=5,
    )
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "monday")]).exit_code == 0
    result = runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "again"), "--keep", str(tmp_path / "monday")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "again" / "plan.csv").read_text() == (tmp_path / "monday" / "plan.csv").read_text()
    import json

    keep = json.loads((tmp_path / "again" / "summary.json").read_text())["keep"]
    assert keep["kept"] == keep["previous_placements"] == 2


def test_generate_writes_a_valid_v2_snapshot_with_interim_beds(tmp_path):
    result = CliRunner().invoke(main, ["generate", str(tmp_path / "g"), "--size", "demo", "--interim"])
    assert result.exit_code == 0, result.output
    snapshot = load_snapshot(tmp_path / "g")
    services = snapshot.services
    assert services.loc[services["interim"], "pathway"].eq(2).all() and services["service_id"].str.endswith("-IB01").any()
    assert snapshot.patients.loc[snapshot.patients["interim_ok"], "pathway"].isin([1, 3]).all()
    assert (tmp_path / "g" / "flow.toml").exists()  # the flow simulation models interim stays
    plan = allocate(snapshot, time_limit=10)
    plan.write(tmp_path / "plan")
    violations, objective = check_plan_folder(tmp_path / "g", tmp_path / "plan")
    assert violations == [] and objective == pytest.approx(plan.objective)


def test_the_report_shows_journeys_and_counts_each_patient_once(tmp_path):
    folder = write_snapshot(
        tmp_path / "s",
        [bridging("P1"), bridging("P2")],
        [care_home("C"), interim_unit("I")],
        [{"service_id": "C", "date": day(2), "amount": 1}, {"service_id": "I", "date": day(0), "amount": 2}],
        horizon=5,
    )
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "plan")]).exit_code == 0
    result = runner.invoke(main, ["report", str(tmp_path / "plan")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "plan" / "report.html").read_text()
    journeys = text.split("Care journeys through interim beds")[1].split("<h2>")[0]
    assert ">I (2)</text>" in journeys and ">C (1)</text>" in journeys and ">waiting (pathway 3) (1)</text>" in journeys
    where = text.split("Where patients go")[1].split("<h2>")[0]
    assert ">I (2)</text>" in where  # both left the acute bed for I: counted once each
    assert "P1 (interim), P2 (interim)" in text and "(onward)" in text
