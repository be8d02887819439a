"""Geometry of the server-rendered SVG charts: plain data in, shapes out. Pure: no Django.

A chart is drawn by `templates/stats/_chart.html` from a `Chart`: rectangles (bars),
paths (lines, broken at days without data) and the axis labels, in SVG user units of a
fixed view box that the page scales to its width. Colours are CSS classes (`chart-s0`,
`chart-s1`, or a severity band's `sev-fill-*`), so the light and dark themes restyle
them; every chart also carries its numbers as `rows` for the table beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH = 600
HEIGHT = 160


@dataclass(frozen=True)
class Series:
    """One named row of values (None: no data that day)."""

    name: str
    css: str
    values: Sequence[int | None]


@dataclass(frozen=True)
class Rect:
    """A bar; the numbers are kept as text (`str` of a rounded float), so the template
    writes them as they are, never through a localised number format."""

    x: str
    y: str
    width: str
    height: str
    css: str
    title: str


@dataclass(frozen=True)
class Line:
    d: str
    css: str
    name: str


@dataclass
class Chart:
    title: str
    labels: list[str]
    series: list[Series]
    unit: str = ""
    label_name: str = "Day"  # what a label is, for the table's first column
    fmt: Callable[[int], str] = "{:,}".format  # how the table and the peak write a value
    width: int = WIDTH
    height: int = HEIGHT
    peak: int = 0
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return any(v is not None for s in self.series for v in s.values)

    @property
    def rows(self) -> list[tuple[str, list[str | None]]]:
        """Per label, the series' values in order, written with `fmt` (None: not recorded):
        the table fallback."""
        fmt = self.fmt
        return [
            (label, [None if (v := s.values[i]) is None else fmt(v) for s in self.series])
            for i, label in enumerate(self.labels)
        ]

    @property
    def peak_text(self) -> str:
        return self.fmt(self.peak)

    @property
    def first(self) -> str:
        return self.labels[0] if self.labels else ""

    @property
    def last(self) -> str:
        return self.labels[-1] if self.labels else ""


def _r(value: float) -> float:
    return round(value, 2)


def _peak(values: Sequence[int | None]) -> int:
    return max((v for v in values if v is not None), default=0)


def line_chart(title: str, labels: list[str], series: list[Series], *, unit: str = "") -> Chart:
    """One polyline per series over the days, scaled to the largest value; a day with no
    value breaks the line (a new `M` segment) rather than drawing it to zero."""
    chart = Chart(title=title, labels=labels, series=series, unit=unit)
    chart.peak = max((_peak(s.values) for s in series), default=0)
    n = len(labels)
    step = chart.width / max(n - 1, 1)
    for s in series:
        parts: list[str] = []
        pen_down = False
        for i, value in enumerate(s.values):
            if value is None:
                pen_down = False
                continue
            x = _r(i * step) if n > 1 else chart.width / 2
            y = _r(chart.height - (value / chart.peak * (chart.height - 4) if chart.peak else 0) - 2)
            parts.append(f"{'L' if pen_down else 'M'}{x} {y}")
            pen_down = True
        if parts:
            chart.lines.append(Line(d=" ".join(parts), css=s.css, name=s.name))
    return chart


def bar_chart(
    title: str, labels: list[str], series: list[Series], *, stacked: bool = False, unit: str = ""
) -> Chart:
    """Bars per day: side by side (`stacked` False) or stacked, first series at the bottom."""
    chart = Chart(title=title, labels=labels, series=series, unit=unit)
    n = len(labels)
    if stacked:
        chart.peak = max(
            (sum(s.values[i] or 0 for s in series) for i in range(n)),
            default=0,
        )
    else:
        chart.peak = max((_peak(s.values) for s in series), default=0)
    if not chart.peak:
        return chart
    slot = chart.width / max(n, 1)
    inner = max(slot - 2, 0.5)
    for i, label in enumerate(labels):
        bottom = float(chart.height)
        for k, s in enumerate(series):
            value = s.values[i]
            if not value:
                continue
            h = value / chart.peak * chart.height
            if stacked:
                x, w, y = i * slot + 1, inner, bottom - h
                bottom -= h
            else:
                w = inner / len(series)
                x, y = i * slot + 1 + k * w, chart.height - h
            chart.rects.append(
                Rect(
                    str(_r(x)),
                    str(_r(y)),
                    str(_r(w)),
                    str(_r(h)),
                    s.css,
                    f"{label}: {value:,} {s.name}{chart.unit}",
                )
            )
    return chart
