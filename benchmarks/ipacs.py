"""IPACS benchmark: every scenario of a workbook, N runs, each mode, on a LocalCluster.

    python -m benchmarks.ipacs tests/data/ipacs/IPACS_params.xlsx --runs 500 --workers 2
    python -m benchmarks.ipacs tests/data/ipacs/IPACS_params.xlsx --runs 500 --check

Times the run and the writing of IPACS's files for each mode (one process per core, as the
command does) and writes benchmarks/results/ipacs-RUNS.json. ``--check`` also compares compat
mode with IPACS's own 5-run bed outputs (``tests/data/ipacs``): for each bed scenario and
measure, the z of our mean over the 181 days against IPACS's, in combined standard errors
from the spread of the runs' own means, and prints how many are within 4 and the largest.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
REFERENCE = Path(__file__).resolve().parent.parent / "tests" / "data" / "ipacs" / "bed_testing_using_IPACS_params.csv"


def z_scores(result) -> pd.DataFrame:
    reference = pd.read_csv(REFERENCE)
    rows = []
    for runs in result.of("bed"):
        per = result.per_run(runs)
        for measure, values in per.items():
            run_means = values.mean(axis=1)
            sd = run_means.std(ddof=1)
            se = math.sqrt(sd**2 / len(run_means) + sd**2 / 5)
            gap = run_means.mean() - reference[f"{runs.scenario.name}__{measure}"].mean()
            rows.append((runs.scenario.name, measure, gap / se if se > 0 else (0.0 if abs(gap) < 1e-9 else math.inf)))
    return pd.DataFrame(rows, columns=["scenario", "measure", "z"])


def main() -> None:
    from optimiser.ipacs.outputs import run_ipacs
    from optimiser.ipacs.workbook import read_workbook

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workbook")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    book = read_workbook(args.workbook)
    record = {"workbook": Path(args.workbook).name, "runs": args.runs, "workers": args.workers, "modes": {}}
    for mode in ("textbook", "compat"):
        started = time.perf_counter()
        result = run_ipacs(book, args.runs, 1, mode, None, args.workers, None, progress=False)
        ran = time.perf_counter() - started
        files = result.files()
        written = time.perf_counter() - started
        figures = {"scenarios": len(result.scenarios), "run_seconds": round(ran, 1), "with_files_seconds": round(written, 1)}
        if args.check:
            z = z_scores(result)
            figures["within_4_se"] = int((z["z"].abs() <= 4).sum())
            figures["series"] = len(z)
            figures["largest_abs_z"] = round(float(z["z"].abs().max()), 3)
            figures["largest_at"] = z.loc[z["z"].abs().idxmax(), ["scenario", "measure"]].tolist()
        record["modes"][mode] = figures
        print(mode, json.dumps(figures), flush=True)
        del files
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"ipacs-{args.runs}.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
