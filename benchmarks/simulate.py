"""Flow-simulation benchmark: a snapshot and its flow.toml, one policy setting per call.

    python -m benchmarks.simulate instances/ics --tag limit2 --time-limit 2 --runs 20
    python -m benchmarks.simulate instances/ics --tag limit10 --time-limit 10 --runs 4 --policies optimiser
    python -m benchmarks.simulate --compare limit2 limit0.5 limit10
    python -m benchmarks.simulate instances/ics --tag h4-10b --time-limit 10 --first-run 10 --runs 10
    python -m benchmarks.simulate --compare h4-2 h4-10a+h4-10b
    python -m benchmarks.simulate instances/ics --tag bound-lp --policies bound --runs 20
    python -m benchmarks.simulate --compare h4-2 bound-lp

Each call simulates with the flow file's days and seed (its runs unless --runs: run r is the
same stream whatever the number of runs), on a LocalCluster of --workers processes, and
writes benchmarks/results/simulation-TAG.json: per policy and run the total delayed bed-days
(by pathway), the waits (a count of placements by days waited, so that chunks merge
exactly), the seconds its decisions took, and the wall time. ``--first-run K`` simulates runs
K to K + runs - 1 only, so that a long setting can be run in chunks. ``--compare`` reads
such files (``A+B`` joins the chunks of one setting) and prints, for the runs they share,
each setting's figures and the paired differences of delayed bed-days with 95% intervals.

The policy ``bound`` is each run's perfect-information bound (``optimiser.simulate.bound``,
its LP; ``--bound-method mip`` for the MILP's): stored as a policy would be, with the
programme's size and seconds, so ``--compare`` pairs it with the policies of other files and
prints each policy's share of the fifo-to-bound gap closed, with its 95% interval.
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
    from optimiser.simulate.bound import BoundSettings
    from optimiser.simulate.flow import read_flow
    from optimiser.simulate.runner import bound_tasks, run_tasks, tasks_of
    from optimiser.simulate.simulation import gather

    snapshot = load_snapshot(args.snapshot)
    flow = read_flow(args.flow or Path(args.snapshot) / "flow.toml", snapshot)
    count = args.runs or flow.runs
    asked = tuple(args.policies.split(",")) if args.policies else flow.policies
    flow = flow.with_options(
        runs=args.first_run + count,
        days=args.days,
        policies=tuple(p for p in asked if p != "bound"),
        time_limit=args.time_limit,
        work_limit=args.work_limit,
    )
    tasks = [task for task in tasks_of(flow) if task.run >= args.first_run]
    floors = []
    if "bound" in asked:
        settings = BoundSettings(method=args.bound_method, time_limit=args.bound_time_limit)
        floors = [task for task in bound_tasks(flow, settings) if task.run >= args.first_run]
    started = time.perf_counter()
    results = run_tasks({0: snapshot}, floors + tasks, workers=args.workers, progress=True)
    bounds = results[: len(floors)]
    result = gather(flow, tasks, results[len(floors) :])
    wall = time.perf_counter() - started
    daily, patients = result.daily, result.patients
    run_ids = list(range(args.first_run, args.first_run + count))
    record = {"tag": args.tag, "snapshot": str(args.snapshot), "flow": str(args.flow or "flow.toml")}
    record |= {"days": flow.days, "runs": count, "run_ids": run_ids, "wall_s": wall, "horizon_days": flow.horizon_days}
    record["time_limit"], record["work_limit"] = flow.time_limit, flow.work_limit
    record["policies"] = {}
    for policy in flow.policies:
        mine = daily[daily["policy"] == policy]
        placed = patients[(patients["policy"] == policy) & patients["placed_day"].notna()]
        seconds = result.decision_seconds
        waits = placed["wait_days"].astype(int).value_counts().sort_index()
        record["policies"][policy] = {
            "delayed_bed_days": mine.groupby("run")["delayed_bed_days"].sum().reindex(run_ids).tolist(),
            "by_pathway": {
                str(k): mine[mine["pathway"] == k].groupby("run")["delayed_bed_days"].sum().reindex(run_ids).tolist()
                for k in (1, 2, 3)
            },
            "mean_wait": float(placed["wait_days"].astype(float).mean()),
            "p95_wait": float(np.percentile(placed["wait_days"].astype(float), 95)),
            "wait_counts": {str(int(k)): int(v) for k, v in waits.items()},
            "placed_per_run": float(len(placed) / count),
            "seconds_per_day": float(seconds.loc[seconds["policy"] == policy, "seconds"].mean() / flow.days),
            "seconds_per_run": seconds.loc[seconds["policy"] == policy, "seconds"].tolist(),
        }
        record["policies"][policy]["longest_wait_by_priority"] = result.summary["policies"][policy].get(
            "longest_wait_days_by_priority"
        )
        if "interim_day" in patients:
            record["policies"][policy]["interim_reuse"] = interim_reuse(patients[patients["policy"] == policy], flow.days)
    if bounds:
        record["policies"]["bound"] = {
            "method": args.bound_method,
            "delayed_bed_days": [b.delayed_bed_days for b in bounds],
            "by_pathway": {str(k): [b.pathways.get(k) for b in bounds] for k in (1, 2, 3)},
            "optimal": [b.optimal for b in bounds],
            "seconds_per_run": [b.build_seconds + b.solve_seconds for b in bounds],
            "seconds_per_day": float(np.mean([b.build_seconds + b.solve_seconds for b in bounds]) / flow.days),
            "size": [{"variables": b.variables, "rows": b.rows, "nonzeros": b.nonzeros} for b in bounds],
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"simulation-{args.tag}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({key: value for key, value in record.items() if key != "policies"}))
    for policy, figures in record["policies"].items():
        print(policy, _interval(figures["delayed_bed_days"]), f"{figures['seconds_per_day']:.2f} s/day")


def interim_reuse(patients, days: int) -> dict:
    """What reusing an interim bed only from the day after an onward move costs (docs/simulation.md):
    per run, the onward moves out of interim beds before the last day, and the entries into
    the same interim service on the day after one (each could have been a day earlier had
    the bed been reusable on the onward day: at most one delayed bed-day each)."""
    moved = patients[patients["interim_day"].notna() & patients["placed_day"].notna()]
    moved = moved[moved["placed_day"] < days - 1]
    entries = patients[patients["interim_day"].notna()]
    per_run = []
    for run, mine in moved.groupby("run"):
        theirs = entries[entries["run"] == run]
        freed = mine.groupby(["interim_service_id", "placed_day"]).size()
        entered = theirs.groupby(["interim_service_id", "interim_day"]).size()
        next_day = {(service, int(day) + 1): n for (service, day), n in freed.items()}
        reused = sum(min(n, int(entered.get((service, day), 0))) for (service, day), n in next_day.items())
        per_run.append((int(len(mine)), int(reused)))
    runs = max(patients["run"].nunique(), 1)
    return {
        "onward_moves_per_run": float(sum(m for m, _ in per_run) / runs),
        "next_day_entries_per_run": float(sum(r for _, r in per_run) / runs),
    }


def _interval(values) -> str:
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return f"{values.mean():,.0f}"
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return f"{values.mean():,.0f} ({values.mean() - half:,.0f} to {values.mean() + half:,.0f})"


def _by_run(record: dict) -> dict[str, dict[int, dict]]:
    """A record's figures by policy and run id (files before --first-run hold runs 0 to runs - 1)."""
    run_ids = record.get("run_ids", list(range(record["runs"])))
    out: dict[str, dict[int, dict]] = {}
    for policy, figures in record["policies"].items():
        seconds = figures.get("seconds_per_run", [figures["seconds_per_day"] * record["days"]] * len(run_ids))
        out[policy] = {
            run: {
                "total": figures["delayed_bed_days"][i],
                "pathways": {k: figures["by_pathway"][k][i] for k in ("1", "2", "3")},
                "seconds": seconds[i],
            }
            for i, run in enumerate(run_ids)
        }
    return out


def _setting(tag: str) -> tuple[dict, dict[str, dict[int, dict]], dict[str, dict[int, int] | None]]:
    """The record of one setting (``A+B``: its chunks joined), its figures by run and its wait counts."""
    records = [json.loads((RESULTS / f"simulation-{part}.json").read_text()) for part in tag.split("+")]
    by_run: dict[str, dict[int, dict]] = {}
    waits: dict[str, dict[int, int] | None] = {}
    for record in records:
        for policy, runs in _by_run(record).items():
            by_run.setdefault(policy, {}).update(runs)
            counts = record["policies"][policy].get("wait_counts")
            if counts is None or waits.get(policy, {}) is None:
                waits[policy] = None
            else:
                mine = waits.setdefault(policy, {})
                for wait, n in counts.items():
                    mine[int(wait)] = mine.get(int(wait), 0) + n
    return records[0], by_run, waits


def _wait_figures(counts: dict[int, int] | None, figures: dict) -> str:
    if "mean_wait" not in figures:  # the bound: no patient-level plan
        return "perfect information"
    if counts is None:  # an older file: its own figures, over all its runs
        return f"wait mean {figures['mean_wait']:.1f}, p95 {figures['p95_wait']:.0f} (all its runs)"
    days = np.array(sorted(counts))
    n = np.array([counts[d] for d in days])
    p95 = days[np.searchsorted(np.cumsum(n), 0.95 * n.sum())]
    return f"wait mean {(days * n).sum() / n.sum():.2f}, p95 {p95}"


def compare(tags: list[str]) -> None:
    settings = []
    for tag in tags:
        record, by_run, waits = _setting(tag)
        for policy, runs in by_run.items():
            label = f"{policy}@{tag}" if policy != "fifo" else "fifo"
            if any(label == known for known, *_ in settings):
                continue
            settings.append((label, runs, waits[policy], record["policies"][policy], record["days"]))
    shared = sorted(set.intersection(*(set(runs) for _, runs, *_ in settings)))
    print(f"{len(shared)} runs shared by {', '.join(tags)}: {shared[0]} to {shared[-1]}")
    for label, runs, waits, figures, days in settings:
        totals = [runs[r]["total"] for r in shared]
        seconds = np.mean([runs[r]["seconds"] for r in runs]) / days
        longest = (figures.get("longest_wait_by_priority") or {}).get("3")
        tail = f"; priority 3 longest wait {longest['mean_over_runs']:.1f} (max {longest['max']})" if longest else ""
        print(
            f"{label:>24}: delayed bed-days {_interval(totals)}; {_wait_figures(waits, figures)}{tail}; "
            f"{seconds:.2f} s/day over its {len(runs)} runs"
        )
    for i, (first, a, *_) in enumerate(settings):
        for second, b, *_ in settings[i + 1 :]:
            difference = [a[r]["total"] - b[r]["total"] for r in shared]
            pathways = ", ".join(
                f"P{k} {np.mean([a[r]['pathways'][k] - b[r]['pathways'][k] for r in shared]):+,.0f}"
                for k in ("1", "2", "3")
                if all(a[r]["pathways"][k] is not None and b[r]["pathways"][k] is not None for r in shared)
            )
            print(f"{first} - {second}: {_interval(difference)} ({pathways})")
    floor = next((runs for label, runs, *_ in settings if label.startswith("bound")), None)
    fifo = next((runs for label, runs, *_ in settings if label == "fifo"), None)
    if floor is not None and fifo is not None:
        from optimiser.simulate.results import ratio_interval

        possible = np.array([fifo[r]["total"] - floor[r]["total"] for r in shared], dtype=float)
        for label, runs, *_ in settings:
            if label == "fifo" or label.startswith("bound"):
                continue
            share = ratio_interval(np.array([fifo[r]["total"] - runs[r]["total"] for r in shared], dtype=float), possible)
            low, high = share["low"], share["high"]
            interval = f" (95% {100 * low:.1f}% to {100 * high:.1f}%)" if low is not None else ""
            print(f"{label}: closes {100 * share['mean']:.1f}%{interval} of the fifo-to-bound gap")


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
    parser.add_argument("--first-run", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compare", nargs="+", default=None)
    parser.add_argument("--bound-method", choices=("lp", "mip"), default="lp")
    parser.add_argument("--bound-time-limit", type=float, default=1800.0)
    args = parser.parse_args(argv)
    if args.compare:
        compare(args.compare)
    else:
        run(args)


if __name__ == "__main__":
    main()
