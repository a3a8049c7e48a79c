"""The part that interim beds join (v2): the split at the interim beds against the solve before it.

    python -m benchmarks.joined instances/ics-v2 --generated 1 2 3 --time-limit 60 --threads 2

For each snapshot (``--generated N``: ``optimiser generate --size ics --bands --interim
--seed N``, the hidden-style snapshots), the LP relaxation of the whole model (the bound
before any branching), then ``allocate`` once per way of solving a large joined part
(``PartsSettings.joined``):

- ``split``: split at the interim beds (``optimiser/solve/split.py``): Lagrangian bound at
  the LP's duals, the pieces' plans repaired, then searched;
- ``auto``: the solve before it (HiGHS's root on the part, or the search from the plan
  without interim stays when there is too little time for the root).

Each with its objective, proven bound, gap, interim entries and onward moves, delayed acute
bed-days and seconds. One run each on a shared machine: compare within a run. Prints and
writes benchmarks/results/joined-TIME.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def figures(snapshot, time_limit: float, threads: int, joined: str) -> dict:
    from optimiser import allocate
    from optimiser.solve.options import PartsSettings, Tuning

    started = time.perf_counter()
    plan = allocate(snapshot, time_limit=time_limit, threads=threads, tuning=Tuning(parts=PartsSettings(joined=joined)))
    summary = plan.summary
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "objective": round(summary["objective"], 2),
        "bound": None if summary["bound"] is None else round(summary["bound"], 2),
        "gap": summary["gap"],
        "interim": summary.get("interim"),
        "onward": summary.get("onward"),
        "delayed_bed_days": summary["delayed_bed_days"],
    }


def lp_bound(snapshot) -> dict:
    from optimiser import build_formulation
    from optimiser.solve.highs import solve_lp

    started = time.perf_counter()
    formulation = build_formulation(snapshot)
    lp = solve_lp(formulation)
    return {
        "objective": round(lp.objective, 2),
        "seconds": round(time.perf_counter() - started, 1),
        "variables": formulation.num_variables,
    }


def snapshot_folders(snapshots: list[Path], seeds: list[int], work: Path) -> list[tuple[str, Path]]:
    """(name, folder) of the snapshots given, then of ``generate --size ics --bands --interim``
    for each seed (written under ``work``)."""
    from optimiser.generate import generate_snapshot

    folders = [(folder.name, folder) for folder in snapshots]
    for seed in seeds:
        folder = work / f"ics-v2-seed{seed}"
        generate_snapshot(folder, size="ics", seed=seed, bands=True, interim=True)
        folders.append((folder.name, folder))
    return folders


def main() -> None:
    from optimiser import load_snapshot

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshots", type=Path, nargs="*")
    parser.add_argument("--generated", type=int, nargs="*", default=[], help="seeds of generate --size ics --bands --interim")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", nargs="+", default=["split", "auto"], choices=["split", "auto", "plain"])
    args = parser.parse_args()
    result = {"time_limit": args.time_limit, "threads": args.threads, "snapshots": {}}
    with tempfile.TemporaryDirectory() as work:
        for name, folder in snapshot_folders(args.snapshots, args.generated, Path(work)):
            snapshot = load_snapshot(folder)
            row = {"lp": lp_bound(snapshot)}
            print(name, "lp", json.dumps(row["lp"]), flush=True)
            for mode in args.modes:
                row[mode] = figures(snapshot, args.time_limit, args.threads, mode)
                print(name, mode, json.dumps(row[mode]), flush=True)
            result["snapshots"][name] = row
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"joined-{args.time_limit:g}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
