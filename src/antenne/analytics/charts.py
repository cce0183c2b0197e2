"""Charts drawn on the server as SVG: readable without JavaScript, allowed by the CSP (no
inline style: colours come from antenne.css classes), and accessible — `role="img"` with
a <title> and a <desc> that says what the chart shows in words; the page also gives the
data as a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 32
TABLE_ROWS = 200  # at most, in the data table under a chart
MARKED = 12  # points drawn as dots too, up to this many


@dataclass
class Chart:
    svg: SafeString
    table: list[tuple[str, Any]]  # (x label, value), the chart's data for the table
    empty: bool


def _ticks(top: float) -> list[int]:
    """0, the middle and the top of the y axis, in whole numbers."""
    top = max(1, int(top + 0.999))
    return sorted({0, top // 2, top})


def line_chart(
    points: Sequence[tuple[str, float]], *, chart_id: str, title: str, description: str
) -> Chart:
    """A line over equally spaced points (x label, value), the first, middle and last
    x labels under the axis; a single point stands in the middle, with its one label."""
    if not points:
        return Chart(SafeString(""), [], True)
    top = max(value for _label, value in points) or 1
    ticks = _ticks(top)
    scale_top = ticks[-1]
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(points) - 1, 1)

    def x(index: int) -> float:
        return LEFT + index * step if len(points) > 1 else LEFT + inner_w / 2

    def y(value: float) -> float:
        return TOP + inner_h * (1 - value / scale_top)

    coordinates = " ".join(f"{x(i):.1f},{y(value):.1f}" for i, (_label, value) in enumerate(points))
    base = TOP + inner_h
    area = f"{x(0):.1f},{base:.1f} {coordinates} {x(len(points) - 1):.1f},{base:.1f}"
    parts: list[SafeString] = [
        format_html(
            '<line class="antenne-chart__grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
            '<text class="antenne-chart__label" x="{}" y="{}" text-anchor="end">{}</text>',
            LEFT,
            WIDTH - RIGHT,
            f"{y(tick):.1f}",
            f"{y(tick):.1f}",
            LEFT - 6,
            f"{y(tick) + 4:.1f}",
            tick,
        )
        for tick in ticks
    ]
    middle = len(points) // 2
    labels: tuple[tuple[int, str], ...] = (
        (0, "start"),
        (middle, "middle"),
        (len(points) - 1, "end"),
    )
    if len(points) == 1:
        labels = ((0, "middle"),)
    for index, anchor in labels:
        if len(points) > 1 and index == middle and middle in (0, len(points) - 1):
            continue
        parts.append(
            format_html(
                '<text class="antenne-chart__label" x="{}" y="{}" text-anchor="{}">{}</text>',
                f"{x(index):.1f}",
                HEIGHT - 8,
                anchor,
                points[index][0],
            )
        )
    parts.append(format_html('<polygon class="antenne-chart__area" points="{}"/>', area))
    parts.append(format_html('<polyline class="antenne-chart__line" points="{}"/>', coordinates))
    if len(points) <= MARKED:  # a line of one or a few points is hard to see: mark them
        parts += [
            format_html(
                '<circle class="antenne-chart__point" cx="{}" cy="{}" r="4"/>',
                f"{x(i):.1f}",
                f"{y(value):.1f}",
            )
            for i, (_label, value) in enumerate(points)
        ]
    svg = format_html(
        '<svg class="antenne-chart" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="{}-title {}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        WIDTH,
        HEIGHT,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        description,
        mark_safe("".join(parts)),  # every part is format_html's output
    )
    return Chart(svg, _thin(points), False)


def _thin(points: Sequence[tuple[str, float]]) -> list[tuple[str, Any]]:
    """The table's rows: every point, or an evenly spaced selection of TABLE_ROWS."""
    if len(points) <= TABLE_ROWS:
        return list(points)
    every = len(points) / TABLE_ROWS
    return [points[int(i * every)] for i in range(TABLE_ROWS)] + [points[-1]]


def daily_cumulative(
    per_day: list[list[Any]], *, until: date | None = None
) -> list[tuple[date, int]]:
    """Registrations per day (ISO date, count; days without any missing) as a running
    total for every day from the first to the last, or on to `until` (the session's day)."""
    if not per_day:
        return []
    counts = {date.fromisoformat(day): n for day, n in per_day}
    first, last = min(counts), max(counts)
    if until is not None:
        last = max(last, until)
    total, series = 0, []
    day = first
    while day <= last:
        total += counts.get(day, 0)
        series.append((day, total))
        day += timedelta(days=1)
    return series


def parse_curve(curve: list[list[Any]]) -> list[tuple[datetime, int]]:
    return [(datetime.fromisoformat(moment), n) for moment, n in curve]
