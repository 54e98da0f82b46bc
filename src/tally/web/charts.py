"""Trend charts drawn on the server as SVG: no script and no asset to fetch (works air-gapped),
and readable without sight: each chart has a title and a description, every bar a tooltip, and
the page shows the same figures as a table beside it.

A chart is geometry only (rectangles and ticks in SVG user units); ``tally/_chart.html`` draws it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 70, 22, 12, 30  # room for the y labels (left) and the day labels (bottom)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    values: Sequence[int]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str
    series: tuple[Series, ...]
    rects: tuple[Rect, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.rects


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (at least 1): a round top for the axis."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def stacked_bars(key: str, title: str, description: str, days: Sequence[str], series: Sequence[Series],
                 fmt: Callable[[int], str] = str, every: int = 5) -> Chart:
    """One bar per day, the series stacked bottom up; ``days`` are the x labels (every ``every``-th shown)."""
    plot_w, plot_h = (WIDTH - RIGHT) - LEFT, (HEIGHT - BOTTOM) - TOP
    totals = [sum(s.values[n] for s in series) for n in range(len(days))]
    top_value = nice_ceiling(max(totals, default=0))
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)
    rects = []
    for n, day in enumerate(days):
        base = 0
        for s in series:
            value = s.values[n]
            if value <= 0:
                continue
            h = plot_h * value / top_value
            y = TOP + plot_h - plot_h * (base + value) / top_value
            x = LEFT + n * slot + (slot - bar_w) / 2
            rects.append(Rect(round(x, 2), round(y, 2), round(bar_w, 2), round(h, 2), s.css,
                              f"{day} · {s.name}: {fmt(value)}"))
            base += value
    # 0, the middle when it is a whole number, and the top: ticks sit exactly on their values.
    marks = sorted({0, top_value} | ({top_value // 2} if top_value % 2 == 0 else set()))
    y_ticks = tuple(Tick(round(TOP + plot_h - plot_h * v / top_value, 2), fmt(v)) for v in marks)
    x_ticks = tuple(Tick(round(LEFT + n * slot + slot / 2, 2), day) for n, day in enumerate(days)
                    if n % every == 0 or n == len(days) - 1)
    return Chart(key, title, description, tuple(series), tuple(rects), y_ticks, x_ticks)
