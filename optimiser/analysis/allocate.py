"""``allocate``: a snapshot in, a Plan out (build the formulation, solve it, explain the result).

The daily allocation, and the one call that what-ifs, capacity values and the CLI
make; ``keep`` adds the disruption penalty of re-planning (``model/previous.py``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.analysis.plan import Plan, make_plan
from optimiser.constants import DISRUPTION_PENALTY
from optimiser.data.snapshot import Snapshot
from optimiser.model.formulation import Formulation, build_formulation
from optimiser.model.loading import load_snapshot
from optimiser.model.previous import agreed_moves, columns_of, placement_triples, start_vector, with_disruption_penalty
from optimiser.solve.cancel import session
from optimiser.solve.dispatch import SOLVERS, check_work_limit, solve
from optimiser.solve.options import Deadline, Tuning, checked_limits
from optimiser.solve.progress import Board
from optimiser.solve.result import SolveResult


def allocate(
    snapshot: Snapshot | str | Path,
    solver: str = "highs",
    time_limit: float | None = None,
    threads: int = 1,
    mip_gap: float = 1e-6,
    seed: int = 0,
    warm_start: bool = True,
    decompose: bool = True,
    naive: bool = False,
    log: bool = False,
    keep: pd.DataFrame | None = None,
    disruption_penalty: float = DISRUPTION_PENALTY,
    start: pd.DataFrame | None = None,
    work_limit: int | None = None,
    tuning: Tuning = Tuning(),
    progress: Board | None = None,
) -> Plan:
    """Match patients to places over the horizon; return the Plan.

    ``solver``: ``highs`` (exact MILP through highspy, default), ``cpsat``
    (OR-Tools CP-SAT), ``pyomo`` (Pyomo model solved by HiGHS) or ``greedy``
    (first come first served baseline). ``time_limit`` in seconds, counted
    from the call (loading, building and the warm start included), stops with
    the best plan found (status ``feasible``); ``mip_gap`` is the relative gap
    at which a plan counts as optimal. ``decompose`` solves independent parts
    apart (exact); ``naive`` builds the contract's rows literally and solves
    one MILP (the benchmark baseline).

    ``keep``: an earlier plan's placements (patient_id, service_id,
    start_date; see ``data.files.read_plan_placements``). Each patient moved
    from its earlier service and date adds ``disruption_penalty`` to the
    objective solved; the plan's ``objective`` stays the standard one, and
    status, bound and gap of the penalised objective are in
    ``summary["keep"]``. ``start``: placements to start the search from
    (used when they are feasible and better than the greedy plan).

    ``work_limit`` (``highs``): limits that count work, not seconds, so the
    same snapshot and options give the same plan on any machine and under
    any load: each part's exact solve stops after its root node, then the
    neighbourhood search gets
    ``work_limit`` neighbourhoods in all. ``time_limit`` is then a safety
    cap; the summary's message is ``work limit reached`` when it did not cut in.
    ``tuning``: the search's and the parts' settings (``solve/options.py``).
    ``progress``: a ``solve.progress.Board`` told the plan and bound as the solve goes
    (with ``keep``, those of the penalised objective).
    """
    started = time.perf_counter()
    if not isinstance(snapshot, Snapshot):
        snapshot = load_snapshot(snapshot)
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")
    time_limit = checked_limits(time_limit, threads, work_limit)
    check_work_limit(work_limit, solver, decompose and not naive)
    options = {
        "solver": solver,
        "time_limit": time_limit,
        "threads": threads,
        "mip_gap": mip_gap,
        "seed": seed,
        "decompose": decompose and not naive,
        "naive": naive,
        "work_limit": work_limit,
    }
    solve_options = dict(
        threads=threads, mip_gap=mip_gap, seed=seed, log=log, work_limit=work_limit, tuning=tuning, progress=progress
    )
    with session() as cancellation:
        kept = None if keep is None else placement_triples(snapshot, keep)
        formulation = build_formulation(snapshot, naive=naive, protect=kept)
        given = None if start is None else start_vector(formulation, placement_triples(snapshot, start))
        solve_options["time_limit"] = Deadline(time_limit, started).left(0.05)
        solve_options["cancel"] = cancellation
        if kept is None:
            result = solve(
                formulation,
                solver,
                warm_start=warm_start,
                decompose=decompose and not naive,
                start=given,
                **solve_options,
            )
            return make_plan(formulation, result, options)
        penalised = with_disruption_penalty(formulation, kept, disruption_penalty)
        if given is None:
            given = start_vector(formulation, kept)
        result = solve(
            penalised,
            solver,
            warm_start=warm_start,
            decompose=decompose and not naive,
            start=given,
            **solve_options,
        )
        return _plan_with_keep(formulation, result, kept, disruption_penalty, options)


def _plan_with_keep(formulation: Formulation, result: SolveResult, kept: pd.DataFrame, penalty: float, options: dict) -> Plan:
    """The plan judged by the standard objective; the penalised solve's figures under ``summary["keep"]``."""
    x = result.x if result.x is not None else np.zeros(formulation.num_variables)
    columns = columns_of(formulation, agreed_moves(kept))
    stayed = int(np.sum(x[columns[columns >= 0]] > 0.5))
    standard = dataclasses.replace(result, objective=formulation.value(x), bound=float("-inf"))
    plan = make_plan(formulation, standard, {**options, "keep": True, "disruption_penalty": penalty})
    plan.summary["keep"] = {
        "previous_placements": int(len(np.unique(kept["patient"]))),
        "kept": stayed,
        "moved": int(len(np.unique(kept["patient"])) - stayed),
        "disruption_penalty": penalty,
        "status": result.status.value,
        "penalised_objective": result.objective,
        "penalised_bound": result.bound,
        "penalised_gap": result.gap,
        "parts": plan.summary["parts"],  # the parts' gaps are those of the penalised solve
    }
    plan.summary["parts"] = None
    return plan
