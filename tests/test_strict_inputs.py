"""A typo in snapshot.toml is an error with a "did you mean", not a silent default."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from optimiser import InputError, load_snapshot

DEMO = Path(__file__).resolve().parent.parent / "instances" / "demo"


def test_unknown_keys_of_snapshot_toml_are_errors_with_a_hint(tmp_path):
    folder = tmp_path / "s"
    shutil.copytree(DEMO, folder)
    (folder / "snapshot.toml").write_text("snapshot_date = 2026-11-26\nhorizon_day = 7\nbands = []\n[weights]\ntravel_weigth = 0.02\n")
    with pytest.raises(InputError) as error:
        load_snapshot(folder)
    assert [str(problem) for problem in error.value.problems] == [
        "snapshot.toml line 2, key horizon_day: is not a key of snapshot.toml; did you mean horizon_days?",
        "snapshot.toml line 3, key bands: is not a key of snapshot.toml",
        "snapshot.toml line 5, key weights.travel_weigth = '0.02': is not a known weight; did you mean travel_weight?",
    ]
