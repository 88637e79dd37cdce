"""The geometry of the dashboard's charts, drawn as SVG by the page (no script, nothing from the internet).

A chart is a ``viewBox`` of ``WIDTH`` × ``HEIGHT`` units that the page scales to its column: bars for counts per
day, a line for a level over time (profiles, subscribers). Each bar or point carries its day and value, which the
page puts in a ``<title>`` (a tooltip, and what a screen reader reads) — beside a table of the same figures.
"""

from dataclasses import dataclass
from datetime import date

from webapp.dashboard.figures import Series

WIDTH, HEIGHT = 300, 100
TOP, BOTTOM = 8, 88  # the plotting area, leaving room for the axis line


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    width: float
    height: float
    day: date
    value: int


@dataclass(frozen=True)
class Chart:
    kind: str  # "bars" or "line"
    marks: list[Mark]
    points: str  # the line's polyline points ("" for bars)
    maximum: int
    first_day: date | None
    last_day: date | None
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = BOTTOM


def bars(series: Series) -> Chart:
    """Counts per day as bars, scaled to the largest (at least 1, so an empty period is a flat line)."""
    maximum = max([*series.values, 1])
    slot = WIDTH / max(len(series.values), 1)
    marks = []
    for index, (day, value) in enumerate(zip(series.days, series.values, strict=True)):
        height = (BOTTOM - TOP) * value / maximum
        marks.append(
            Mark(
                round(index * slot + slot * 0.15, 2),
                round(BOTTOM - height, 2),
                round(slot * 0.7, 2),
                round(height, 2),
                day,
                value,
            )
        )
    return Chart("bars", marks, "", maximum, _first(series), _last(series))


def line(series: Series) -> Chart:
    """A level per day as a line from the lowest to the highest value of the period (the axis starts at 0)."""
    maximum = max([*series.values, 1])
    count = len(series.values)
    step = WIDTH / max(count - 1, 1)
    marks = []
    for index, (day, value) in enumerate(zip(series.days, series.values, strict=True)):
        y = BOTTOM - (BOTTOM - TOP) * value / maximum
        marks.append(Mark(round(index * step, 2), round(y, 2), 0, 0, day, value))
    points = " ".join(f"{mark.x},{mark.y}" for mark in marks)
    return Chart("line", marks, points, maximum, _first(series), _last(series))


def _first(series: Series) -> date | None:
    return series.days[0] if series.days else None


def _last(series: Series) -> date | None:
    return series.days[-1] if series.days else None
