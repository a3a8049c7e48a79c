"""One self-contained HTML page of an IPACS run, with IPACS's plots: per node, occupancy,
queue and cost per day for each of its scenarios, the mean line inside its 5-95% band over
runs. Inline SVG, no scripts, no links: it opens offline."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from optimiser.ipacs.outputs import IpacsResult
from optimiser.report.html import STYLE, nice_step

COLOURS = [
    "#1b7837",
    "#2166ac",
    "#762a83",
    "#b2182b",
    "#e08214",
    "#4d4d4d",
    "#35978f",
    "#8c510a",
    "#c51b7d",
    "#5aae61",
    "#4393c3",
    "#9970ab",
]
LABELS = {"occ": "occupancy", "niq": "queue (patients waiting)", "cost": "cost a day (£)"}


def line_chart(frame: pd.DataFrame, measure: str, width: int = 520, height: int = 220) -> str:
    """One measure of one node: a line and band per scenario, days along the bottom."""
    part = frame[frame["measure"] == measure]
    if part.empty:
        return ""
    names = list(dict.fromkeys(part["scenario"]))
    days = part.groupby("scenario").size().max()
    top = max(float(part["q95"].max()), float(part["mean"].max()), 1e-9)
    step = nice_step(top)
    top = step * int(np.ceil(top / step))
    left, right, upper, bottom = 58, width - 8, 12, height - 26

    def x(k: float) -> float:
        return left + (right - left) * k / max(days - 1, 1)

    def y(v: float) -> float:
        return bottom - (bottom - upper) * v / top

    parts = [f'<svg role="img" aria-label="{html.escape(LABELS[measure])}" viewBox="0 0 {width} {height}" width="100%">']
    for tick in range(0, int(top) + 1, step):
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{right}" y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:,}</text>')
    for k, name in enumerate(names):
        rows = part[part["scenario"] == name]
        colour = COLOURS[k % len(COLOURS)]
        upper_band = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(rows["q95"]))
        lower_band = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(rows["q05"]))))
        parts.append(f'<polygon points="{upper_band} {lower_band}" fill="{colour}" fill-opacity="0.12"/>')
        line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(rows["mean"]))
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.5"><title>{html.escape(name)}</title></polyline>'
        )
    dates = list(part[part["scenario"] == names[0]]["date"])
    for i in range(0, days, max(days // 6, 1)):
        anchor = "start" if i == 0 else "end" if i > days - max(days // 6, 1) else "middle"
        parts.append(f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchor}">{pd.Timestamp(dates[i]):%d %b}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_ipacs_report(result: IpacsResult) -> str:
    daily = result.tidy_daily()
    means = result.scenario_means()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>IPACS {html.escape(result.mode)} run of {html.escape(result.workbook.source.name)}</title>",
        f"<style>{STYLE} .grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }}</style></head><body>",
        f"<h1>IPACS scenarios, {html.escape(result.mode)} mode</h1>",
        f'<p class="muted">{html.escape(result.workbook.source.name)}: {len(result.scenarios)} scenarios, {result.runs} runs '
        f"(seeds {result.seed}, runs 1-{result.runs}), {result.workbook.days} days from {result.workbook.dates[0]:%d %b %Y}. "
        "Lines: mean over runs; bands: 5% to 95% of runs. Aggregate figures only.</p>",
    ]
    for node in dict.fromkeys(s.scenario.node for s in result.scenarios):
        frame = daily[daily["node"] == node]
        table = means[(means["node"] == node)].pivot(index="scenario", columns="measure", values="mean")
        table = table.reindex(list(dict.fromkeys(frame["scenario"])))
        names = list(table.index)
        legend = "".join(
            f'<span style="color:{COLOURS[k % len(COLOURS)]}">&#9632;</span> {html.escape(n)} &nbsp; '
            for k, n in enumerate(names)
        )
        rows = "".join(
            f'<tr><td>{html.escape(n)}</td><td class="num">{r.occ:,.1f}</td><td class="num">{r.niq:,.1f}</td>'
            f'<td class="num">£{r.cost:,.0f}</td></tr>'
            for n, r in table.iterrows()
        )
        parts += [
            f"<h2>{html.escape(node)}</h2>",
            f'<p class="muted">{legend}</p>',
            '<div class="grid">'
            + "".join(f"<div><b>{LABELS[m]}</b>{line_chart(frame, m)}</div>" for m in ("occ", "niq", "cost"))
            + "</div>",
            "<table><thead><tr><th>scenario</th><th>mean occupancy</th><th>mean queue</th><th>mean cost a day</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts)
