"""Time-of-day bands (contract v2, rule 5b): what planning by daily hours alone promises.

    python -m benchmarks.bands --size ics --seeds 1 2 3 --work-limit 200

For each seed: ``optimiser generate --bands`` (pathway-1 care and carer-hours by band),
and the same snapshot without bands (each provider's band hours added up into its all-day
pool; the same patients). Both are planned (HiGHS, ``--work-limit``: reproducible). The
hours-only plan's pathway-1 starts are then replayed, day by day, against the band capacity:
a start that does not fit in some band is one the hours-only plan promises and the providers
cannot staff. Prints and writes benchmarks/results/bands-SIZE.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def without_bands(folder: Path, target: Path) -> None:
    """The snapshot with its bands added up: all-day carer-hours, no care_bands.csv."""
    shutil.copytree(folder, target)
    (target / "care_bands.csv").unlink()
    text = (target / "snapshot.toml").read_text().splitlines()
    (target / "snapshot.toml").write_text("\n".join(line for line in text if not line.startswith("bands")) + "\n")
    capacity = pd.read_csv(target / "capacity.csv", dtype={"band": str}, keep_default_na=False)
    capacity["band"] = ""
    capacity.to_csv(target / "capacity.csv", index=False)


def unstaffed_starts(banded_snapshot, placements: pd.DataFrame) -> int:
    """Starts of ``placements`` (an hours-only plan) that the band capacity cannot take, the
    plan's starts taken day by day in plan order."""
    from optimiser.model.families.bands import Bands

    index = banded_snapshot.patient_index
    services = banded_snapshot.service_index
    starts = pd.DataFrame(
        {
            "patient": index.loc[placements["patient_id"]].to_numpy(),
            "service": services.loc[placements["service_id"]].to_numpy(),
            "day": placements["day"].to_numpy().astype(int),
        }
    ).sort_values(["day", "patient"], kind="stable")
    room = Bands().room(banded_snapshot, starts.iloc[:0])
    refused = 0
    for p, s, d in starts.itertuples(index=False):
        if room.fits(int(p), [int(s)], [int(d)])[0]:
            room.take(int(p), int(s), int(d))
        else:
            refused += 1
    return refused


def main() -> None:
    from optimiser import allocate, load_snapshot
    from optimiser.generate import generate_snapshot

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="ics")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--work-limit", type=int, default=200)
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as work:
            banded, plain = Path(work) / "banded", Path(work) / "plain"
            generate_snapshot(banded, size=args.size, seed=seed, bands=True)
            without_bands(banded, plain)
            figures = {"seed": seed}
            for name, folder in (("bands", banded), ("hours_only", plain)):
                snapshot = load_snapshot(folder)
                started = time.perf_counter()
                plan = allocate(snapshot, work_limit=args.work_limit, time_limit=600)
                figures[f"{name}_seconds"] = round(time.perf_counter() - started, 1)
                figures[f"{name}_placed_pathway1"] = int((plan.placements["pathway"] == 1).sum())
                figures[f"{name}_delayed_bed_days"] = plan.summary["delayed_bed_days"]
                figures[f"{name}_gap"] = plan.summary["gap"]
                if name == "hours_only":
                    p1 = plan.placements[plan.placements["pathway"] == 1]
                    figures["hours_only_unstaffed_starts"] = unstaffed_starts(load_snapshot(banded), p1)
            rows.append(figures)
            print(json.dumps(figures), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bands-{args.size}.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
