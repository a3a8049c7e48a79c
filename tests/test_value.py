"""Capacity values equal the difference of two independent exhaustive optima."""

import math
import shutil

import pytest
from checker import brute_force_optimum
from click.testing import CliRunner
from helpers import append_rows, day, random_tiny_snapshot, write_snapshot

from optimiser import load_snapshot
from optimiser.analysis.value import COLUMNS, capacity_value
from optimiser.cli import main


def _with_unit(folder, target, row):
    shutil.copytree(folder, target)
    if row["kind"] == "service":
        append_rows(target, "capacity.csv", [{"service_id": row["service_id"], "date": row["from_date"], "amount": 1}])
    else:
        append_rows(
            target, "equipment.csv", [{"store_id": row["store_id"], "item": row["item"], "date": row["from_date"], "quantity": 1}]
        )
    return target


@pytest.mark.parametrize("seed", range(10))
def test_values_equal_resolve_differences(tmp_path, seed):
    folder = random_tiny_snapshot(tmp_path / "s", seed, patients=6, services=3, horizon=4)
    table = capacity_value(load_snapshot(folder), candidates=6)
    assert list(table.columns) == COLUMNS
    assert table["exact"].all()
    assert (table["objective_saved"].diff().dropna() <= 1e-9).all()  # sorted, most first
    base = brute_force_optimum(folder)
    for i, row in table.iterrows():
        variant = brute_force_optimum(_with_unit(folder, tmp_path / f"v{i}", row))
        assert math.isclose(row["objective_saved"], base - variant, rel_tol=1e-7, abs_tol=1e-7), row.to_dict()
        assert row["objective_saved"] >= -1e-9  # more capacity never hurts
        assert math.isclose(row["pounds_saved"], 562 * row["bed_days_saved"])


def _tight(folder):
    """Two pathway-2 patients, one bed at SD from today and a second from day 3; P3 needs two carer-hours
    a day and HC has one (so P3 has no variable, and no LP dual prices HC)."""
    patients = [
        {"patient_id": "P1", "site": "H", "locality": "A", "pathway": 2, "ready_date": day(0)},
        {"patient_id": "P2", "site": "H", "locality": "A", "pathway": 2, "ready_date": day(0)},
        {"patient_id": "P3", "site": "H", "locality": "A", "pathway": 1, "ready_date": day(0), "care_hours": 2, "carers": 1},
    ]
    services = [
        {"service_id": "SD", "pathway": 2, "locality": "A"},
        {"service_id": "HC", "pathway": 1, "locality": "A"},
    ]
    capacity = [
        {"service_id": "SD", "date": day(0), "amount": 1},
        {"service_id": "SD", "date": day(3), "amount": 1},
        {"service_id": "HC", "date": day(0), "amount": 1},
    ]
    return write_snapshot(folder, patients, services, capacity, horizon=5)


def test_hand_made_values(tmp_path):
    """A bed today saves P2's three days' wait; one more carer-hour places P3, which the LP cannot see."""
    table = capacity_value(load_snapshot(_tight(tmp_path / "s")), candidates=10).set_index(["service_id", "from_date"])
    # P2 waits days 0, 1, 2: 1 + 8/7 + 9/7; a bed from today saves it all, 3 bed-days
    assert math.isclose(table.loc[("SD", day(0)), "objective_saved"], 1 + 8 / 7 + 9 / 7)
    assert table.loc[("SD", day(0)), "bed_days_saved"] == 3
    # P3 unplaced costs delay(D + tail = 12 days) = 12 + (0 + ... + 11) / 7; placed today costs 0
    assert math.isclose(table.loc[("HC", day(0)), "objective_saved"], 12 + 66 / 7)
    assert table.loc[("HC", day(0)), "lp_estimate"] == 0 and table.loc[("HC", day(0)), "bed_days_saved"] == 5


def test_value_command(tmp_path):
    folder = _tight(tmp_path / "s")
    result = CliRunner().invoke(main, ["value", str(folder), "--out", str(tmp_path / "out"), "--bed-day-cost", "500"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "capacity_value.csv").read_text().splitlines()
    assert text[0] == ",".join([*COLUMNS, "snapshot_hash"])  # the snapshot the values were made from
    assert text[1].startswith("service,HC,,,1," + day(0)) and ",2500.0," in text[1]
    assert text[2].startswith("service,SD,,,2," + day(0)) and ",1500.0," in text[2]
    broken = CliRunner().invoke(main, ["value", str(tmp_path / "nope"), "--out", str(tmp_path / "o2")])
    assert broken.exit_code == 2 and not (tmp_path / "o2").exists()


@pytest.mark.parametrize("seed", range(10, 20))
def test_pathway_optima_add_up_to_the_whole(tmp_path, seed):
    """What lets values be computed per pathway: the pathways' optima sum to the whole optimum."""
    from optimiser import allocate
    from optimiser.data.snapshot import restrict_to_pathway

    folder = random_tiny_snapshot(tmp_path / "s", seed, patients=6, services=3, horizon=4)
    snapshot = load_snapshot(folder)
    parts = [allocate(restrict_to_pathway(snapshot, pathway)).objective for pathway in (1, 2, 3)]
    assert math.isclose(sum(parts), brute_force_optimum(folder), rel_tol=1e-7, abs_tol=1e-7)
