"""Flow-simulation benchmark: a snapshot and its flow.toml, one policy setting per call.

    python -m benchmarks.simulate instances/ics --tag limit2 --time-limit 2 --runs 20
    python -m benchmarks.simulate instances/ics --tag limit10 --time-limit 10 --runs 4 --policies optimiser
    python -m benchmarks.simulate --compare limit2 limit0.5 limit10

Each call simulates with the flow file's days and seed (its runs unless --runs: the first N
runs are the same streams whatever N), on a LocalCluster of --workers processes, and writes
benchmarks/results/simulation-TAG.json: per policy and run the total delayed bed-days (by
pathway), the waits, the seconds its decisions took, and the wall time. ``--compare`` reads
such files and prints, for the runs they share, each setting's figures and the paired
differences of delayed bed-days with 95% intervals.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def run(args) -> None:
    from optimiser import load_snapshot
    from optimiser.simulate import simulate

    snapshot = load_snapshot(args.snapshot)
    started = time.perf_counter()
    result = simulate(
        snapshot,
        args.flow,
        runs=args.runs,
        days=args.days,
        policies=tuple(args.policies.split(",")) if args.policies else None,
        time_limit=args.time_limit,
        work_limit=args.work_limit,
        workers=args.workers,
        progress=True,
    )
    wall = time.perf_counter() - started
    daily, patients = result.daily, result.patients
    record = {"tag": args.tag, "snapshot": str(args.snapshot), "days": result.flow.days, "runs": result.flow.runs, "wall_s": wall}
    record["time_limit"], record["work_limit"] = result.flow.time_limit, result.flow.work_limit
    record["policies"] = {}
    for policy in result.flow.policies:
        mine = daily[daily["policy"] == policy]
        placed = patients[(patients["policy"] == policy) & patients["placed_day"].notna()]
        seconds = result.decision_seconds
        record["policies"][policy] = {
            "delayed_bed_days": mine.groupby("run")["delayed_bed_days"].sum().tolist(),
            "by_pathway": {
                str(k): mine[mine["pathway"] == k].groupby("run")["delayed_bed_days"].sum().tolist() for k in (1, 2, 3)
            },
            "mean_wait": float(placed["wait_days"].astype(float).mean()),
            "p95_wait": float(np.percentile(placed["wait_days"].astype(float), 95)),
            "placed_per_run": float(len(placed) / result.flow.runs),
            "seconds_per_day": float(seconds.loc[seconds["policy"] == policy, "seconds"].mean() / result.flow.days),
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"simulation-{args.tag}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({key: value for key, value in record.items() if key != "policies"}))
    for policy, figures in record["policies"].items():
        print(policy, _interval(figures["delayed_bed_days"]), f"{figures['seconds_per_day']:.2f} s/day")


def _interval(values) -> str:
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return f"{values.mean():,.0f}"
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return f"{values.mean():,.0f} ({values.mean() - half:,.0f} to {values.mean() + half:,.0f})"


def compare(tags: list[str]) -> None:
    records = [json.loads((RESULTS / f"simulation-{tag}.json").read_text()) for tag in tags]
    runs = min(record["runs"] for record in records)
    print(f"{runs} runs shared by {', '.join(tags)}")
    settings = []
    for record in records:
        for policy, figures in record["policies"].items():
            label = f"{policy}@{record['tag']}" if policy != "fifo" else "fifo"
            if any(label == known for known, _ in settings):
                continue
            settings.append((label, figures))
            print(
                f"{label:>20}: delayed bed-days {_interval(figures['delayed_bed_days'][:runs])}; "
                f"wait mean {figures['mean_wait']:.1f}, p95 {figures['p95_wait']:.0f}; {figures['seconds_per_day']:.2f} s/day"
            )
    for i, (first, a) in enumerate(settings):
        for second, b in settings[i + 1 :]:
            difference = np.asarray(a["delayed_bed_days"][:runs]) - np.asarray(b["delayed_bed_days"][:runs])
            pathways = ", ".join(
                f"P{k} {np.mean(np.asarray(a['by_pathway'][k][:runs]) - np.asarray(b['by_pathway'][k][:runs])):+,.0f}"
                for k in ("1", "2", "3")
            )
            print(f"{first} - {second}: {_interval(difference)} ({pathways})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshot", nargs="?")
    parser.add_argument("--flow", default=None)
    parser.add_argument("--tag", default="latest")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--policies", default=None)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--work-limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compare", nargs="+", default=None)
    args = parser.parse_args(argv)
    if args.compare:
        compare(args.compare)
    else:
        run(args)


if __name__ == "__main__":
    main()
