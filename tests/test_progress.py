"""Progress lines: on a terminal (a real pseudo-terminal here), the solve's plan, bound and
gap as it goes, and a bar of re-solves; nothing of it with --json, --quiet or when the
output is piped."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

from click.testing import CliRunner

from optimiser.cli import main

DEMO = Path(__file__).resolve().parent.parent / "instances" / "demo"


def _start_on_terminal(args: list[str]):
    """The command on a new pseudo-terminal (160 columns, as a terminal has): (process, its master side)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "optimiser", "--no-history", *args], stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    return process, master


def _read_all(process, master) -> str:
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not data:
            break
        out += data
    process.wait(timeout=60)
    os.close(master)
    return out.decode(errors="replace")


def test_progress_shows_on_a_terminal_and_nowhere_else(tmp_path):
    started = {
        "plain": _start_on_terminal(["allocate", str(DEMO), "--out", str(tmp_path / "a"), "--work-limit", "5"]),
        "json": _start_on_terminal(["allocate", str(DEMO), "--out", str(tmp_path / "b"), "--work-limit", "5", "--json"]),
        "quiet": _start_on_terminal(["--quiet", "allocate", str(DEMO), "--out", str(tmp_path / "c"), "--work-limit", "5"]),
        "value": _start_on_terminal(["value", str(DEMO), "--out", str(tmp_path / "v"), "--candidates", "2", "--work-limit", "5"]),
    }
    seen = {name: _read_all(*pair) for name, pair in started.items()}
    assert all(process.returncode == 0 for process, _ in started.values()), seen
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert "solving: plan" in seen["plain"] and "bound" in seen["plain"] and "gap" in seen["plain"]
    assert f"plan {summary['objective']:,.2f}" in seen["plain"]  # the last line holds the plan written
    assert "solving:" not in seen["json"] and "solving:" not in seen["quiet"]
    json.loads(seen["json"].replace("\r\n", "\n"))  # stdout is the JSON and nothing else
    assert "re-solves" in seen["value"] and "3/3" in seen["value"]
    piped = CliRunner().invoke(main, ["--no-history", "allocate", str(DEMO), "--out", str(tmp_path / "d"), "--work-limit", "5"])
    assert piped.exit_code == 0 and "solving:" not in piped.output
