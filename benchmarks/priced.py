"""How far the daily plan is from optimal on a snapshot with bands: the plan and its proven
bound from ``allocate``, against the priced bound (``optimiser/solve/pricing.py``:
Dantzig-Wolfe over the home care services, piece by piece, the pieces split at the interim
beds as the solve splits them).

    python -m benchmarks.priced instances/ics-v2 --generated 2 3 --time-limit 60 --bound-seconds 600

For each snapshot: ``allocate`` once (objective, the solve's bound and gap), then
``decomposed_bound`` for ``--bound-seconds`` (HiGHS at most 60 s a piece, then column
generation on the pieces with band services): its bound, each band piece's LP, HiGHS and
priced bounds, and the plan's gap against the better proven bound. The priced bound takes
minutes: an analysis of the plans, not a step of the daily solve. One run on a shared
machine. Prints and writes benchmarks/results/priced-TAG.json (``--tag``; the bound's
seconds by default).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.joined import snapshot_folders

RESULTS = Path(__file__).resolve().parent / "results"


def plan_figures(snapshot, time_limit: float, threads: int) -> dict:
    from optimiser import allocate

    started = time.perf_counter()
    summary = allocate(snapshot, time_limit=time_limit, threads=threads).summary
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "objective": round(summary["objective"], 2),
        "bound": None if summary["bound"] is None else round(summary["bound"], 2),
        "gap": summary["gap"],
    }


def bound_figures(snapshot, seconds: float, threads: int) -> dict:
    import importlib

    from optimiser import build_formulation

    pricing = importlib.import_module("optimiser.solve.pricing")
    started = time.perf_counter()
    found = pricing.decomposed_bound(build_formulation(snapshot), time_limit=seconds, threads=threads)
    pieces = [
        {
            "columns": piece.columns,
            "pathways": list(piece.pathways),
            "highs": round(piece.highs, 2),
            "lp": round(piece.priced.lp, 2),
            "priced": round(piece.priced.bound, 2),
            "master": round(piece.priced.master, 2),
            "iterations": piece.priced.iterations,
            "patterns": piece.priced.patterns,
            "converged": piece.priced.converged,
            "seconds": round(piece.priced.seconds, 1),
        }
        for piece in found.pieces
        if piece.priced is not None
    ]
    return {"bound": round(found.bound, 2), "seconds": round(time.perf_counter() - started, 1), "band_pieces": pieces}


def main() -> None:
    from optimiser import load_snapshot
    from optimiser.solve.result import relative_gap

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshots", type=Path, nargs="*")
    parser.add_argument("--generated", type=int, nargs="*", default=[], help="seeds of generate --size ics --bands --interim")
    parser.add_argument("--time-limit", type=float, default=60.0, help="allocate's time limit")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bound-seconds", type=float, default=600.0)
    parser.add_argument("--tag", default=None, help="results/priced-TAG.json (default: the bound seconds)")
    args = parser.parse_args()
    result = {"time_limit": args.time_limit, "threads": args.threads, "bound_seconds": args.bound_seconds, "snapshots": {}}
    with tempfile.TemporaryDirectory() as work:
        for name, folder in snapshot_folders(args.snapshots, args.generated, Path(work)):
            snapshot = load_snapshot(folder)
            row = {"plan": plan_figures(snapshot, args.time_limit, args.threads)}
            print(name, "plan", json.dumps(row["plan"]), flush=True)
            row["priced"] = bound_figures(snapshot, args.bound_seconds, args.threads)
            proven = max(row["priced"]["bound"], row["plan"]["bound"] or -float("inf"))
            objective = row["plan"]["objective"]
            row["gap_against_priced"] = round(relative_gap(objective, proven), 4)
            print(name, "priced", json.dumps(row["priced"]), "gap", row["gap_against_priced"], flush=True)
            result["snapshots"][name] = row
    RESULTS.mkdir(exist_ok=True)
    tag = args.tag or f"{args.bound_seconds:g}"
    (RESULTS / f"priced-{tag}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
