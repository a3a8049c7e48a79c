"""Broken snapshots for fuzzing: a valid snapshot with random damage (hypothesis strategies).

Used by ``tests/test_fuzz.py`` (a few hundred cases in the suite) and by
``python -m tests.fuzz.run`` (10,000 by default)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from hypothesis import strategies as st

NASTY = [
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e400",
    "1e308",
    "-0",
    "2026-02-30",
    "2026-13-01",
    "1900-01-01",
    "9999-12-31",
    "yes;no",
    "true",
    "maybe",
    "1.5",
    "3",
    "4",
    "x" * 500,
    "é",
    "\u202e",
    "\x00",
    '"',
    "'",
    ";",
    ",",
    "=SUM(1)",
    "PT000001",
    "S01-HC01",
    "S01-L01",
    "hoist",
    "hoist;;commode",
    "\n",
    "\t",
    "0x10",
    "1_000",
    "+5",
]
FILES = ["patients.csv", "services.csv", "capacity.csv", "localities.csv", "coverage.csv", "travel.csv", "equipment.csv"]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@st.composite
def damage(draw):
    """One or more edits: (kind, file, arguments)."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["cell", "cell", "cell", "header", "drop_column", "short_row", "bytes", "truncate", "toml", "pinned", "drop_file"]
            )
        )
        edits.append(
            (
                kind,
                draw(st.sampled_from(FILES)),
                draw(st.integers(0, 10**6)),
                draw(st.sampled_from(NASTY)),
                draw(st.binary(max_size=64)),
            )
        )
    return edits


TOML_LINES = [
    "snapshot_date = 2026-11-26",
    'snapshot_date = "2026-11-26"',
    "snapshot_date = 26/11/2026",
    "horizon_days = 0",
    "horizon_days = -3",
    "horizon_days = 2.5",
    "horizon_days = 400",
    "[weights]\ntravel_weight = -1",
    "[weights]\nwait_growth_days = 0",
    "[weights]\ntail_days = 1.5",
    "weights = 3",
    "horizon_days = true",
    "= = =",
    "[x",
]


def apply(source: Path, folder: Path, edits, draw_line=None) -> Path:
    shutil.copytree(source, folder)
    for kind, file, number, value, raw in edits:
        path = folder / file
        if kind == "toml":
            (folder / "snapshot.toml").write_text("snapshot_date = 2026-11-26\n" + TOML_LINES[number % len(TOML_LINES)] + "\n")
            continue
        if kind == "drop_file":
            path.unlink(missing_ok=True)
            continue
        if kind == "bytes":
            path.write_bytes(raw)
            continue
        if not path.exists():
            continue
        rows = _rows(path.read_text(encoding="utf-8", errors="replace"))
        if not rows:
            continue
        if kind == "truncate":
            text = path.read_text(encoding="utf-8", errors="replace")
            path.write_text(text[: number % max(len(text), 1)])
            continue
        if kind == "pinned":
            (folder / "pinned.csv").write_text(
                f"patient_id,service_id,date\n{value},S01-CH001,2026-11-27\nPT000002,{value},2026-11-26\n"
            )
            continue
        r = number % len(rows)
        c = (number // 7) % max(len(rows[r]), 1)
        if kind == "cell" and rows[r]:
            rows[r][c] = value
        elif kind == "header" and rows[0]:
            rows[0][c % len(rows[0])] = value
        elif kind == "drop_column":
            rows = [row[:c] + row[c + 1 :] for row in rows]
        elif kind == "short_row":
            rows[r] = rows[r][:c]
        path.write_text(_text(rows))
    return folder
