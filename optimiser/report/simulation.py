"""One self-contained HTML report of a flow simulation, drawn from its tidy tables.

Sections: headline figures per policy; patients waiting over time by pathway and policy
(mean over runs with a 95% band); delayed bed-days by policy (mean with its 95%
interval), beside the perfect-information bound where it was computed, and the paired differences; the distribution of waits; places in use against
places, by pathway. Inline SVG, no scripts or links: it opens offline.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from optimiser.report.html import STYLE

POLICY_COLOURS = ["#d95f02", "#1b9e77", "#7570b3", "#e7298a"]
POLICY_DASH = ["", "5,3", "2,2", "8,3,2,3"]


def render_simulation_report(daily: pd.DataFrame, patients: pd.DataFrame, summary: dict) -> str:
    policies = list(summary["policies"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Flow simulation</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Flow simulation: optimised placement against first come first served</h1>",
        f'<p class="muted">{summary["runs"]} runs of {summary["days"]} days, seed {summary["seed"]}; every policy sees the same '
        "arrivals, patients and stays in each run (common random numbers). Synthetic data only.</p>",
        _headline(summary),
        "<h2>Patients waiting in acute beds</h2>",
        '<p class="muted">Ready and not yet placed at the end of each day: mean over runs, the band a 95% interval of the mean.</p>',
        *[_waiting_svg(daily, policies, pathway) for pathway in (1, 2, 3)],
        "<h2>Delayed bed-days</h2>",
        '<p class="muted">Total over the run, mean over runs with its 95% interval; the paired differences below use the same runs.</p>',
        _bars_svg(summary),
        _differences_table(summary),
        "<h2>Waits of the patients placed</h2>",
        '<p class="muted">Days from ready to placement, all runs pooled.</p>',
        _waits_svg(patients, policies),
        "<h2>Places in use</h2>",
        '<p class="muted">Beds (pathways 2, 3) or carer-hours a day (pathway 1) held at the end of each day, mean over runs; '
        "the grey line is the places there are.</p>",
        *[_occupancy_svg(daily, policies, pathway) for pathway in (1, 2, 3)],
        "</body></html>",
    ]
    return "\n".join(parts)


def _fmt(value, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _share(share: dict | None) -> str:
    """A share of the fifo-to-bound gap, as a percentage with its interval."""
    if share is None or share["mean"] is None:
        return "-"
    if share["low"] is None:
        return f"{100 * share['mean']:.1f}%"
    return f"{100 * share['mean']:.1f}% ({100 * share['low']:.1f}% to {100 * share['high']:.1f}%)"


def _headline(summary: dict) -> str:
    bound = summary.get("bound")
    rows = []
    for policy, figures in summary["policies"].items():
        days = figures["delayed_bed_days"]
        closed = f"<td class='num'>{_share(bound['policies'][policy]['gap_closed'])}</td>" if bound else ""
        rows.append(
            f"<tr><td>{html.escape(policy)}</td><td class='num'>{_fmt(days['mean'])}</td>"
            f"<td class='num'>{_fmt(days['low'])} to {_fmt(days['high'])}</td>{closed}"
            f"<td class='num'>£{_fmt(figures['acute_cost']['mean'])}</td>"
            f"<td class='num'>{_fmt(figures['mean_wait_days'], 1)}</td><td class='num'>{_fmt(figures['p95_wait_days'], 1)}</td>"
            f"<td class='num'>{_fmt(figures.get('longest_wait_days_by_priority', {}).get('3', {}).get('max'))}</td>"
            f"<td class='num'>{_fmt(figures['placed_per_run'], 1)}</td><td class='num'>{_fmt(figures['seconds_per_day'], 2)}</td></tr>"
        )
    if bound:
        days = bound["delayed_bed_days"]
        rows.append(
            f"<tr class='bound'><td>bound ({html.escape(str(bound['method']).upper())})</td><td class='num'>{_fmt(days['mean'])}</td>"
            f"<td class='num'>{_fmt(days['low'])} to {_fmt(days['high'])}</td><td class='num'>100%</td>"
            "<td colspan='6' class='muted'>perfect information: every arrival and stay of the run known in advance</td></tr>"
        )
    gap = "<th>fifo-to-bound gap closed (95%)</th>" if bound else ""
    head = (
        f"<tr><th>policy</th><th>delayed bed-days</th><th>95% interval</th>{gap}<th>acute cost</th><th>mean wait (days)</th>"
        "<th>95th percentile wait</th><th>longest wait, priority 3</th><th>placed per run</th><th>seconds a day</th></tr>"
    )
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _band(daily: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean and a 95% normal interval of the mean over runs, by day."""
    grouped = daily.groupby("day")[column]
    mean, sd, n = grouped.mean(), grouped.std(ddof=1).fillna(0.0), grouped.count()
    half = 1.96 * sd / np.sqrt(n.clip(lower=1))
    return pd.DataFrame({"mean": mean, "low": mean - half, "high": mean + half})


def _frame(title: str, width: int, height: int, top: float, days: int) -> tuple[list[str], callable, callable]:
    left, right, upper, bottom = 50, width - 10, 22, height - 26
    top = max(top, 1e-9)

    def x(day):
        return left + (right - left) * day / max(days - 1, 1)

    def y(value):
        return bottom - (bottom - upper) * value / top

    parts = [f'<svg role="img" aria-label="{html.escape(title)}" viewBox="0 0 {width} {height}" width="100%">']
    parts.append(f'<text x="{left}" y="14">{html.escape(title)}</text>')
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>')
    parts.append(f'<line x1="{left}" y1="{upper}" x2="{left}" y2="{bottom}" stroke="#999"/>')
    parts.append(f'<text x="{left - 4}" y="{upper + 4}" text-anchor="end">{top:,.0f}</text>')
    parts.append(f'<text x="{left - 4}" y="{bottom}" text-anchor="end">0</text>')
    for day in sorted({0, days // 2, days - 1}):
        parts.append(f'<text x="{x(day):.1f}" y="{bottom + 14}" text-anchor="middle">day {day}</text>')
    return parts, x, y


def _legend(parts: list[str], policies: list[str], width: int) -> None:
    for i, policy in enumerate(policies):
        x0 = width - 130 * (len(policies) - i)
        parts.append(
            f'<line x1="{x0}" y1="10" x2="{x0 + 18}" y2="10" stroke="{POLICY_COLOURS[i % 4]}" stroke-width="2" '
            f'stroke-dasharray="{POLICY_DASH[i % 4]}"/><text x="{x0 + 22}" y="14">{html.escape(policy)}</text>'
        )


def _lines(parts, bands, x, y, policies) -> None:
    for i, policy in enumerate(policies):
        band = bands[policy]
        if band.empty:
            continue
        days = band.index.to_numpy()
        upper = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in zip(days, band["high"]))
        lower = " ".join(f"{x(d):.1f},{y(max(v, 0)):.1f}" for d, v in zip(days[::-1], band["low"].to_numpy()[::-1]))
        colour = POLICY_COLOURS[i % 4]
        parts.append(f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.18" stroke="none"/>')
        line = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in zip(days, band["mean"]))
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{POLICY_DASH[i % 4]}">'
            f"<title>{html.escape(policy)}</title></polyline>"
        )


def _waiting_svg(daily: pd.DataFrame, policies: list[str], pathway: int, width: int = 900, height: int = 200) -> str:
    mine = daily[daily["pathway"] == pathway]
    bands = {policy: _band(mine[mine["policy"] == policy], "waiting") for policy in policies}
    top = max([float(b["high"].max()) for b in bands.values() if not b.empty] + [1.0])
    days = int(daily["day"].max()) + 1 if len(daily) else 1
    parts, x, y = _frame(f"pathway {pathway}: patients waiting", width, height, top, days)
    _lines(parts, bands, x, y, policies)
    _legend(parts, policies, width)
    return "".join(parts) + "</svg>"


def _occupancy_svg(daily: pd.DataFrame, policies: list[str], pathway: int, width: int = 900, height: int = 180) -> str:
    mine = daily[daily["pathway"] == pathway]
    bands = {policy: _band(mine[mine["policy"] == policy], "occupied") for policy in policies}
    places = float(mine["places"].max()) if len(mine) else 0.0
    top = max([float(b["high"].max()) for b in bands.values() if not b.empty] + [places, 1.0])
    days = int(daily["day"].max()) + 1 if len(daily) else 1
    unit = "carer-hours a day" if pathway == 1 else "beds"
    parts, x, y = _frame(f"pathway {pathway}: {unit} in use", width, height, top, days)
    parts.append(f'<line x1="{x(0):.1f}" y1="{y(places):.1f}" x2="{x(days - 1):.1f}" y2="{y(places):.1f}" stroke="#888"/>')
    _lines(parts, bands, x, y, policies)
    _legend(parts, policies, width)
    return "".join(parts) + "</svg>"


def _bars_svg(summary: dict, width: int = 700, row: int = 34) -> str:
    policies = list(summary["policies"].items())
    if "bound" in summary:  # the floor drawn as one more bar, in grey
        policies.append(("bound", summary["bound"]))
    top = max([figures["delayed_bed_days"]["high"] or figures["delayed_bed_days"]["mean"] or 0 for _, figures in policies] + [1])
    left, right = 110, width - 90
    height = row * len(policies) + 20
    parts = [f'<svg role="img" aria-label="Delayed bed-days by policy" viewBox="0 0 {width} {height}" width="100%">']
    for i, (policy, figures) in enumerate(policies):
        days = figures["delayed_bed_days"]
        y0 = 10 + i * row
        w = (right - left) * (days["mean"] or 0) / top
        parts.append(f'<text x="{left - 6}" y="{y0 + 16}" text-anchor="end">{html.escape(policy)}</text>')
        colour = "#999999" if policy == "bound" and "bound" in summary else POLICY_COLOURS[i % 4]
        parts.append(f'<rect x="{left}" y="{y0 + 4}" width="{w:.1f}" height="18" fill="{colour}"/>')
        if days["low"] is not None:
            lo, hi = left + (right - left) * days["low"] / top, left + (right - left) * days["high"] / top
            parts.append(f'<line x1="{lo:.1f}" y1="{y0 + 13}" x2="{hi:.1f}" y2="{y0 + 13}" stroke="#222" stroke-width="1.5"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y0 + 17}">{_fmt(days["mean"])}</text>')
    return "".join(parts) + "</svg>"


def _differences_table(summary: dict) -> str:
    if not summary["paired_differences"]:
        return ""
    rows = []
    for pair in summary["paired_differences"]:
        first, second = pair["policies"]
        total = pair["delayed_bed_days_difference"]
        cells = "".join(
            f"<td class='num'>{_fmt(pair['by_pathway'][k]['mean'])} ({_fmt(pair['by_pathway'][k]['low'])} to "
            f"{_fmt(pair['by_pathway'][k]['high'])})</td>"
            for k in ("1", "2", "3")
        )
        rows.append(
            f"<tr><td>{html.escape(first)} &minus; {html.escape(second)}</td><td class='num'>{_fmt(total['mean'])} "
            f"({_fmt(total['low'])} to {_fmt(total['high'])})</td>{cells}</tr>"
        )
    head = (
        "<tr><th>difference</th><th>all pathways (95% interval)</th><th>pathway 1</th><th>pathway 2</th><th>pathway 3</th></tr>"
    )
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _waits_svg(patients: pd.DataFrame, policies: list[str], width: int = 700, height: int = 220) -> str:
    placed = patients[patients["placed_day"].notna()]
    if placed.empty:
        return '<p class="muted">Nobody placed.</p>'
    waits = placed["wait_days"].astype(int)
    high = int(np.percentile(waits, 99)) + 1
    bins = np.arange(0, max(high, 1) + 1)
    left, bottom = 40, height - 30
    slot = (width - left - 10) / len(bins)
    counts = {
        policy: np.bincount(np.clip(waits[placed["policy"] == policy], 0, bins[-1]), minlength=len(bins)) for policy in policies
    }
    tallest = max(max(c.max() for c in counts.values()), 1)
    parts = [f'<svg role="img" aria-label="Distribution of waits" viewBox="0 0 {width} {height}" width="100%">']
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#999"/>')
    parts.append(f'<text x="{left - 6}" y="18" text-anchor="end">{tallest}</text>')
    bar = max(slot / max(len(policies), 1) - 1, 1)
    for i, policy in enumerate(policies):
        for b, n in zip(bins, counts[policy]):
            if n:
                h = (bottom - 20) * n / tallest
                x0 = left + b * slot + i * (bar + 1)
                parts.append(
                    f'<rect x="{x0:.1f}" y="{bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{POLICY_COLOURS[i % 4]}">'
                    f"<title>{html.escape(policy)}: wait {b} days ({'or more' if b == bins[-1] else 'exactly'}): {n}</title></rect>"
                )
    for b in bins[:: max(1, len(bins) // 10)]:
        parts.append(f'<text x="{left + (b + 0.5) * slot:.1f}" y="{bottom + 14}" text-anchor="middle">{b}</text>')
    parts.append(f'<text x="{(left + width) / 2}" y="{height - 2}" text-anchor="middle">days waited</text>')
    _legend(parts, policies, width)
    return "".join(parts) + "</svg>"
