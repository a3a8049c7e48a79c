"""Limits that make no sense are refused with a clear message, before any work: nan, zero and
negative seconds, zero threads; inf seconds means no limit."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser import allocate, build_formulation, load_snapshot, solve
from optimiser.cli import main

DEMO = Path(__file__).resolve().parent.parent / "instances" / "demo"


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--time-limit", "nan", "nan is not a number of seconds"),
        ("--time-limit", "0", "0.0 is not in the range x>0"),
        ("--time-limit", "-1", "-1.0 is not in the range x>0"),
        ("--threads", "0", "0 is not in the range x>=1"),
        ("--work-limit", "-3", "-3 is not in the range x>=0"),
    ],
)
def test_the_cli_refuses_a_limit_that_makes_no_sense(tmp_path, option, value, message):
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["allocate", str(DEMO), "--out", str(out), option, value])
    assert result.exit_code == 2 and message in result.stderr and not out.exists()


def test_an_infinite_time_limit_is_no_limit(tmp_path):
    """In a process of its own: the watchdog thread once raised on inf seconds (a traceback
    on stderr, though the plan was written and the exit status 0)."""
    command = [sys.executable, "-m", "optimiser", "allocate", str(DEMO), "--out", str(tmp_path / "plan")]
    result = subprocess.run([*command, "--time-limit", "inf", "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and '"time_limit": null' in result.stdout and '"status": "optimal"' in result.stdout
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr


@pytest.mark.parametrize(
    "limits", [{"time_limit": math.nan}, {"time_limit": 0}, {"time_limit": -1}, {"threads": 0}, {"work_limit": -1}]
)
def test_the_api_refuses_a_limit_that_makes_no_sense(limits):
    with pytest.raises(ValueError, match="must be"):
        allocate(DEMO, **limits)
    with pytest.raises(ValueError, match="must be"):
        solve(build_formulation(load_snapshot(DEMO)), **limits)


def test_simulate_refuses_nan_seconds_a_day(tmp_path):
    result = CliRunner().invoke(main, ["simulate", str(DEMO), "--out", str(tmp_path / "s"), "--policy-time-limit", "nan"])
    assert result.exit_code == 2 and "nan is not a number of seconds" in result.stderr
