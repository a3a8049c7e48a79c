"""Carer capacity by time of day (rule 5b, contract v2 section 6.1): the family's rows on
small fixtures, the loader's checks, and the MILP against a brute force on random tiny
banded snapshots, every route agreeing; v1 snapshots are untouched."""

from __future__ import annotations

import pytest
from checker import Instance, brute_force_optimum, check_plan_folder
from click.testing import CliRunner
from family import home
from helpers import day, random_tiny_banded_snapshot, write_snapshot

from optimiser import InputError, allocate, load_snapshot
from optimiser.cli import main


def banded(tmp_path, patients, capacity, bands=("morning", "tea"), care_bands=(), services=None, **extra):
    return write_snapshot(
        tmp_path / "s",
        patients,
        services or [home("R")],
        capacity,
        bands=list(bands),
        care_bands=list(care_bands),
        **extra,
    )


def home_patient_banded(pid, ready=0, **extra):
    return {"patient_id": pid, "site": "H", "locality": "A", "pathway": 1, "ready_date": day(ready), **extra}


def test_a_band_binds_though_the_day_has_hours(tmp_path):
    """20 free hours all day, but only 1 in the morning: of two morning patients one starts."""
    patients = [home_patient_banded("P1"), home_patient_banded("P2")]
    rows = [{"patient_id": p, "band": "morning", "hours": 1} for p in ("P1", "P2")]
    capacity = [
        {"service_id": "R", "date": day(0), "amount": 20, "band": ""},
        {"service_id": "R", "date": day(0), "amount": 1, "band": "morning"},
        {"service_id": "R", "date": day(0), "amount": 5, "band": "tea"},
    ]
    plan = allocate(load_snapshot(banded(tmp_path, patients, capacity, care_bands=rows)))
    assert plan.summary["placed"] == 1
    reason = plan.unplaced["reason"].iat[0]
    assert reason.startswith("bands:") and "morning" in reason


def test_a_band_without_rows_has_no_capacity_and_the_all_day_pool_is_not_needed(tmp_path):
    patients = [home_patient_banded("P1"), home_patient_banded("P2")]
    rows = [{"patient_id": "P1", "band": "tea", "hours": 2}, {"patient_id": "P2", "band": "morning", "hours": 0.5}]
    capacity = [{"service_id": "R", "date": day(0), "amount": 3, "band": "tea"}]  # no morning rows, no all-day rows
    plan = allocate(load_snapshot(banded(tmp_path, patients, capacity, care_bands=rows)))
    assert list(plan.placements["patient_id"]) == ["P1"]  # 2 tea hours fit without any all-day row


def test_band_capacity_is_cumulative_and_arrives_on_its_date(tmp_path):
    patients = [home_patient_banded("P1", ready=0)]
    rows = [{"patient_id": "P1", "band": "morning", "hours": 1, "carers": 1}]
    capacity = [{"service_id": "R", "date": day(2), "amount": 1, "band": "morning"}]
    plan = allocate(
        load_snapshot(
            banded(
                tmp_path,
                patients,
                capacity,
                bands=("morning",),
                care_bands=[{k: v for k, v in r.items() if k != "carers"} for r in rows],
            )
        )
    )
    assert list(plan.placements["start_date"]) == [day(2)]  # waits for the morning hour


def test_double_handed_care_takes_twice_the_band_hours(tmp_path):
    patients = [home_patient_banded("P1", carers=2)]
    rows = [{"patient_id": "P1", "band": "morning", "hours": 1}]
    capacity = [{"service_id": "R", "date": day(0), "amount": 1.5, "band": "morning"}]
    services = [home("R", double_handed="yes")]
    plan = allocate(load_snapshot(banded(tmp_path, patients, capacity, bands=("morning",), care_bands=rows, services=services)))
    assert plan.summary["placed"] == 0  # needs 2 carer-hours of morning


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            dict(care_bands=[{"patient_id": "P1", "band": "noon", "hours": 1}]),
            "care_bands.csv line 2, column band = 'noon': is not one of",
        ),
        (dict(care_bands=[]), "patients.csv line 2, column patient_id = 'P1': has no rows in care_bands.csv"),
        (dict(patients=[home_patient_banded("P1", care_hours=3)]), "is not the sum of its care_bands.csv hours (1)"),
        (
            dict(capacity=[{"service_id": "R", "date": day(0), "amount": 1, "band": "night"}]),
            "capacity.csv line 2, column band = 'night'",
        ),
        (dict(bands=()), "bands is not set in snapshot.toml"),
    ],
)
def test_bad_band_inputs_are_input_errors(tmp_path, change, expected):
    args = dict(
        patients=[home_patient_banded("P1")],
        capacity=[{"service_id": "R", "date": day(0), "amount": 1, "band": "morning"}],
        care_bands=[{"patient_id": "P1", "band": "morning", "hours": 1}],
        bands=("morning", "tea"),
    )
    args.update(change)
    with pytest.raises(InputError) as error:
        load_snapshot(banded(tmp_path, **args))
    assert expected in error.value.report()


def test_bands_must_be_a_list_of_names(tmp_path):
    folder = banded(tmp_path, [home_patient_banded("P1")], [{"service_id": "R", "date": day(0), "amount": 1}])
    text = (folder / "snapshot.toml").read_text().replace('bands = ["morning", "tea"]', "bands = []")
    (folder / "snapshot.toml").write_text(text)
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 2 and "bands" in result.stderr and "must be a list of one or more band names" in result.stderr


@pytest.mark.parametrize("seed", range(50))
def test_the_banded_optimum_is_the_brute_force_optimum_on_every_route(tmp_path, seed):
    folder = random_tiny_banded_snapshot(tmp_path / "s", seed)
    expected = brute_force_optimum(folder)
    snapshot = load_snapshot(folder)
    for solver in ("highs", "cpsat", "pyomo") if seed < 5 else ("highs",):
        plan = allocate(snapshot, solver=solver, time_limit=60)
        out = tmp_path / f"plan-{solver}"
        plan.write(out)
        broken, objective = check_plan_folder(folder, out)
        assert broken == [], (solver, broken)
        assert objective == pytest.approx(expected, abs=1e-6), solver
    greedy = allocate(snapshot, solver="greedy")
    greedy.write(tmp_path / "greedy")
    assert check_plan_folder(folder, tmp_path / "greedy")[0] == []
    assert Instance(folder).bands == list(snapshot.settings.bands)


def _two_morning_patients(tmp_path):
    patients = [home_patient_banded("P1"), home_patient_banded("P2")]
    rows = [{"patient_id": p, "band": "morning", "hours": 1} for p in ("P1", "P2")]
    capacity = [
        {"service_id": "R", "date": day(0), "amount": 20, "band": ""},
        {"service_id": "R", "date": day(0), "amount": 1, "band": "morning"},
    ]
    return banded(tmp_path, patients, capacity, care_bands=rows)


def test_one_more_band_hour_is_valued_by_exact_re_solves(tmp_path):
    from optimiser import capacity_value

    folder = _two_morning_patients(tmp_path)
    table = capacity_value(load_snapshot(folder), candidates=5)
    band = table[table["kind"] == "band"]
    assert len(band) and band["band"].iat[0] == "morning" and band["service_id"].iat[0] == "R"
    # the value is the difference of two brute-force optima: with the hour, both start on day 0
    bigger = tmp_path / "bigger"
    import shutil

    shutil.copytree(folder, bigger)
    with open(bigger / "capacity.csv", "a") as handle:
        handle.write(f"R,{day(0)},1,morning\n")
    saved = brute_force_optimum(folder) - brute_force_optimum(bigger)
    assert saved > 0 and band["objective_saved"].iat[0] == pytest.approx(saved)


def test_what_if_adds_capacity_in_a_band(tmp_path):
    folder = _two_morning_patients(tmp_path)
    result = CliRunner().invoke(main, ["whatif", str(folder), "--add-capacity", f"R:{day(0)}:1:morning"])
    assert result.exit_code == 0, result.output
    assert (
        "add 1 capacity in the morning band at R" in result.output
        and "placed                           1           2" in result.output
    )
    result = CliRunner().invoke(main, ["whatif", str(folder), "--add-capacity", f"R:{day(0)}:1:noon"])
    assert result.exit_code == 2 and "is not a band of the snapshot (morning, tea)" in result.stderr


def test_the_report_shows_band_use_per_provider(tmp_path):
    folder = _two_morning_patients(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "plan")]).exit_code == 0
    result = runner.invoke(main, ["report", str(tmp_path / "plan")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "plan" / "report.html").read_text()
    assert "Carer-hours by time of day" in text and "<th>morning</th><th>tea</th>" in text
    assert "1 of 1 <b>full</b>" in text and ">none</td>" in text  # morning full; no tea hours at all


def test_explain_says_which_band_blocks_each_day(tmp_path):
    patients = [home_patient_banded("P1"), home_patient_banded("P2")]
    rows = [{"patient_id": p, "band": "morning", "hours": 1} for p in ("P1", "P2")]
    capacity = [
        {"service_id": "R", "date": day(0), "amount": 20, "band": ""},
        {"service_id": "R", "date": day(0), "amount": 1, "band": "morning"},
        {"service_id": "R", "date": day(3), "amount": 1, "band": "morning"},
    ]
    folder = banded(tmp_path, patients, capacity, care_bands=rows)
    runner = CliRunner()
    assert runner.invoke(main, ["allocate", str(folder), "--out", str(tmp_path / "plan")]).exit_code == 0
    late = [line for line in (tmp_path / "plan" / "plan.csv").read_text().splitlines() if day(3) in line][0].split(",")[0]
    result = runner.invoke(main, ["explain", str(tmp_path / "plan"), late, "--snapshot", str(folder)])
    assert result.exit_code == 0, result.output
    assert (
        f"{day(0)} to {day(2)}   morning capacity: 0 carer-hours a day free (the least from this day on), needs 1"
        in result.output
    )
