"""Dominance rows keep the optimum (brute force), and repair keeps plans feasible and no dearer."""

import math
import random
from pathlib import Path

import numpy as np
import pytest
from checker import Instance, brute_force_optimum
from helpers import day, write_snapshot

from optimiser import allocate, build_formulation, load_snapshot
from optimiser.model.dominance import find_dominance, repair, with_dominance
from optimiser.solve.greedy import greedy_plan
from optimiser.solve.highs import solve_highs


def alike_snapshot(folder: Path, seed: int, patients: int = 8, horizon: int = 4) -> Path:
    """Pathway-1 patients drawn from few kinds (so many stand in for each other), tight carer-hours."""
    rng = random.Random(seed)
    services = [
        {
            "service_id": f"S{i}",
            "pathway": 1,
            "locality": rng.choice("AB"),
            "double_handed": rng.choice(["yes", "no"]),
            "max_admissions_per_day": rng.choice(["", "", 1]),
            "weekend_admissions": rng.choice(["", "no"]),
        }
        for i in range(rng.randint(2, 3))
    ]
    capacity = [
        {"service_id": row["service_id"], "date": day(rng.randint(-1, horizon - 1)), "amount": rng.choice([1, 1.5, 2])}
        for row in services
        for _ in range(rng.randint(1, 2))
    ]
    coverage = [
        {"service_id": row["service_id"], "locality": name} for row in services for name in rng.sample("AB", rng.randint(1, 2))
    ]
    rows = []
    for i in range(patients):
        rows.append(
            {
                "patient_id": f"P{i}",
                "site": "H",
                "locality": rng.choice("AB"),
                "pathway": 1,
                "ready_date": day(rng.choice([-3, -1, 0, 1])),
                "priority": rng.choice([1, 1, 2]),
                "care_hours": rng.choice([0.5, 1]),
                "carers": rng.choice([1, 1, 2]),
                "equipment": rng.choice(["", "", "hoist"]),
                "earliest_date": rng.choice(["", "", day(1)]),
                "preferred_services": rng.choice(["", "", "S0"]),
            }
        )
    localities = [{"locality_id": "A", "equipment_store": "G"}, {"locality_id": "B", "equipment_store": rng.choice(["G", "K"])}]
    stores = sorted({row["equipment_store"] for row in localities})
    equipment = [
        {"store_id": store, "item": "hoist", "date": day(rng.randint(-1, horizon - 1)), "quantity": rng.randint(0, 2)}
        for store in stores
    ]
    return write_snapshot(folder, rows, services, capacity, localities, coverage, None, equipment, None, horizon=horizon)


@pytest.mark.parametrize("seed", range(16))
def test_dominance_rows_keep_the_optimum(tmp_path, seed):
    folder = alike_snapshot(tmp_path / "s", seed)
    formulation = build_formulation(load_snapshot(folder))
    ruled, pairs = with_dominance(formulation)
    result = solve_highs(ruled)
    assert result.status.value == "optimal"
    assert math.isclose(result.objective, brute_force_optimum(folder), rel_tol=1e-9, abs_tol=1e-7)
    assert formulation.violations(result.x) == []


def test_alike_snapshots_do_have_pairs(tmp_path):
    """The test above is not vacuous: most of its snapshots get rows of both kinds."""
    counts, ordered = [], 0
    for seed in range(16):
        pairs = find_dominance(build_formulation(load_snapshot(alike_snapshot(tmp_path / f"s{seed}", seed))))
        counts.append(len(pairs.better))
        ordered += int(pairs.ordered.sum())
    assert sum(c > 0 for c in counts) >= 12 and ordered >= 5, (counts, ordered)


@pytest.mark.parametrize("seed", range(12))
def test_repair_keeps_plans_feasible_and_no_dearer(tmp_path, seed):
    folder = alike_snapshot(tmp_path / "s", 100 + seed, patients=10, horizon=5)
    formulation = build_formulation(load_snapshot(folder))
    ruled, pairs = with_dominance(formulation)
    for order in ("wait", "value"):
        start = greedy_plan(formulation, order=order)
        fixed = repair(ruled, pairs, start)
        assert ruled.violations(fixed) == [], order
        assert formulation.value(fixed) <= formulation.value(start) + 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_allocate_with_dominance_is_optimal_and_feasible(tmp_path, seed):
    folder = alike_snapshot(tmp_path / "s", 200 + seed)
    plan = allocate(load_snapshot(folder))
    assert plan.status == "optimal"
    assert math.isclose(plan.objective, brute_force_optimum(folder), rel_tol=1e-9, abs_tol=1e-7)
    placed = {row.patient_id: (row.service_id, int(row.day)) for row in plan.placements.itertuples()}
    assert Instance(folder).violations(placed) == []


def test_two_alike_patients_one_place_the_first_in_the_file_gets_the_row(tmp_path):
    patients = [
        {"patient_id": f"P{i}", "site": "H", "locality": "A", "pathway": 1, "ready_date": day(0), "care_hours": 1, "carers": 1}
        for i in range(2)
    ]
    services = [{"service_id": "HC", "pathway": 1, "locality": "A"}]
    folder = write_snapshot(tmp_path / "s", patients, services, [{"service_id": "HC", "date": day(0), "amount": 1}])
    formulation = build_formulation(load_snapshot(folder))
    pairs = find_dominance(formulation)
    ids = formulation.snapshot.patients["patient_id"].to_numpy()
    assert ids[pairs.better].tolist() == ["P0"] and ids[pairs.worse].tolist() == ["P1"] and pairs.ordered.tolist() == [True]
    ruled, _ = with_dominance(formulation)
    # P1 alone on day 0 breaks the row "P1 started by day t <= P0 started by day t".
    lone = np.zeros(formulation.num_variables)
    variables = formulation.variables
    lone[np.flatnonzero((variables["patient"] == 1).to_numpy() & (variables["day"] == 0).to_numpy())[0]] = 1
    assert formulation.violations(lone) == [] and ruled.violations(lone) != []
    assert ruled.violations(repair(ruled, pairs, lone)) == []


def test_pinned_and_bed_patients_get_no_rows(tmp_path):
    patients = [
        {"patient_id": f"P{i}", "site": "H", "locality": "A", "pathway": 1, "ready_date": day(0), "care_hours": 1, "carers": 1}
        for i in range(2)
    ] + [{"patient_id": f"B{i}", "site": "H", "locality": "A", "pathway": 2, "ready_date": day(0)} for i in range(2)]
    services = [{"service_id": "HC", "pathway": 1, "locality": "A"}, {"service_id": "SD", "pathway": 2, "locality": "A"}]
    capacity = [{"service_id": "HC", "date": day(0), "amount": 1}, {"service_id": "SD", "date": day(0), "amount": 1}]
    pinned = [{"patient_id": "P1", "service_id": "HC", "date": day(1)}]
    folder = write_snapshot(tmp_path / "s", patients, services, capacity, pinned=pinned)
    assert len(find_dominance(build_formulation(load_snapshot(folder))).better) == 0


@pytest.mark.parametrize("seed", [0, 1, 4, 5])
def test_a_long_horizon_enumerated_a_part_at_a_time_gives_the_same_variables(tmp_path, monkeypatch, seed):
    """Pairs taken a few at a time (how a long horizon keeps its memory bounded) give exactly
    the variables of one pass, with the dominated-day reduction and protected triples."""
    import pandas as pd
    from helpers import random_tiny_snapshot

    from optimiser.model import eligibility

    snapshot = load_snapshot(random_tiny_snapshot(tmp_path / "s", seed, patients=14, services=5, horizon=9))
    whole = eligibility.eligible_triples(snapshot, drop_dominated=False)
    protect = whole.sample(n=min(5, len(whole)), random_state=seed)[["patient", "service", "day"]]
    expected = [
        eligibility.eligible_triples(snapshot),
        eligibility.eligible_triples(snapshot, protect=protect),
        whole,
    ]
    monkeypatch.setattr(eligibility, "ENUMERATED_ROWS", 7)
    assert len(eligibility._pair_parts(np.full(len(eligibility.eligible_pairs(snapshot)), 9), 7)) > 1
    got = [
        eligibility.eligible_triples(snapshot),
        eligibility.eligible_triples(snapshot, protect=protect),
        eligibility.eligible_triples(snapshot, drop_dominated=False),
    ]
    for a, b in zip(expected, got):
        pd.testing.assert_frame_equal(a, b)


def test_a_long_horizon_is_enumerated_in_bounded_memory(tmp_path, monkeypatch):
    """horizon_days = 20000 once built every (patient, service, day) at once (about 180 MB
    here, 1.8 GB for the demo at 100000 days): a part at a time, the peak stays small."""
    import tracemalloc

    from family import bed_patient, care_home

    from optimiser.model import eligibility

    homes = [care_home(f"C{k}") for k in range(5)]
    capacity = [{"service_id": f"C{k}", "date": day(0), "amount": 2} for k in range(5)]
    patients = [bed_patient(f"P{k}") for k in range(10)]
    snapshot = load_snapshot(write_snapshot(tmp_path / "s", patients, homes, capacity, horizon=20000))
    monkeypatch.setattr(eligibility, "ENUMERATED_ROWS", 20000)
    tracemalloc.start()
    try:
        triples = eligibility.eligible_triples(snapshot)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(triples) == 50 and set(triples["day"]) == {0}  # one start day a pair: day 0
    assert peak < 30e6
