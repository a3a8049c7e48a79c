"""Many fuzz cases at once, outside the suite: ``python -m tests.fuzz.run --cases 10000``.

Each case is a damaged copy of instances/demo (``mutations.damage``) loaded and, if it
loads, planned by the greedy route; anything but a Snapshot or an InputError is a failure,
printed with the damage that caused it. Exit status 1 if any case failed."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from fuzz.mutations import apply, damage  # noqa: E402
from optimiser import InputError, allocate, load_snapshot  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args(argv)
    failures, counts = [], {"loaded": 0, "input error": 0}
    started = time.perf_counter()

    @settings(max_examples=args.cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(edits=damage())
    def case(edits):
        with tempfile.TemporaryDirectory() as scratch:
            folder = apply(ROOT / "instances" / "demo", Path(scratch) / "s", edits)
            try:
                snapshot = load_snapshot(folder)
            except InputError:
                counts["input error"] += 1
                return
            except Exception:  # noqa: BLE001 (every other exception is what we look for)
                failures.append((edits, traceback.format_exc()))
                return
            try:
                allocate(snapshot, solver="greedy")
                counts["loaded"] += 1
            except Exception:  # noqa: BLE001
                failures.append((edits, traceback.format_exc()))

    case()
    print(f"{args.cases} cases in {time.perf_counter() - started:.0f} s: {counts}, {len(failures)} failures")
    for edits, trace in failures[:10]:
        print(edits, trace, sep="\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
