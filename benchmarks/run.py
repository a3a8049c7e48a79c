"""The benchmark suite: sizes x seeds x routes, in one run, with the ratios.

    python -m benchmarks.run                       # demo, ics, region; 5 seeds; all routes
    python -m benchmarks.run --sizes national --seeds 1 --routes highs,greedy

Each run is a fresh process (``benchmarks/one.py``), so peak memory is its own.
Writes benchmarks/results/latest.csv and latest.md and prints the table.
Snapshots are generated (``optimiser generate``) into a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent
DEFAULT_LIMITS = {"demo": 30, "ics": 20, "region": 40, "national": 300}
WORK_LIMITS = {"demo": 50, "ics": 200, "region": 400, "national": 2000}  # highs-work: neighbourhoods in all
COLUMNS = [
    "size",
    "route",
    "seed",
    "patients",
    "variables",
    "rows",
    "build_s",
    "solve_s",
    "total_s",
    "objective",
    "bound",
    "gap",
    "status",
    "parts_proven",
    "gap_in_pathway1",
    "peak_mb",
]


def run_one(snapshot: Path, route: str, time_limit: float, threads: int, work_limit: int | None = None) -> dict:
    command = [
        sys.executable,
        "-m",
        "benchmarks.one",
        str(snapshot),
        route,
        "--time-limit",
        str(time_limit),
        "--threads",
        str(threads),
        *([] if work_limit is None else ["--work-limit", str(work_limit)]),
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT.parent, timeout=time_limit * 3 + 120)
    except subprocess.TimeoutExpired:
        return {"route": route, "status": "timeout", "wall_s": round(time.perf_counter() - started, 2)}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"route": route, "status": "error", "error": done.stderr.strip().splitlines()[-1:] or ""}
    row = json.loads(lines[-1])
    row["wall_s"] = round(time.perf_counter() - started, 2)
    return row


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Median over seeds per size and route, with ratios to the decomposed HiGHS route."""
    numeric = ["patients", "variables", "rows", "build_s", "solve_s", "total_s", "objective", "bound", "gap", "peak_mb"]
    table = table.copy()
    table[numeric] = table[numeric].apply(pd.to_numeric, errors="coerce")
    summary = table.groupby(["size", "route"], sort=False)[numeric].median().reset_index()
    summary["optimal"] = (
        table.groupby(["size", "route"], sort=False)["status"].apply(lambda s: f"{(s == 'optimal').sum()}/{len(s)}").to_numpy()
    )
    reference = summary[summary["route"] == "highs"].set_index("size")
    summary["time_vs_highs"] = summary.apply(
        lambda row: row["total_s"] / reference.loc[row["size"], "total_s"] if row["size"] in reference.index else float("nan"),
        axis=1,
    )
    summary["objective_vs_highs"] = summary.apply(
        lambda row: (
            row["objective"] / reference.loc[row["size"], "objective"] if row["size"] in reference.index else float("nan")
        ),
        axis=1,
    )
    summary["build_share"] = summary["build_s"] / summary["total_s"]
    return summary


def tenfold(table: pd.DataFrame) -> pd.DataFrame:
    """Per size and seed: does the naive model, given ten times the limit, reach the plan the
    default route found within the limit? Where it does not, the default route is more than
    10x faster to that plan quality (time to target)."""
    wide = table[table["route"].isin(["highs", "naive-10x"])].pivot_table(
        index=["size", "seed"], columns="route", values="objective", aggfunc="first"
    )
    if "naive-10x" not in wide or "highs" not in wide:
        return pd.DataFrame()
    wide = wide.dropna().reset_index()
    wide["naive_10x_reaches_highs"] = wide["naive-10x"] <= wide["highs"] * (1 + 1e-9)
    wide["naive_10x_over_highs"] = wide["naive-10x"] / wide["highs"]
    return wide[["size", "seed", "highs", "naive-10x", "naive_10x_over_highs", "naive_10x_reaches_highs"]]


def to_markdown(frame: pd.DataFrame) -> str:
    def cell(value):
        if isinstance(value, float):
            if value != value:
                return ""
            return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
        return str(value)

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="demo,ics,region")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--routes", default="highs,highs-exact,cpsat,pyomo,naive,greedy")
    parser.add_argument("--time-limit", type=float, default=None, help="Seconds per run (default: by size).")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "results" / "latest"))
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes.split(","):
            for seed in [int(s) for s in args.seeds.split(",")]:
                snapshot = Path(scratch) / f"{size}-{seed}"
                subprocess.run(
                    [sys.executable, "-m", "optimiser.cli", "generate", str(snapshot), "--size", size, "--seed", str(seed)],
                    check=True,
                    capture_output=True,
                    cwd=ROOT.parent,
                )
                for route in args.routes.split(","):
                    # naive-10x: ten times the limit; highs-work: the limit x 10 is only a safety cap
                    limit = (args.time_limit or DEFAULT_LIMITS[size]) * (10 if route in ("naive-10x", "highs-work") else 1)
                    work = WORK_LIMITS[size] if route == "highs-work" else None
                    row = {"size": size, "seed": seed, **run_one(snapshot, route, limit, args.threads, work)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in table:
            table[column] = None
    summary = summarise(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv"), index=False)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = (
        f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {machine}; threads {args.threads}; "
        f"sizes {args.sizes}; seeds {args.seeds}.\n\nMedian over seeds:\n\n{to_markdown(summary)}\n\n"
        f"All runs:\n\n{to_markdown(table[COLUMNS])}\n"
    )
    ten = tenfold(table)
    if len(ten):
        text += f"\nTime to target (naive with 10x the limit against highs at 1x):\n\n{to_markdown(ten)}\n"
    out.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
