"""The chart geometry (pure): lines break at days without data, bars scale to the peak."""

from __future__ import annotations

from repositories import charts


def test_a_line_breaks_at_a_day_without_data_instead_of_dropping_to_zero() -> None:
    chart = charts.line_chart(
        "s", ["d1", "d2", "d3", "d4"], [charts.Series("a", "chart-s0", [10, None, 20, 20])]
    )
    [line] = chart.lines
    assert line.d.count("M") == 2 and line.d.count("L") == 1
    assert chart.peak == 20 and chart.has_data
    assert chart.rows[1] == ("d2", [None]) and chart.rows[2] == ("d3", ["20"])


def test_stacked_bars_fill_the_height_on_the_peak_day_and_keep_their_order() -> None:
    chart = charts.bar_chart(
        "f",
        ["d1", "d2"],
        [
            charts.Series("critical", "sev-fill-critical", [1, 3]),
            charts.Series("high", "sev-fill-high", [1, 1]),
        ],
        stacked=True,
    )
    assert chart.peak == 4
    day2 = [r for r in chart.rects if r.title.startswith("d2")]
    assert [r.css for r in day2] == ["sev-fill-critical", "sev-fill-high"]
    assert round(sum(float(r.height) for r in day2), 1) == chart.height
    assert float(day2[0].y) > float(day2[1].y)  # the first series sits at the bottom


def test_grouped_bars_sit_side_by_side_and_an_empty_chart_has_no_shapes() -> None:
    chart = charts.bar_chart(
        "t", ["d1"], [charts.Series("pushes", "chart-s0", [2]), charts.Series("pulls", "chart-s1", [4])]
    )
    pushes, pulls = chart.rects
    assert float(pushes.x) < float(pulls.x)
    assert float(pulls.height) == chart.height and float(pushes.height) == chart.height / 2
    empty = charts.bar_chart("t", ["d1"], [charts.Series("pushes", "chart-s0", [None])])
    assert not empty.rects and not empty.has_data
