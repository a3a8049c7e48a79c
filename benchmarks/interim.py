"""Interim stays and time-of-day bands on a v2 system (contract 6.1 and 6.2): what each is worth.

    python -m benchmarks.interim instances/ics-v2 --v1 instances/ics --time-limit 60

On the v2 snapshot, three plans with the same time limit (HiGHS, one run each, so the
figures are of one run on this noisy machine):

- ``interim``: the snapshot as it is;
- ``no_interim``: the same beds, none marked interim (patients wait in acute beds);
- ``hours_only``: interim as it is, bands added up into all-day carer-hours; its pathway-1
  starts (direct and onward) are replayed against the band capacity: a start that does not
  fit in some band is one that planning by daily hours promises and providers cannot staff.

and the v1 snapshot (``--v1``) with the same limit, for the solve against ics. Prints and
writes benchmarks/results/interim-NAME.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.bands import unstaffed_starts, without_bands

RESULTS = Path(__file__).resolve().parent / "results"


def without_interim(folder: Path, target: Path) -> None:
    """The snapshot with no service interim (the same beds, for pathway-2 patients only)."""
    shutil.copytree(folder, target)
    services = pd.read_csv(target / "services.csv", dtype=str, keep_default_na=False)
    services["interim"] = "no"
    services.to_csv(target / "services.csv", index=False)


def figures_of(plan, seconds: float) -> dict:
    summary = plan.summary
    return {
        "seconds": round(seconds, 1),
        "status": summary["status"],
        "objective": round(summary["objective"], 2),
        "bound": None if summary["bound"] is None else round(summary["bound"], 2),
        "gap": summary["gap"],
        "placed": summary["placed"],
        "interim": summary.get("interim"),
        "onward": summary.get("onward"),
        "delayed_bed_days": summary["delayed_bed_days"],
        "variables": summary["model"]["variables"],
        "rows": summary["model"]["rows"],
    }


def main() -> None:
    from optimiser import allocate, load_snapshot

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--v1", type=Path, default=None, help="a v1 snapshot to solve with the same limit")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    result = {"snapshot": str(args.snapshot), "time_limit": args.time_limit}
    with tempfile.TemporaryDirectory() as work:
        plain, hours = Path(work) / "no_interim", Path(work) / "hours_only"
        without_interim(args.snapshot, plain)
        without_bands(args.snapshot, hours)
        for name, folder in (("interim", args.snapshot), ("no_interim", plain), ("hours_only", hours)):
            started = time.perf_counter()
            plan = allocate(load_snapshot(folder), time_limit=args.time_limit)
            result[name] = figures_of(plan, time.perf_counter() - started)
            if name == "hours_only":
                starts = plan.placements[(plan.placements["pathway"] == 1) & (plan.placements["stage"] != "interim")]
                result[name]["pathway1_starts"] = len(starts)
                result[name]["unstaffed_starts"] = unstaffed_starts(load_snapshot(args.snapshot), starts)
            print(name, json.dumps(result[name]), flush=True)
    if args.v1 is not None:
        started = time.perf_counter()
        plan = allocate(load_snapshot(args.v1), time_limit=args.time_limit)
        result["v1"] = {"snapshot": str(args.v1), **figures_of(plan, time.perf_counter() - started)}
        print("v1", json.dumps(result["v1"]), flush=True)
    saved = result["no_interim"]["delayed_bed_days"] - result["interim"]["delayed_bed_days"]
    result["acute_bed_days_saved_by_interim"] = saved
    print("acute bed-days saved by marking the beds interim:", saved)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"interim-{args.snapshot.name}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
