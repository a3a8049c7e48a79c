"""The summary's ``parts``: where the gap is, by independent part of the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser import allocate
from optimiser.analysis.plan import parts_summary
from optimiser.cli import main
from optimiser.model.components import components
from optimiser.solve.result import PartFacts, PartReport

ROOT = Path(__file__).resolve().parent.parent
ICS = ROOT / "instances" / "ics"


def details(gaps, optimal):
    return [
        PartReport(PartFacts(pathways=(1,), patients=10 + i, services=3, sites=("H",)), ok, gap, 0.0)
        for i, (gap, ok) in enumerate(zip(gaps, optimal))
    ]


def test_open_parts_come_largest_gap_first_with_shares_of_the_gap():
    parts = parts_summary(details([0.0, 5.0, 15.0, None, 0.0], [True, False, False, False, True]))
    assert parts["count"] == 5 and parts["proven_optimal"] == 2
    assert [part["patients"] for part in parts["open"]] == [12, 11, 13]  # the part with no plan comes last
    assert [part["absolute_gap"] for part in parts["open"]] == [15.0, 5.0, None]
    assert [part["share_of_gap"] for part in parts["open"]] == [0.75, 0.25, None]


def test_only_the_largest_open_parts_are_listed():
    parts = parts_summary(details([float(g) for g in range(20)], [False] * 20), listed=4)
    assert [part["absolute_gap"] for part in parts["open"]] == [19.0, 18.0, 17.0, 16.0]
    assert parts["count"] - parts["proven_optimal"] == 20


def test_no_parts_when_the_model_is_solved_whole():
    plan = allocate(ROOT / "instances" / "demo", decompose=False)
    assert plan.summary["parts"] is None
    assert allocate(ROOT / "instances" / "demo", solver="greedy").summary["parts"] is None


def test_demo_every_part_proven():
    plan = allocate(ROOT / "instances" / "demo")
    assert plan.status == "optimal"
    parts = plan.summary["parts"]
    assert parts["count"] == len(components(plan.formulation)) and parts["proven_optimal"] == parts["count"]
    assert parts["open"] == []


def test_on_ics_the_open_parts_hold_the_whole_gap():
    """Cut short, the plan and bound differ by exactly the open parts' gaps (parts share no row)."""
    plan = allocate(ICS, time_limit=2)
    parts = plan.summary["parts"]
    assert parts["count"] == len(components(plan.formulation))
    assert plan.status == "feasible" and parts["open"], "ics is not proven in 2 s"
    total = sum(part["absolute_gap"] for part in parts["open"])
    assert total == pytest.approx(plan.objective - plan.summary["bound"], abs=1e-4)
    assert sum(part["share_of_gap"] for part in parts["open"]) == pytest.approx(1.0)
    assert all(part["pathways"] == [1] for part in parts["open"])  # bed pathways are networks, proven at once
    assert sum(part["patients"] for part in parts["open"]) <= plan.summary["by_pathway"]["1"]["patients"]


def test_cli_says_where_the_gap_is_and_keeps_the_time_limit_asked(tmp_path):
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["allocate", str(ICS), "--out", str(out), "--time-limit", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["options"]["time_limit"] == 2.0
    assert "Proven optimal: 2 of 3 independent parts; the gap is all in one (pathway 1: 138 patients" in result.output
    demo = CliRunner().invoke(main, ["allocate", str(ROOT / "instances" / "demo"), "--out", str(tmp_path / "demo")])
    assert "Proven optimal" not in demo.output


def test_with_keep_the_parts_are_those_of_the_penalised_solve():
    demo = ROOT / "instances" / "demo"
    base = allocate(demo)
    plan = allocate(demo, keep=base.placements[["patient_id", "service_id", "start_date"]])
    assert plan.summary["parts"] is None  # the top-level bound is null: no gap to place
    assert plan.summary["keep"]["parts"]["proven_optimal"] == plan.summary["keep"]["parts"]["count"]


def test_the_human_line_names_the_open_parts():
    from optimiser.cli import _open_parts_line

    parts = parts_summary(details([0.0, 5.0, 15.0], [True, False, False]))
    parts["open"][1]["pathways"] = [1, 2]
    assert _open_parts_line(parts) == (
        "Proven optimal: 1 of 3 independent parts; the gap is in 2 (pathways 1, 2), "
        "the largest (12 patients, 3 services) holds 75% of it."
    )
