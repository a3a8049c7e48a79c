"""The HTML report: self-contained, with the figures, the charts and the tables it promises."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report") / "plan"
    runner = CliRunner()
    demo = str(ROOT / "instances" / "demo")
    assert runner.invoke(main, ["allocate", demo, "--out", str(folder)]).exit_code == 0
    assert runner.invoke(main, ["value", demo, "--out", str(folder), "--candidates", "4"]).exit_code == 0
    result = runner.invoke(main, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def test_report_is_self_contained(plan_dir):
    text = (plan_dir / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # nothing fetched: no external URLs, scripts, stylesheets, fonts or images
    assert not re.search(r"(src|href)\s*=", text)
    assert "http://" not in text and "https://" not in text and "<script" not in text and "@import" not in text


def test_report_shows_the_figures_and_tables(plan_dir):
    text = (plan_dir / "report.html").read_text()
    summary = json.loads((plan_dir / "summary.json").read_text())
    assert f"{summary['placed']} of {summary['patients']}" in text
    assert f"£{summary['delayed_bed_days'] * 562:,.0f}" in text
    for label in ("Sankey diagram", "Capacity used and free", "Distribution of waits"):
        assert f'aria-label="{label}"' in text
    assert text.count("<svg") >= 3
    unplaced = (plan_dir / "unplaced.csv").read_text().splitlines()[1:]
    for line in unplaced:
        assert line.split(",")[0] in text  # every unplaced patient is listed with a reason
    assert "What extra capacity is worth" in text
    services = [line.split(",")[0] for line in (ROOT / "instances" / "demo" / "services.csv").read_text().splitlines()[1:]]
    assert all(f"{service} (P" in text for service in services)  # a capacity row per service


def test_report_needs_a_plan_folder(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "plan.csv is missing" in result.stderr
    assert not (tmp_path / "report.html").exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")
def test_report_renders_in_headless_chromium(plan_dir, tmp_path):
    shot = tmp_path / "report.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,2400",
        f"--screenshot={shot}",
    ]
    subprocess.run([CHROMIUM, *flags, (plan_dir / "report.html").as_uri()], capture_output=True, timeout=120, check=False)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 2400)
    assert len(data) > 50_000  # a blank page compresses to a few kB; charts do not
