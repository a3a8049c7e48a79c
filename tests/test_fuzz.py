"""Fuzzing the loader and the CLI with damaged snapshots: the answer is always a plan or an
input error (exit status 2, our message), never a traceback, and nothing is written on error.
More cases: ``python -m tests.fuzz.run --cases 10000``."""

from __future__ import annotations

import itertools
from pathlib import Path

from click.testing import CliRunner
from fuzz.mutations import apply, damage
from hypothesis import HealthCheck, given, settings

from optimiser import InputError, allocate, load_snapshot
from optimiser.cli import main

DEMO = Path(__file__).resolve().parent.parent / "instances" / "demo"
COUNTER = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=damage())
def test_a_damaged_snapshot_loads_or_is_an_input_error(tmp_path_factory, edits):
    folder = apply(DEMO, tmp_path_factory.mktemp("fuzz") / "s", edits)
    try:
        snapshot = load_snapshot(folder)
    except InputError as error:
        assert error.problems and "nothing was written" in error.report()
        return
    plan = allocate(snapshot, solver="greedy")  # what loads can be planned
    assert plan.summary["placed"] + plan.summary["unplaced"] == len(snapshot.patients)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=damage())
def test_the_cli_answers_a_damaged_snapshot_with_a_plan_or_exit_2(tmp_path_factory, edits):
    root = tmp_path_factory.mktemp("cli")
    folder = apply(DEMO, root / "s", edits)
    out = root / "plan"
    result = CliRunner().invoke(main, ["allocate", str(folder), "--out", str(out), "--solver", "greedy"])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert not out.exists()
    else:
        assert sorted(p.name for p in out.iterdir()) == ["plan.csv", "summary.json", "unplaced.csv"]
