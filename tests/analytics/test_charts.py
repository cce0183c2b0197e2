"""Charts drawn on the server: an accessible SVG (role, title, description) with its data
as a table, text escaped, nothing drawn for no data."""

from __future__ import annotations

import re
from datetime import date

from antenne.analytics import charts


def test_a_line_chart_is_an_accessible_svg_with_its_data():
    points = [("10:00", 0), ("10:01", 5), ("10:02", 3)]
    chart = charts.line_chart(
        points, chart_id="viewers", title="Viewers <b>", description="Peak of 5 & more"
    )
    svg = str(chart.svg)
    assert svg.startswith('<svg class="antenne-chart" viewBox="0 0 640 240" role="img"')
    assert 'aria-labelledby="viewers-title viewers-desc"' in svg
    assert '<title id="viewers-title">Viewers &lt;b&gt;</title>' in svg
    assert '<desc id="viewers-desc">Peak of 5 &amp; more</desc>' in svg
    assert svg.count("<circle") == 3  # few points: marked
    assert ">10:00<" in svg
    assert ">10:02<" in svg
    assert "style=" not in svg  # the CSP forbids inline styles
    assert chart.table == points
    assert not chart.empty


def test_no_data_draws_nothing():
    chart = charts.line_chart([], chart_id="x", title="t", description="d")
    assert chart.empty
    assert str(chart.svg) == ""


def test_long_series_keep_a_readable_table():
    points = [(str(n), n) for n in range(1000)]
    chart = charts.line_chart(points, chart_id="x", title="t", description="d")
    assert len(chart.table) == charts.TABLE_ROWS + 1
    assert chart.table[-1] == ("999", 999)
    assert "<circle" not in str(chart.svg)


def test_registrations_become_a_running_total_for_every_day():
    series = charts.daily_cumulative([["2026-03-01", 2], ["2026-03-04", 3]])
    assert series == [
        (date(2026, 3, 1), 2),
        (date(2026, 3, 2), 2),
        (date(2026, 3, 3), 2),
        (date(2026, 3, 4), 5),
    ]


def test_one_point_stands_in_the_middle_with_one_label():
    """A session with registrations on one day only: one dot, mid-chart, its day written
    once under it (not twice on top of each other at the left edge)."""
    chart = charts.line_chart([("07/12/2026", 3)], chart_id="r", title="t", description="d")
    svg = str(chart.svg)
    assert svg.count(">07/12/2026<") == 1
    [(cx, cy)] = re.findall(
        r'<circle class="antenne-chart__point" cx="([\d.]+)" cy="([\d.]+)"', svg
    )
    assert float(cx) == charts.LEFT + (charts.WIDTH - charts.LEFT - charts.RIGHT) / 2
    assert float(cy) == charts.TOP  # the top of the axis: 3 of 3
    assert re.search(r'text-anchor="end">3</text>', svg)  # the y axis reads up to 3


def test_registrations_run_on_to_the_sessions_day():
    series = charts.daily_cumulative([["2026-03-01", 2]], until=date(2026, 3, 3))
    assert series == [(date(2026, 3, 1), 2), (date(2026, 3, 2), 2), (date(2026, 3, 3), 2)]
