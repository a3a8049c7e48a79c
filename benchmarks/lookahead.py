"""The lookahead policy's parts, one at a time, on the same runs (common random numbers).

    python -m benchmarks.lookahead instances/ics --days 30 --runs 4 \\
        --variants fifo,optimiser,la:1:1:0,la:0:1:0,la:0:0:3,la:1:1:3
    python -m benchmarks.lookahead instances/ics --flow benchmarks/flows/ics-fixed-stays.toml --days 30 --runs 4
    python -m benchmarks.lookahead instances/ics-v2 --days 30 --runs 8 --variants ws:whole,ws:kept,ws:none --tag v2-warm

A variant is ``fifo``, ``optimiser``, ``la:PHANTOMS:FLAT_HARM:CAPACITY_PRICE[:MAX_WAIT_DAYS]``
(the ``[lookahead]`` table's parts, 1 on and 0 off; ``optimiser.simulate.lookahead``), or
``ws:WARM_START`` (the optimiser starting from yesterday's plan: ``whole``, ``kept`` or ``none``). Each
(variant, run) is one Dask task on ``--workers`` processes. Prints per variant the mean
delayed bed-days (by pathway), the mean and 95th-percentile wait of those placed, the
longest wait, seconds a day, and the paired difference from fifo with its standard error;
writes benchmarks/results/lookahead-TAG.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


@functools.lru_cache(maxsize=None)
def _loaded(snapshot: str, flow_file: str | None, days: int | None):
    from optimiser import load_snapshot
    from optimiser.simulate.flow import read_flow

    loaded = load_snapshot(snapshot)
    flow = read_flow(flow_file or Path(snapshot) / "flow.toml", loaded)
    return loaded, flow.with_options(days=days)


def variant_flow(flow, variant: str):
    """(policy, flow) of a variant name (module doc)."""
    from optimiser.simulate.lookahead import Lookahead

    if variant.startswith("ws:"):  # the optimiser with yesterday's plan as a start: whole, kept or none
        return "optimiser", dataclasses.replace(flow, warm_start=variant.split(":")[1])
    if not variant.startswith("la"):
        return variant, flow
    parts = variant.split(":")
    ahead = Lookahead(phantoms=parts[1] == "1", flat_harm=parts[2] == "1", capacity_price=float(parts[3]))
    flow = dataclasses.replace(flow, lookahead=ahead)
    if len(parts) > 4:
        flow = dataclasses.replace(flow, max_wait_days=int(parts[4]))
    return "lookahead", flow


def one(shared, task) -> dict:
    from optimiser.simulate.engine import simulate_run
    from optimiser.simulate.runner import run_seeds

    snapshot_path, flow_file, days, variant, run = task
    snapshot, flow = _loaded(snapshot_path, flow_file, days)
    policy, mine = variant_flow(flow, variant)
    out = simulate_run(snapshot, mine, policy, run, run_seeds(flow)[run])
    daily, patients = out["daily"], out["patients"]
    waits = patients.loc[patients["placed_day"].notna(), "wait_days"].astype(float)
    return {
        "variant": variant,
        "run": run,
        "total": int(daily["delayed_bed_days"].sum()),
        "by_pathway": {int(k): int(v) for k, v in daily.groupby("pathway")["delayed_bed_days"].sum().items()},
        "mean_wait": float(waits.mean()),
        "p95_wait": float(waits.quantile(0.95)),
        "longest_waits": out["longest_waits"],
        "seconds": out["decision_seconds"],
    }


def main(argv=None) -> None:
    from optimiser.simulate.runner import map_tasks

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshot")
    parser.add_argument("--flow", default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--variants", default="fifo,optimiser,la:1:1:0,la:0:1:0,la:0:0:3,la:1:1:3")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tag", default="latest")
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    tasks = [(args.snapshot, args.flow, args.days, v, r) for r in range(args.runs) for v in variants]
    began = time.perf_counter()
    results = map_tasks(one, None, tasks, workers=args.workers, progress=True, label="variants")
    wall = time.perf_counter() - began
    by_variant: dict[str, list[dict]] = {}
    for result in results:
        by_variant.setdefault(result["variant"], []).append(result)
    days = args.days or _loaded(args.snapshot, args.flow, args.days)[1].days
    fifo = np.array([r["total"] for r in by_variant.get("fifo", [])], dtype=float)
    for variant, rows in by_variant.items():
        totals = np.array([r["total"] for r in rows], dtype=float)
        pathways = {k: round(float(np.mean([r["by_pathway"].get(k, 0) for r in rows]))) for k in (1, 2, 3)}
        p3 = [r["longest_waits"].get(3) for r in rows if 3 in r["longest_waits"]]
        line = (
            f"{variant:>16}: {totals.mean():9.1f} by pathway {pathways}; wait mean {np.mean([r['mean_wait'] for r in rows]):.2f}, "
            f"p95 {np.mean([r['p95_wait'] for r in rows]):.1f}; priority 3 longest {np.mean(p3) if p3 else float('nan'):.1f}; "
            f"{np.mean([r['seconds'] for r in rows]) / days:.2f} s/day"
        )
        if len(fifo) == len(totals) and variant != "fifo":
            difference = totals - fifo
            error = difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else 0.0
            line += f"; vs fifo {difference.mean():+.1f} (se {error:.1f})"
        print(line)
    print(f"wall {wall:.0f} s")
    RESULTS.mkdir(exist_ok=True)
    record = {"snapshot": args.snapshot, "flow": args.flow, "days": days, "runs": args.runs, "wall_s": wall, "results": results}
    (RESULTS / f"lookahead-{args.tag}.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
