"""The benchmark suite runs end to end on the smallest size and writes its table."""

from __future__ import annotations

import pandas as pd

from benchmarks.run import COLUMNS, main


def test_suite_runs_and_writes_the_table(tmp_path):
    out = tmp_path / "bench"
    assert (
        main(["--sizes", "demo", "--seeds", "1", "--routes", "highs,naive,greedy", "--time-limit", "30", "--out", str(out)]) == 0
    )
    table = pd.read_csv(out.with_suffix(".csv"))
    assert set(COLUMNS) <= set(table.columns)
    assert list(table["route"]) == ["highs", "naive", "greedy"]
    highs, naive, greedy = (table[table["route"] == r].iloc[0] for r in ("highs", "naive", "greedy"))
    assert highs["status"] == "optimal" and naive["status"] == "optimal"
    assert abs(highs["objective"] - naive["objective"]) <= 1e-6 * abs(naive["objective"])  # same optimum, two models
    assert greedy["objective"] >= highs["objective"] - 1e-6
    proven, parts = (int(n) for n in highs["parts_proven"].split("/"))
    assert proven == parts == highs["components"]
    assert pd.isna(naive["parts_proven"])  # solved whole
    text = out.with_suffix(".md").read_text()
    assert "Median over seeds" in text and "| demo | highs |" in text
