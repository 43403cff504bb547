"""Server-rendered SVG charts: geometry computed here, drawn by a template; no JavaScript, no inline style.

A chart is plain data (rectangles with their labels), so a template can draw it and a test can read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    css: str


@dataclass(frozen=True)
class BarChart:
    title: str
    unit: str
    width: int
    height: int
    top: float
    bars: tuple[Bar, ...]

    @property
    def baseline(self) -> int:
        return self.height


def bar_chart(
    title: str, unit: str, points: list[tuple[str, float, str]], width: int = 600, height: int = 120
) -> BarChart:
    """Bars for `(label, value, css class)` points, left to right, scaled to the largest value."""
    top = max((value for _, value, _ in points), default=0.0)
    scale = top or 1.0  # all zero: flat bars, and the caption still says 0
    slot = width / max(len(points), 1)
    gap = min(4.0, slot * 0.2)
    bars = []
    for index, (label, value, css) in enumerate(points):
        bar_height = max(value / scale * (height - 2), 1.0)
        bars.append(
            Bar(
                x=round(index * slot + gap / 2, 2),
                y=round(height - bar_height, 2),
                width=round(slot - gap, 2),
                height=round(bar_height, 2),
                label=label,
                value=value,
                css=css,
            )
        )
    return BarChart(title=title, unit=unit, width=width, height=height, top=top, bars=tuple(bars))
