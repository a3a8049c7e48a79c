"""What-if runs: changes applied to the snapshot, compared against independent exhaustive optima."""

import json
import math
import shutil

import pytest
from checker import brute_force_optimum
from click.testing import CliRunner
from helpers import append_rows, day, random_tiny_snapshot, write_snapshot

from optimiser import SnapshotError, load_snapshot
from optimiser.analysis.whatif import AddCapacity, AddStock, Close, apply_changes, parse_change, whatif
from optimiser.cli import main


def _one_bed(folder):
    patients = [
        {"patient_id": "P1", "site": "H", "locality": "A", "pathway": 2, "ready_date": day(-3), "priority": 2},
        {"patient_id": "P2", "site": "H", "locality": "A", "pathway": 2, "ready_date": day(0)},
    ]
    services = [{"service_id": "SD", "pathway": 2, "locality": "A"}]
    return write_snapshot(folder, patients, services, [{"service_id": "SD", "date": day(0), "amount": 1}])


def test_parse_change_forms():
    assert parse_change("add-capacity", "SD:2026-11-27:2") == AddCapacity("SD", day_date(1), 2.0)
    assert parse_change("close", "SD") == Close("SD")
    assert parse_change("add-stock", "G:hoist:2026-11-26:1") == AddStock("G", "hoist", day_date(0), 1.0)
    for option, text in [
        ("add-capacity", "SD:2026-11-27"),
        ("add-capacity", "SD:tomorrow:1"),
        ("add-stock", "G:h:2026-11-26:-1"),
    ]:
        with pytest.raises(ValueError, match=f"--{option}"):
            parse_change(option, text)


def day_date(offset):
    import datetime as dt

    return dt.date.fromisoformat(day(offset))


def test_added_bed_places_the_waiting_patient(tmp_path):
    folder = _one_bed(tmp_path / "s")
    comparison = whatif(load_snapshot(folder), [AddCapacity("SD", day_date(0), 1)])
    figures = comparison.figures.set_index("measure")
    assert figures.loc["placed", "difference"] == 1
    assert comparison.moved["patient_id"].tolist() == ["P2"]
    variant = tmp_path / "v"
    shutil.copytree(folder, variant)
    append_rows(variant, "capacity.csv", [{"service_id": "SD", "date": day(0), "amount": 1}])
    assert math.isclose(figures.loc["objective", "base"], brute_force_optimum(folder), abs_tol=1e-7)
    assert math.isclose(figures.loc["objective", "variant"], brute_force_optimum(variant), abs_tol=1e-7)


@pytest.mark.parametrize("seed", range(8))
def test_variant_optimum_matches_brute_force(tmp_path, seed):
    folder = random_tiny_snapshot(tmp_path / "s", seed, patients=6, services=3, horizon=4)
    snapshot = load_snapshot(folder)
    service = snapshot.services["service_id"].iat[0]
    comparison = whatif(snapshot, [AddCapacity(service, day_date(1), 1.5), Close(snapshot.services["service_id"].iat[-1])])
    variant = tmp_path / "v"
    shutil.copytree(folder, variant)
    append_rows(variant, "capacity.csv", [{"service_id": service, "date": day(1), "amount": 1.5}])
    closed = snapshot.services["service_id"].iat[-1]
    rows = (variant / "capacity.csv").read_text().splitlines()
    (variant / "capacity.csv").write_text("\n".join([rows[0]] + [r for r in rows[1:] if not r.startswith(closed + ",")]) + "\n")
    if snapshot.pinned["service_id"].eq(closed).any():
        pytest.skip("a pinned patient at the closed service")
    expected = brute_force_optimum(variant)
    assert math.isclose(comparison.variant.objective, expected, rel_tol=1e-7, abs_tol=1e-7)


def test_every_bad_change_is_listed(tmp_path):
    folder = _one_bed(tmp_path / "s")
    append_rows(folder, "pinned.csv", [{"patient_id": "P1", "service_id": "SD", "date": day(0)}])
    snapshot = load_snapshot(folder)
    with pytest.raises(SnapshotError) as caught:
        apply_changes(snapshot, [Close("NOPE"), AddStock("G9", "hoist", day_date(0), 1)])
    text = caught.value.report()
    assert "'NOPE'" in text and "'G9'" in text
    with pytest.raises(SnapshotError, match="pinned to a service the what-if closes"):
        apply_changes(snapshot, [Close("SD")])


def test_whatif_command(tmp_path):
    folder = _one_bed(tmp_path / "s")
    runner = CliRunner()
    result = runner.invoke(main, ["whatif", str(folder), "--add-capacity", f"SD:{day(0)}:1", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["figures"]["placed"]["difference"] == 1
    assert [row["patient_id"] for row in document["moved"]] == ["P2"]
    bad = runner.invoke(main, ["whatif", str(folder), "--add-capacity", "SD:soon:1", "--add-stock", "G:x"])
    assert bad.exit_code == 2
    assert "--add-capacity 'SD:soon:1'" in bad.stderr and "--add-stock 'G:x'" in bad.stderr
    unknown = runner.invoke(main, ["whatif", str(folder), "--close", "NOPE"])
    assert unknown.exit_code == 2 and "'NOPE'" in unknown.stderr and "Traceback" not in unknown.output


def test_untouched_pathways_keep_their_placements():
    """A bed added on pathway 2: nobody on pathways 1 or 3 moves, and the variant is still optimal."""
    from pathlib import Path

    from optimiser import allocate

    snapshot = load_snapshot(Path(__file__).resolve().parent.parent / "instances" / "demo")
    change = AddCapacity("S01-SD01", day_date(0), 1)
    comparison = whatif(snapshot, [change])
    pathway = dict(zip(snapshot.patients["patient_id"], snapshot.patients["pathway"]))
    assert len(comparison.moved) > 0
    assert {pathway[p] for p in comparison.moved["patient_id"]} == {2}
    fresh = allocate(apply_changes(snapshot, [change]))
    assert math.isclose(comparison.variant.objective, fresh.objective, rel_tol=1e-9)
