"""One benchmark run in a fresh process: load, build, solve, plan; prints one JSON line.

    python -m benchmarks.one SNAPSHOT ROUTE [--time-limit S] [--threads N]

ROUTE is highs, highs-exact (highs without the large-neighbourhood polish),
highs-work (highs with ``--work-limit``: counted work, the same plan on every
run; the time limit is then only a safety cap), cpsat, pyomo, greedy, naive
(the contract's rows written literally and solved as one HiGHS MILP) or
naive-10x (the same; ``benchmarks.run`` gives it ten times the limit). Peak
memory is this process's. For the routes that solve by parts, ``parts_proven`` and
``gap_in_pathway1`` (share of the absolute gap in parts with pathway-1 patients) say
where the gap is.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("snapshot")
    parser.add_argument("route")
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work-limit", type=int, default=200, help="highs-work: neighbourhoods in all")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from optimiser import build_formulation, load_snapshot, solve
    from optimiser.analysis.plan import make_plan

    snapshot = load_snapshot(args.snapshot)
    loaded = time.perf_counter()
    naive = args.route in ("naive", "naive-10x")
    formulation = build_formulation(snapshot, naive=naive)
    built = time.perf_counter()
    solver = "highs" if args.route in ("naive", "naive-10x", "highs-exact", "highs-work") else args.route
    polish = args.route in ("highs", "highs-work")
    work = {"work_limit": args.work_limit} if args.route == "highs-work" else {}
    # The limit counts the whole run, as `optimiser allocate --time-limit` does.
    left = None if args.time_limit is None else max(args.time_limit - (built - started), 0.05)
    result = solve(formulation, solver, decompose=not naive, polish=polish, time_limit=left, threads=args.threads, **work)
    solved = time.perf_counter()
    plan = make_plan(formulation, result)
    finished = time.perf_counter()
    row = {
        "route": args.route,
        "patients": len(snapshot.patients),
        "services": len(snapshot.services),
        "variables": formulation.num_variables,
        "rows": formulation.num_rows,
        "load_s": round(loaded - started, 3),
        "build_s": round(built - loaded, 3),
        "solve_s": round(solved - built, 3),
        "total_s": round(finished - started, 3),
        "status": plan.summary["status"],
        "objective": plan.summary["objective"],
        "bound": plan.summary["bound"],
        "gap": plan.summary["gap"],
        "placed": plan.summary["placed"],
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "components": None if result.parts is None else len(result.parts),
        **where_the_gap_is(result.parts),
        "message": result.message,
    }
    print(json.dumps(row))
    return 0


def where_the_gap_is(reports) -> dict:
    """Parts proven optimal, and the share of the absolute gap held by parts with pathway-1
    patients (empty for a route that solves the model whole)."""
    from optimiser.analysis.plan import parts_summary

    parts = parts_summary(reports, listed=None)
    if parts is None:
        return {}
    shares = [part["share_of_gap"] for part in parts["open"] if 1 in part["pathways"]]
    known = any(part["share_of_gap"] is not None for part in parts["open"])
    return {
        "parts_proven": f"{parts['proven_optimal']}/{parts['count']}",
        "gap_in_pathway1": round(sum(share or 0.0 for share in shares), 4) if known else None,
    }


if __name__ == "__main__":
    sys.exit(main())
