"""The HTML report: self-contained, with the figures, the charts and the tables it promises."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
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
    pathways = [line.split(",")[2] for line in (ROOT / "instances" / "demo" / "services.csv").read_text().splitlines()[1:]]
    for pathway in "123":  # each pathway's services together, then its busiest
        assert f"all {pathways.count(pathway)} pathway-{pathway} services (P{pathway})" in text


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


def sankey_geometry(svg: str):
    """Each node (x, top, bottom), each band's two ends (x, top, bottom), each label (x, y)."""
    nodes = [tuple(float(v) for v in m) for m in re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="14" height="([\d.]+)"', svg)]
    nodes = [(x, y, y + h) for x, y, h in nodes]
    bands = []
    for d, w in re.findall(r'<path d="([^"]+)" fill="none" [^>]*stroke-width="([\d.]+)"', svg):
        numbers = [float(v) for v in re.findall(r"[\d.]+", d)]
        (x0, y0), (x1, y1), w = numbers[:2], numbers[-2:], float(w)
        bands += [(x0 - 14, y0 - w / 2, y0 + w / 2), (x1, y1 - w / 2, y1 + w / 2)]
    labels = [(float(x), float(y)) for x, y in re.findall(r'<text x="([\d.]+)" y="([\d.]+)"', svg)]
    return nodes, bands, labels


def test_sankey_bands_end_inside_their_nodes_and_labels_do_not_overlap():
    from optimiser.report.html import LABEL_SPACING, sankey_svg

    # 7 sites, 3 pathways and many services with few patients each: the columns have
    # different numbers of nodes, which once drew a band past its node, and small services'
    # labels once sat on one another
    rows = [{"site": f"A{i % 7}", "pathway": 1 + i % 3, "service_id": f"S{i % 40:02d}"} for i in range(300)]
    plan = pd.DataFrame(rows[:260])
    unplaced = pd.DataFrame(rows[260:])[["site", "pathway"]]
    svg = sankey_svg(plan, unplaced, {"S01": "Home one"})
    nodes, bands, labels = sankey_geometry(svg)
    for x, top, bottom in bands:
        assert any(nx == x and ntop - 0.01 <= top and bottom <= nbottom + 0.01 for nx, ntop, nbottom in nodes), (x, top, bottom)
    for x in {x for x, _ in labels}:
        ys = sorted(y for lx, y in labels if lx == x)
        assert all(b - a >= LABEL_SPACING - 1e-6 for a, b in zip(ys, ys[1:]))
    assert "(300)" not in svg and sum(int(n) for n in re.findall(r"pathway \d \((\d+)\)", svg)) == 300


def test_capacity_chart_totals_each_pathway_and_names_its_dates_months(tmp_path):
    from family import bed_patient, care_home
    from helpers import day, write_snapshot

    from optimiser import allocate, load_snapshot
    from optimiser.report.html import CAPACITY_PER_PATHWAY, capacity_svg

    homes = [care_home(f"C{k:02d}", name=f"Home {k}") for k in range(30)]  # thirty one-bed homes
    capacity = [{"service_id": f"C{k:02d}", "date": day(0), "amount": 1} for k in range(30)]
    patients = [bed_patient(f"P{k}") for k in range(20)]
    snapshot = load_snapshot(write_snapshot(tmp_path / "s", patients, homes, capacity, horizon=40))
    plan = allocate(snapshot).placements.merge(snapshot.patients[["patient_id", "pathway"]])
    svg = capacity_svg(snapshot, plan)
    rows = re.findall(r'text-anchor="end"[^>]*>([^<]+) \(P3\)</text>', svg)
    assert rows[0] == "all 30 pathway-3 services" and len(rows) == 1 + CAPACITY_PER_PATHWAY
    assert all(row.startswith("Home ") and "(C" in row for row in rows[1:])  # names beside ids
    assert "20 held, 10 free" in svg
    months = re.findall(r'class="muted">([A-Z][a-z]{2})</text>', svg)
    assert len(months) >= 2 and len(set(months)) == len(months)  # the first day's month and each new month's


def test_wait_chart_has_a_count_axis_with_its_unit():
    from optimiser.report.html import wait_histogram_svg

    plan = pd.DataFrame({"wait_days": [0, 1, 1, 2, 9] * 7, "pathway": [1, 2, 3, 1, 2] * 7})
    svg = wait_histogram_svg(plan)
    ticks = [int(t) for t in re.findall(r'text-anchor="end">(\d+)</text>', svg)]
    assert ticks[0] == 0 and ticks[-1] >= 14 and len(ticks) >= 3  # 14 patients waited one day
    assert ">patients</text>" in svg and "days waited at start" in svg


def test_values_are_listed_by_pounds_saved():
    from optimiser.report.html import _values_section

    values = pd.DataFrame(
        {
            "kind": ["service", "service", "equipment"],
            "service_id": ["A", "B", None],
            "store_id": [None, None, "ST"],
            "item": [None, None, "hoist"],
            "from_date": ["2026-12-01"] * 3,
            "unit": ["bed", "bed", "item"],
            "objective_saved": [9.0, 1.0, 5.0],
            "bed_days_saved": [1.0, 3.0, 2.0],
            "pounds_saved": [562.0, 1686.0, 1124.0],
            "exact": [True] * 3,
        }
    )
    table = _values_section(values, {"B": "Beech House"})
    assert table.index("Beech House (B)") < table.index("ST hoist") < table.index("<td>A</td>")
