"""The cost curve of a capacity sweep: total cost (acute delays plus community places in
use) against capacity, one line per policy, the cheapest point of each marked. Inline SVG
in one self-contained page."""

from __future__ import annotations

import html

import pandas as pd

from optimiser.report.html import STYLE
from optimiser.report.simulation import POLICY_COLOURS, POLICY_DASH


def point_labels(table: pd.DataFrame) -> dict[int, str]:
    factors = [c for c in table.columns if c.endswith("_factor")]
    first = table.drop_duplicates("point").set_index("point")
    return {int(point): " ".join(f"P{c[7]} x{row[c]:g}" for c in factors) for point, row in first.iterrows()}


def cost_curve_svg(table: pd.DataFrame, width: int = 900, height: int = 320) -> str:
    """Total cost by point (x: the points in grid order, labelled with their factors)."""
    labels = point_labels(table)
    points = sorted(labels)
    policies = list(dict.fromkeys(table["policy"]))
    top = max(float(table["total_cost_high"].fillna(table["total_cost"]).max()), 1.0)
    low = min(float(table["total_cost_low"].fillna(table["total_cost"]).min()), top)
    floor = max(0.0, low - 0.1 * (top - low))
    left, right, upper, bottom = 90, width - 20, 30, height - 50

    def x(i):
        return left + (right - left) * (i / max(len(points) - 1, 1))

    def y(value):
        return bottom - (bottom - upper) * (value - floor) / max(top - floor, 1e-9)

    parts = [f'<svg role="img" aria-label="Total cost against capacity" viewBox="0 0 {width} {height}" width="100%">']
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>')
    parts.append(f'<line x1="{left}" y1="{upper}" x2="{left}" y2="{bottom}" stroke="#999"/>')
    parts.append(f'<text x="{left - 6}" y="{upper + 4}" text-anchor="end">£{top:,.0f}</text>')
    parts.append(f'<text x="{left - 6}" y="{bottom}" text-anchor="end">£{floor:,.0f}</text>')
    for i, point in enumerate(points):
        parts.append(f'<text x="{x(i):.1f}" y="{bottom + 16}" text-anchor="middle">{html.escape(labels[point])}</text>')
    parts.append(
        f'<text x="{(left + right) / 2}" y="{height - 8}" text-anchor="middle">capacity (places and free capacity x factor)</text>'
    )
    for j, policy in enumerate(policies):
        mine = table[table["policy"] == policy].set_index("point").loc[points]
        colour, dash = POLICY_COLOURS[j % 4], POLICY_DASH[j % 4]
        line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(mine["total_cost"]))
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>')
        for i, (point, row) in enumerate(mine.iterrows()):
            if pd.notna(row["total_cost_low"]):
                parts.append(
                    f'<line x1="{x(i):.1f}" y1="{y(row["total_cost_low"]):.1f}" x2="{x(i):.1f}" y2="{y(row["total_cost_high"]):.1f}" '
                    f'stroke="{colour}" stroke-opacity="0.5"/>'
                )
            mark = 6 if row["cheapest"] else 3
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(row["total_cost"]):.1f}" r="{mark}" fill="{colour}">'
                f"<title>{html.escape(policy)}, {html.escape(labels[int(point)])}: £{row['total_cost']:,.0f}"
                f"{' (cheapest)' if row['cheapest'] else ''}</title></circle>"
            )
            if row["cheapest"]:
                parts.append(
                    f'<text x="{x(i) + 8:.1f}" y="{y(row["total_cost"]) - 8:.1f}">cheapest, {html.escape(policy)}</text>'
                )
        parts.append(
            f'<line x1="{right - 140}" y1="{14 + 14 * j}" x2="{right - 120}" y2="{14 + 14 * j}" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dash}"/><text x="{right - 116}" y="{18 + 14 * j}">{html.escape(policy)}</text>'
        )
    return "".join(parts) + "</svg>"


def render_sweep_report(table: pd.DataFrame) -> str:
    columns = ["policy", "delayed_bed_days", "acute_cost", "community_cost", "total_cost", "cheapest"]
    labels = point_labels(table)
    rows = "".join(
        f"<tr><td>{html.escape(labels[int(row.point)])}</td>"
        + "".join(
            f"<td class='num'>{value:,.0f}</td>" if isinstance(value, float) else f"<td>{html.escape(str(value))}</td>"
            for value in (getattr(row, c) for c in columns)
        )
        + "</tr>"
        for row in table.itertuples(index=False)
    )
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in ["capacity", *columns])
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8"><title>Capacity sweep</title>',
            f"<style>{STYLE}</style></head><body>",
            "<h1>Capacity sweep: the total cost of delays and community places</h1>",
            '<p class="muted">Mean over runs (bars: 95% intervals); acute cost = delayed bed-days x the bed-day cost, community '
            "cost = place-days in use x the cost per place-day. Synthetic data only.</p>",
            cost_curve_svg(table),
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>",
            "</body></html>",
        ]
    )
