"""One self-contained HTML report of a plan: no scripts, fonts or styles from the network.

Sections: headline figures; a Sankey diagram site -> pathway -> service
(unplaced patients flow to "waiting"); capacity used and free per service
over the horizon; the distribution of waits; the unplaced patients with
reasons; the top capacity values when ``capacity_value.csv`` is in the plan
folder. Charts are inline SVG drawn here, so the file opens offline.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.analysis.plan import PLAN_COLUMNS, UNPLACED_COLUMNS
from optimiser.constants import BED_DAY_COST
from optimiser.data.files import restored, write_atomic
from optimiser.data.snapshot import Snapshot
from optimiser.model.rules import band_capacity, band_use, cumulative_capacity

PATHWAY_COLOURS = {1: "#1b7837", 2: "#2166ac", 3: "#762a83"}
SANKEY_SERVICES = 6  # per pathway; the rest are one "other services" node
CAPACITY_PER_PATHWAY = 8  # services charted one by one, after their pathway's total
LABEL_SPACING = 12  # pixels between the baselines of two labels (11px text)
WAITING = "#b2182b"

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.muted { color: #666; }
.tiles { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0; }
.tile { border: 1px solid #ddd; border-radius: 6px; padding: 0.6rem 0.9rem; min-width: 9rem; }
.tile b { display: block; font-size: 1.4rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #eee; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font-size: 11px; fill: #222; }
"""


def load_report_data(plan_dir: Path, snapshot: Snapshot) -> dict:
    """The plan folder's files joined to the snapshot's tables."""
    plan_dir = Path(plan_dir)
    summary = json.loads((plan_dir / "summary.json").read_text())
    plan = _restored(pd.read_csv(plan_dir / "plan.csv", dtype={"patient_id": str, "service_id": str, "start_date": str}))
    unplaced = _restored(pd.read_csv(plan_dir / "unplaced.csv", dtype=str, keep_default_na=False))
    plan = plan[[column for column in [*PLAN_COLUMNS, "stage"] if column in plan]]  # details come from the snapshot
    unplaced = unplaced[[column for column in UNPLACED_COLUMNS if column in unplaced]]
    patients = snapshot.patients[["patient_id", "site", "pathway"]]
    plan = plan.merge(patients, on="patient_id", how="left")
    unplaced = unplaced.merge(patients, on="patient_id", how="left")
    values_path = plan_dir / "capacity_value.csv"
    values = (
        _restored(pd.read_csv(values_path, dtype={"service_id": str, "store_id": str, "item": str}))
        if values_path.exists()
        else None
    )
    if values is not None and "snapshot_hash" in values and not (values["snapshot_hash"] == summary.get("snapshot_hash")).all():
        values = None  # made from another snapshot than the plan's: not shown beside it
    return {"summary": summary, "plan": plan, "unplaced": unplaced, "values": values, "snapshot": snapshot}


def _restored(frame: pd.DataFrame) -> pd.DataFrame:
    """The text cells as they were before ``data.files.safe_csv`` neutralised them."""
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(lambda value: restored(value) if isinstance(value, str) else value)
    return frame


def write_report(plan_dir: Path, snapshot: Snapshot, out: Path | None = None, bed_day_cost: float = BED_DAY_COST) -> Path:
    """Write the report (default PLAN_DIR/report.html) atomically; returns its path."""
    out = Path(out) if out is not None else Path(plan_dir) / "report.html"
    write_atomic(out, render_report(load_report_data(plan_dir, snapshot), bed_day_cost))
    return out


def render_report(data: dict, bed_day_cost: float = BED_DAY_COST) -> str:
    summary, plan, unplaced, snapshot = data["summary"], data["plan"], data["unplaced"], data["snapshot"]
    names = dict(zip(snapshot.services["service_id"], snapshot.services["name"]))
    staged = "stage" in plan.columns  # v2: interim and onward rows
    left = plan[plan["stage"] != "onward"] if staged else plan  # where and when each leaves the acute bed
    journeys = staged and (plan["stage"] == "interim").any()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Discharge plan {html.escape(str(summary.get('snapshot_date', '')))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Discharge placement plan, {html.escape(str(summary.get('snapshot_date', '')))}</h1>",
        f'<p class="muted">Horizon {summary.get("horizon_days")} days; solver {html.escape(str(summary.get("solver")))}, '
        f"status {html.escape(str(summary.get('status')))}. Synthetic data only.</p>",
        _headline(summary, bed_day_cost),
        "<h2>Where patients go</h2>",
        '<p class="muted">Hospital site &rarr; pathway &rarr; service; unplaced patients flow to &ldquo;waiting&rdquo;.</p>',
        sankey_svg(left, unplaced, names),
        *(
            [
                "<h2>Care journeys through interim beds</h2>",
                '<p class="muted">Interim bed &rarr; pathway &rarr; onward place; &ldquo;waiting&rdquo; is still in the '
                "interim bed at the horizon&rsquo;s end.</p>",
                journeys_svg(plan, names),
            ]
            if journeys
            else []
        ),
        "<h2>Capacity used and free over the horizon</h2>",
        '<p class="muted">Per service and day: the dark part is capacity held by placements started by that day, '
        "the light part is free (beds, or carer-hours a day on pathway 1). "
        f"Per pathway, all its services together (in bold), then the {CAPACITY_PER_PATHWAY} holding the most "
        "at the horizon's end.</p>",
        capacity_svg(snapshot, plan),
        *(["<h2>Carer-hours by time of day</h2>", bands_table(snapshot, plan)] if snapshot.settings.bands else []),
        "<h2>Waits</h2>",
        '<p class="muted">Total wait at start (days from ready date to start), placed patients, by pathway.</p>',
        wait_histogram_svg(left),
        "<h2>Who goes where, when</h2>",
        '<p class="muted">The starts of the plan, day by day and service by service: the list to phone round.</p>',
        schedule_table(plan, snapshot),
        "<h2>Unplaced patients</h2>",
        _unplaced_table(unplaced),
    ]
    if data.get("values") is not None and len(data["values"]):
        parts += ["<h2>What extra capacity is worth</h2>", _values_section(data["values"], names)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _headline(summary: dict, bed_day_cost: float) -> str:
    gap = summary.get("gap")
    bed_days = summary.get("delayed_bed_days")
    tiles = [
        ("Placed", f"{summary.get('placed')} of {summary.get('patients')}"),
        ("Unplaced", f"{summary.get('unplaced')}"),
        ("Mean wait at start", "-" if summary.get("mean_wait_days") is None else f"{summary['mean_wait_days']:.1f} days"),
        ("Delayed bed-days", "-" if bed_days is None else f"{bed_days:,.0f}"),
        ("Their cost", "-" if bed_days is None else f"£{bed_days * bed_day_cost:,.0f}"),
        ("Objective", f"{summary.get('objective', 0):,.2f}"),
        ("Gap to bound", "n/a" if gap is None else f"{100 * gap:.3g}%"),
    ]
    cells = "".join(f'<div class="tile">{html.escape(label)}<b>{html.escape(value)}</b></div>' for label, value in tiles)
    return f'<div class="tiles">{cells}</div>'


def service_label(service_id: str, names: dict[str, str]) -> str:
    """A service as people know it: its name with the id beside it (just the name when the
    name already carries the id; just the id when there is no name)."""
    name = str(names.get(service_id, "") or "")
    if not name or name == service_id:
        return str(service_id)
    carries_id = re.search(rf"(?<![\w-]){re.escape(str(service_id))}(?![\w-])", name) is not None
    return name if carries_id else f"{name} ({service_id})"


def spread_labels(centres: list[float], spacing: float, low: float, high: float) -> list[float]:
    """Label positions as near their nodes' centres as they can be while at least ``spacing``
    apart and inside [low, high] (a forward push down, then a backward push up)."""
    placed = []
    for centre in centres:
        placed.append(max(centre, low, placed[-1] + spacing if placed else low))
    for k in range(len(placed) - 1, -1, -1):
        ceiling = high if k == len(placed) - 1 else placed[k + 1] - spacing
        placed[k] = min(placed[k], ceiling)
    return placed


def sankey_svg(
    plan: pd.DataFrame, unplaced: pd.DataFrame, names: dict[str, str] | None = None, width: int = 1000, height: int = 460
) -> str:
    """Three columns of nodes (site, pathway, service or waiting), bands as wide as the patient counts.

    One scale (pixels per patient) serves every column, so a band is as wide where it leaves
    its node as where it arrives; each column is centred. A service is a node of its own only
    when it is among the busiest of its pathway and big enough to carry its label; the rest
    are one "other services" node. Labels are spread so that they never overlap."""
    names = names or {}
    placed = plan.assign(target=plan["service_id"])
    waiting = unplaced.assign(target="waiting (pathway " + unplaced["pathway"].astype(str) + ")")
    total = len(placed) + len(waiting)
    if total == 0:
        return '<p class="muted">No patients.</p>'
    gap, node_width, margin = 6, 14, 10
    smallest = int(np.ceil(LABEL_SPACING * total / (height - 2 * margin)))  # patients a label needs
    busiest = placed.groupby(["pathway", "target"]).size().reset_index(name="n")
    busiest = busiest[busiest["n"] >= smallest]
    busiest = (
        busiest.sort_values(["pathway", "n", "target"], ascending=[True, False, True]).groupby("pathway").head(SANKEY_SERVICES)
    )
    others = ~placed["target"].isin(set(busiest["target"]))
    placed.loc[others, "target"] = "other pathway-" + placed.loc[others, "pathway"].astype(str) + " services"
    flows = pd.concat([placed[["site", "pathway", "target"]], waiting[["site", "pathway", "target"]]], ignore_index=True)
    flows["pathway_label"] = "pathway " + flows["pathway"].astype(str)
    pathway_of = dict(zip(flows["target"], flows["pathway"]))
    keys = ["site", "pathway_label", "target"]
    columns = [
        sorted(flows["site"].unique()),
        sorted(flows["pathway_label"].unique()),
        sorted(flows["target"].unique(), key=lambda t: (pathway_of[t], t.startswith("waiting"), t.startswith("other"), t)),
    ]
    scale = min((height - 2 * margin - gap * (len(names_) - 1)) / total for names_ in columns)
    x_of = [150, width // 2 - node_width // 2, width - 250]
    positions = {}
    for column, members in enumerate(columns):
        sizes = flows[keys[column]].value_counts()
        y = margin + (height - 2 * margin - (total * scale + gap * (len(members) - 1))) / 2
        for name in members:
            size = scale * sizes[name]
            positions[(column, name)] = [y, size, y, y]  # top, height, next out, next in
            y += size + gap
    parts = [f'<svg role="img" aria-label="Sankey diagram" viewBox="0 0 {width} {height}" width="100%">']
    links = (flows.groupby(["site", "pathway_label"]).size(), flows.groupby(["pathway_label", "target"]).size())
    for column, counts in enumerate(links):
        for (source, target), n in counts.items():
            a, b = positions[(column, source)], positions[(column + 1, target)]
            thickness = scale * n
            y0, y1 = a[2] + thickness / 2, b[3] + thickness / 2
            a[2] += thickness
            b[3] += thickness
            x0, x1 = x_of[column] + node_width, x_of[column + 1]
            middle = (x0 + x1) / 2
            pathway = int(pathway_of[target]) if column == 1 else int(str(target).split()[-1])
            colour = WAITING if str(target).startswith("waiting") else PATHWAY_COLOURS.get(pathway, "#888")
            shown = service_label(target, names) if column == 1 else target
            parts.append(
                f'<path d="M{x0},{y0:.2f} C{middle},{y0:.2f} {middle},{y1:.2f} {x1},{y1:.2f}" fill="none" '
                f'stroke="{colour}" stroke-opacity="0.35" stroke-width="{thickness:.2f}">'
                f"<title>{html.escape(str(source))} → {html.escape(str(shown))}: {n}</title></path>"
            )
    for column, members in enumerate(columns):
        sizes = flows[keys[column]].value_counts()
        x = x_of[column]
        tops = [positions[(column, name)][:2] for name in members]
        labels = spread_labels([top + size / 2 + 4 for top, size in tops], LABEL_SPACING, margin + 4, height - 2)
        for name, (top, size), y in zip(members, tops, labels):
            parts.append(f'<rect x="{x}" y="{top:.2f}" width="{node_width}" height="{size:.2f}" fill="#444"/>')
            shown = service_label(name, names) if column == 2 else name
            label = f"{html.escape(str(shown))} ({int(sizes[name])})"
            if column == 0:
                parts.append(f'<text x="{x - 6}" y="{y:.1f}" text-anchor="end">{label}</text>')
            else:
                parts.append(f'<text x="{x + node_width + 6}" y="{y:.1f}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def journeys_svg(plan: pd.DataFrame, names: dict[str, str]) -> str:
    """The journeys as a Sankey diagram of their own: each patient's interim bed, pathway, and
    onward place (or "waiting", still in the interim bed)."""
    entries = plan[plan["stage"] == "interim"].set_index("patient_id")
    onward = plan[plan["stage"] == "onward"].set_index("patient_id")
    through = entries.assign(site=[service_label(s, names) for s in entries["service_id"]]).reset_index()
    moved = through[through["patient_id"].isin(onward.index)]
    moved = moved.assign(service_id=onward.loc[moved["patient_id"], "service_id"].to_numpy())
    staying = through[~through["patient_id"].isin(onward.index)]
    return sankey_svg(moved, staying, names, height=320)


def capacity_rows(snapshot: Snapshot, plan: pd.DataFrame) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """The capacity chart's rows: per pathway, first all its services together, then its
    services holding the most at the horizon's end (at most ``CAPACITY_PER_PATHWAY``).
    Each row is (label, pathway, capacity arrived by each day, held by each day)."""
    services = snapshot.services
    capacity = cumulative_capacity(snapshot)
    used = np.zeros_like(capacity)
    if len(plan):
        s = snapshot.service_index[plan["service_id"]].to_numpy()
        d = snapshot.day_of(plan["start_date"]).astype(np.int64)
        use = snapshot.patients.set_index("patient_id").loc[plan["patient_id"], "use"].to_numpy()
        if "stage" in plan.columns:  # v2: an interim bed is one bed, held until the onward start
            entry = (plan["stage"] == "interim").to_numpy()
            use = np.where(entry, 1.0, use)
            onward = plan[plan["stage"] == "onward"]
            bed = plan[entry].set_index("patient_id").loc[onward["patient_id"], "service_id"]
            np.add.at(
                used, (snapshot.service_index[bed].to_numpy(), snapshot.day_of(onward["start_date"]).astype(np.int64)), -1.0
            )
        np.add.at(used, (s, d), use)
    held = np.cumsum(used, axis=1)
    names = dict(zip(services["service_id"], services["name"]))
    ids = services["service_id"].to_numpy()
    rows = []
    for pathway in sorted(services["pathway"].unique()):
        # a service with band rows only has no all-day pool (v2): its use is in the bands table
        members = np.flatnonzero((services["pathway"].to_numpy() == pathway) & np.isfinite(capacity[:, -1]))
        if len(members) == 0:
            continue
        rows.append(
            (f"all {len(members)} pathway-{pathway} services", int(pathway), capacity[members].sum(0), held[members].sum(0))
        )
        most = members[np.lexsort((ids[members], -capacity[members, -1], -held[members, -1]))][:CAPACITY_PER_PATHWAY]
        rows += [(service_label(ids[k], names), int(pathway), capacity[k], held[k]) for k in most]
    return rows


def capacity_svg(snapshot: Snapshot, plan: pd.DataFrame, cell: int = 26, row_height: int = 30) -> str:
    """Per row a run of daily bars: capacity arrived by the day (light), held by placements
    (dark); dates with their month under the first day and each first of a month."""
    horizon = snapshot.horizon
    rows = capacity_rows(snapshot, plan)
    label_width = 230
    width = label_width + cell * horizon + 190
    top_margin = 34
    height = top_margin + row_height * len(rows)
    dates = pd.to_datetime(snapshot.date_of(np.arange(horizon)))
    parts = [f'<svg role="img" aria-label="Capacity used and free" viewBox="0 0 {width} {height}" width="100%">']
    for d, date in enumerate(dates):
        x = label_width + d * cell + cell / 2
        parts.append(f'<text x="{x}" y="12" text-anchor="middle">{date.day}</text>')
        if d == 0 or date.day == 1:
            parts.append(f'<text x="{x}" y="25" text-anchor="middle" class="muted">{date.strftime("%b")}</text>')
    for row, (label, pathway, capacity, held) in enumerate(rows):
        y = top_margin - 8 + row * row_height
        top = max(capacity.max(), held.max(), 1e-9)
        colour = PATHWAY_COLOURS.get(pathway, "#888")
        weight = ' font-weight="bold"' if label.startswith("all ") else ""
        shown = html.escape(label)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + row_height / 2 + 2}" text-anchor="end"{weight}>{shown} (P{pathway})</text>'
        )
        for d in range(horizon):
            x = label_width + d * cell + 2
            h_cap = (row_height - 6) * capacity[d] / top
            h_used = (row_height - 6) * min(held[d], capacity[d]) / top
            base = y + row_height - 4
            tip = f"{shown} {dates[d]:%a %d %b}: {held[d]:g} held of {capacity[d]:g}"
            parts.append(
                f'<g><title>{tip}</title><rect x="{x}" y="{base - h_cap:.1f}" width="{cell - 4}" height="{h_cap:.1f}" '
                f'fill="{colour}" fill-opacity="0.18"/><rect x="{x}" y="{base - h_used:.1f}" width="{cell - 4}" '
                f'height="{h_used:.1f}" fill="{colour}"/></g>'
            )
        free = capacity[-1] - held[-1]
        parts.append(
            f'<text x="{label_width + horizon * cell + 8}" y="{y + row_height / 2 + 2}">{held[-1]:g} held, {free:g} free</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bands_table(snapshot: Snapshot, plan: pd.DataFrame) -> str:
    """v2: per pathway-1 provider with band rows and per band, the carer-hours a day arrived
    by the horizon's end, those the plan's starts hold, and what is left."""
    services, capacity = band_capacity(snapshot)
    if len(services) == 0:
        return '<p class="muted">No provider gives its carer-hours by band.</p>'
    bands = snapshot.settings.bands
    use = band_use(snapshot)
    held = np.zeros((len(services), len(bands)))
    position = {int(s): k for k, s in enumerate(services)}
    if len(plan):
        p = snapshot.patient_index[plan["patient_id"]].to_numpy()
        s = snapshot.service_index[plan["service_id"]].to_numpy()
        for patient, service in zip(p, s):
            if int(service) in position:
                held[position[int(service)]] += use[patient]
    names = dict(zip(snapshot.services["service_id"], snapshot.services["name"]))
    head = "<tr><th>provider</th>" + "".join(f"<th>{html.escape(b)}</th>" for b in bands) + "</tr>"
    rows = []
    for k, service in enumerate(services):
        label = html.escape(service_label(snapshot.services["service_id"].iat[service], names))
        cells = "".join(
            '<td class="num">none</td>'
            if capacity[k, b, -1] <= 0
            else f'<td class="num">{held[k, b]:g} of {capacity[k, b, -1]:g}'
            f"{' <b>full</b>' if capacity[k, b, -1] - held[k, b] < 1e-9 else ''}</td>"
            for b in range(len(bands))
        )
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    return (
        '<p class="muted">Carer-hours a day held by the plan of those arrived by the horizon\'s end, per provider and band.</p>'
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def nice_step(top: float, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks up to ``top``."""
    raw = max(top / ticks, 1.0)
    power = 10 ** int(np.floor(np.log10(raw)))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def wait_histogram_svg(plan: pd.DataFrame, width: int = 700, height: int = 260) -> str:
    """Counts of placed patients by total wait at start (days), stacked by pathway, with a
    count axis (patients) and a day axis."""
    if plan.empty:
        return '<p class="muted">Nobody placed.</p>'
    waits = plan["wait_days"].astype(int)
    low, high = int(waits.min()), int(waits.max())
    bins = np.arange(low, high + 1)
    counts = {p: np.array([((waits == b) & (plan["pathway"] == p)).sum() for b in bins]) for p in (1, 2, 3)}
    tallest = max(sum(counts[p] for p in counts).max(), 1)
    step = nice_step(tallest)
    axis_top = step * int(np.ceil(tallest / step))
    left, bottom, top_y = 56, height - 36, 24
    bar = (width - left - 10) / len(bins)
    parts = [f'<svg role="img" aria-label="Distribution of waits" viewBox="0 0 {width} {height}" width="100%">']
    for tick in range(0, axis_top + 1, step):
        y = bottom - (bottom - top_y) * tick / axis_top
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    middle = (bottom + top_y) / 2
    parts.append(f'<text x="14" y="{middle:.1f}" text-anchor="middle" transform="rotate(-90 14 {middle:.1f})">patients</text>')
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#999"/>')
    parts.append(f'<line x1="{left}" y1="{top_y}" x2="{left}" y2="{bottom}" stroke="#999"/>')
    every = 1 if len(bins) <= 40 else 5
    for i, b in enumerate(bins):
        y = bottom
        for pathway in (1, 2, 3):
            n = int(counts[pathway][i])
            if n == 0:
                continue
            h = (bottom - top_y) * n / axis_top
            y -= h
            parts.append(
                f'<rect x="{left + i * bar + 1:.1f}" y="{y:.1f}" width="{max(bar - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{PATHWAY_COLOURS[pathway]}"><title>waited {b} days, pathway {pathway}: {n} patients</title></rect>'
            )
        if b % every == 0:
            parts.append(f'<text x="{left + (i + 0.5) * bar:.1f}" y="{bottom + 14}" text-anchor="middle">{b}</text>')
    parts.append(
        f'<text x="{(left + width) / 2}" y="{height - 4}" text-anchor="middle">days waited at start (ready date to start)</text>'
    )
    legend = "".join(
        f'<rect x="{width - 250 + 80 * k}" y="4" width="10" height="10" fill="{PATHWAY_COLOURS[p]}"/>'
        f'<text x="{width - 236 + 80 * k}" y="13">pathway {p}</text>'
        for k, p in enumerate((1, 2, 3))
    )
    parts.append(legend + "</svg>")
    return "".join(parts)


def schedule_table(plan: pd.DataFrame, snapshot: Snapshot) -> str:
    """One row per start day and service: the date with its weekday and month, the service's
    name beside its id, the pathway, and the patients starting there that day."""
    if plan.empty:
        return "<p>Nobody is placed.</p>"
    names = dict(zip(snapshot.services["service_id"], snapshot.services["name"]))
    rows = []
    for (date, service), starts in plan.sort_values(["start_date", "service_id"]).groupby(
        ["start_date", "service_id"], sort=False
    ):
        shown = pd.Timestamp(date).strftime("%a %d %b %Y")
        label = html.escape(service_label(service, names))
        stages = starts["stage"] if "stage" in starts else pd.Series("direct", index=starts.index)
        patients = ", ".join(
            html.escape(str(p)) + ("" if stage == "direct" else f" ({stage})") for p, stage in zip(starts["patient_id"], stages)
        )
        pathway = html.escape(str(starts["pathway"].iat[0]))
        rows.append(f"<tr><td>{shown}</td><td>{label}</td><td>{pathway}</td><td>{patients}</td></tr>")
    head = "<tr><th>start</th><th>service</th><th>pathway</th><th>patients</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _unplaced_table(unplaced: pd.DataFrame) -> str:
    if unplaced.empty:
        return "<p>Everyone is placed.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(str(row.patient_id))}</td><td>{html.escape(str(row.pathway))}</td>"
        f"<td>{html.escape(str(row.reason))}</td></tr>"
        for row in unplaced.itertuples(index=False)
    )
    return f"<table><thead><tr><th>patient</th><th>pathway</th><th>reason</th></tr></thead><tbody>{rows}</tbody></table>"


def _values_section(values: pd.DataFrame, names: dict[str, str], top: int = 10) -> str:
    """The ``top`` capacity values, most pounds saved first (then bed-days, then objective)."""
    values = values.sort_values(["pounds_saved", "bed_days_saved", "objective_saved"], ascending=False, kind="stable").head(top)
    what = [
        service_label(row.service_id, names)
        if row.kind == "service"
        else f"{service_label(row.service_id, names)} ({row.band})"
        if row.kind == "band"
        else f"{row.store_id} {row.item}"
        for row in values.fillna("").itertuples(index=False)
    ]
    most = max(values["pounds_saved"].max(), 1e-9)
    rows = []
    for label, row in zip(what, values.itertuples(index=False)):
        bar = f'<svg width="160" height="12"><rect width="{160 * max(row.pounds_saved, 0) / most:.1f}" height="12" fill="#2166ac"/></svg>'
        rows.append(
            f"<tr><td>{html.escape(str(label))}</td><td>{html.escape(str(row.from_date))}</td><td>{html.escape(str(row.unit))}</td>"
            f'<td class="num">{row.objective_saved:,.2f}</td><td>{bar}</td><td class="num">{row.bed_days_saved:,.1f}</td>'
            f'<td class="num">£{row.pounds_saved:,.0f}</td><td>{"yes" if str(row.exact) in ("True", "true", "1") else "no"}</td></tr>'
        )
    return (
        '<p class="muted">One more unit from the date, valued by re-solving (objective and delayed bed-days saved).</p>'
        "<table><thead><tr><th>what</th><th>from</th><th>unit</th><th>objective saved</th><th></th>"
        "<th>bed-days saved</th><th>saved</th><th>exact</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
