"""Small charts as inline SVG, drawn on the server: the pages need no JavaScript.

Each bar carries a ``<title>`` (the browser shows it on hover) with its day and count, and
the chart an ``aria-label`` that says what it shows, so the numbers are there in text too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape


def sparkline(days: Sequence[dict[str, Any]], width: int = 140, height: int = 28) -> Markup:
    """A row of bars, one per day, scaled to the largest; no axes."""
    counts = [int(d["count"]) for d in days]
    top = max(counts, default=0) or 1
    step = width / max(len(counts), 1)
    bars = []
    for index, day in enumerate(days):
        h = round(int(day["count"]) / top * (height - 2), 1)
        if day["count"] and h < 1:
            h = 1
        bars.append(
            f'<rect x="{index * step + 0.5:.1f}" y="{height - h:.1f}" width="{step - 1:.1f}"'
            f' height="{h}"><title>{escape(day["day"])}: {int(day["count"])}</title></rect>'
        )
    most = max(counts, default=0)
    label = f"articles per day, {len(counts)} days, {sum(counts)} in all, at most {most}"
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(label)}">{"".join(bars)}</svg>'
    )


def bar_chart(
    days: Sequence[dict[str, Any]], title: str, width: int = 640, height: int = 150
) -> Markup:
    """Bars per day with the largest count and the first and last day written on the axes."""
    left, bottom, top_pad = 36, 18, 8
    plot_w, plot_h = width - left - 4, height - bottom - top_pad
    counts = [int(d["count"]) for d in days]
    top = max(counts, default=0)
    scale = top or 1
    step = plot_w / max(len(days), 1)
    parts = [
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 4}" y2="{top_pad + plot_h}"'
        ' class="axis"/>',
        f'<text x="{left - 4}" y="{top_pad + 8}" text-anchor="end">{top}</text>',
        f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end">0</text>',
    ]
    for index, day in enumerate(days):
        h = round(int(day["count"]) / scale * plot_h, 1)
        if day["count"] and h < 1:
            h = 1
        parts.append(
            f'<rect x="{left + index * step + 0.5:.1f}" y="{top_pad + plot_h - h:.1f}"'
            f' width="{max(step - 1, 0.5):.1f}" height="{h}">'
            f"<title>{escape(day['day'])}: {int(day['count'])}</title></rect>"
        )
    if days:
        parts.append(
            f'<text x="{left}" y="{height - 4}">{escape(days[0]["day"])}</text>'
            f'<text x="{width - 4}" y="{height - 4}" text-anchor="end">'
            f"{escape(days[-1]['day'])}</text>"
        )
    label = f"{title}: {sum(counts)} articles over {len(days)} days, at most {top} a day"
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(label)}">{"".join(parts)}</svg>'
    )
