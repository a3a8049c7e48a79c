"""Each route maps its solver's own status onto one Termination, and a stopped solve keeps
its plan (status feasible), as linopy's CONDITION_MAP does."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimiser import Termination, build_formulation, load_snapshot
from optimiser.model.components import components
from optimiser.solve.cancel import Cancellation
from optimiser.solve.dispatch import ROUTES
from optimiser.solve.greedy import greedy_plan
from optimiser.solve.options import SolveOptions
from optimiser.solve.result import Status
from optimiser.solve.route import Capability

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def hard_part():
    """The pathway-1 part of instances/ics, which no route closes in seconds, and its greedy plan."""
    formulation = build_formulation(load_snapshot(ROOT / "instances" / "ics"))
    part = next(p for p in components(formulation) if 1 in p.pathways)
    sub = formulation.subset(part.columns)
    return sub, greedy_plan(sub)


@pytest.mark.parametrize("name", ["highs", "cpsat"])
def test_a_time_limit_is_a_time_limit_with_the_plan_kept(hard_part, name):
    sub, start = hard_part
    seconds = 0.5 if name == "highs" else 3.0  # CP-SAT needs a moment to take up its hint (0.5 s failed once under load)
    result = ROUTES[name].solve(sub, SolveOptions(time_limit=seconds, warm_start=start), Cancellation())
    assert result.termination == Termination.TIME_LIMIT and result.status == Status.FEASIBLE
    assert result.x is not None and sub.violations(result.x) == [] and result.bound <= result.objective


def test_a_node_limit_is_a_work_limit_for_a_route_that_declares_one(hard_part):
    sub, start = hard_part
    route = ROUTES["highs"]
    assert Capability.NODE_LIMIT in route.capabilities and Capability.NODE_LIMIT not in ROUTES["cpsat"].capabilities
    result = route.solve(sub, SolveOptions(node_limit=1, warm_start=start), Cancellation())
    assert result.termination == Termination.WORK_LIMIT and result.nodes == 1 and result.status == Status.FEASIBLE


def test_a_cancelled_solve_says_it_was_stopped(hard_part):
    sub, start = hard_part
    cancellation = Cancellation()
    cancellation.cancel("stopped by Ctrl-C")
    result = ROUTES["highs"].solve(sub, SolveOptions(warm_start=start), cancellation)
    assert result.termination == Termination.INTERRUPTED and result.message == "stopped by Ctrl-C"
    assert result.status == Status.FEASIBLE and sub.violations(result.x) == []


def test_a_child_cancellation_stops_only_its_own_solvers():
    parent = Cancellation()
    child = parent.child()
    stopped = []
    parent.register(lambda: stopped.append("parent"))
    child.register(lambda: stopped.append("child"))
    child.cancel()
    assert stopped == ["child"] and child.cancelled and not parent.cancelled
    parent.cancel("stopped at the time limit")
    assert stopped == ["child", "parent", "child"] and child.root.reason == "stopped at the time limit"
