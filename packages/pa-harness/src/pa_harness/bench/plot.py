"""A line chart as plain SVG text (no plotting library): log-scale x, one y axis on each side."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

WIDTH: Final = 760
HEIGHT: Final = 420
LEFT, RIGHT, TOP, BOTTOM = 70, 80, 50, 60


@dataclass(frozen=True)
class Series:
    """A named line and its colour."""

    name: str
    values: Sequence[float]
    colour: str


def _nice_max(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        return 1.0
    magnitude: float = 10.0 ** math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _ticks(top: float, count: int = 5) -> list[float]:
    return [top * i / count for i in range(count + 1)]


def _label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:.1f}"


def line_chart(
    *,
    title: str,
    x_label: str,
    xs: Sequence[float],
    left: Series,
    right: Series,
    left_extra: Series | None = None,
    right_limit: Series | None = None,
) -> str:
    """The SVG document: `left` (and a dashed `left_extra`) against the left axis, `right` (and a dashed
    `right_limit`) against the right; a NaN value leaves its point out."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    low, high = math.log10(min(xs)), math.log10(max(xs))
    span = high - low or 1.0

    def x_at(x: float) -> float:
        return LEFT + plot_w * (math.log10(x) - low) / span

    finite_left = [v for v in (*left.values, *(left_extra.values if left_extra else ())) if math.isfinite(v)]
    right_values = [v for v in (*right.values, *(right_limit.values if right_limit else ())) if math.isfinite(v)]
    left_top, right_top = _nice_max(max(finite_left, default=1.0)), _nice_max(max(right_values, default=1.0))

    def y_at(value: float, top: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for value in _ticks(left_top):
        y = y_at(value, left_top)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{left.colour}">{_label(value)}</text>'
        )
    for value in _ticks(right_top):
        y = y_at(value, right_top)
        parts.append(f'<text x="{LEFT + plot_w + 6}" y="{y + 4:.1f}" fill="{right.colour}">{_label(value)}</text>')
    for x in xs:
        px = x_at(x)
        parts.append(f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{TOP + plot_h}" stroke="#eee"/>')
        parts.append(f'<text x="{px:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{x:g}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 18}" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(
        f'<text transform="translate(18 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle" '
        f'fill="{left.colour}">{escape(left.name)}</text>'
    )
    parts.append(
        f'<text transform="translate({WIDTH - 18} {TOP + plot_h / 2}) rotate(90)" text-anchor="middle" '
        f'fill="{right.colour}">{escape(right.name)}</text>'
    )
    lines: list[tuple[Series, float, str]] = [(left, left_top, ""), (right, right_top, "")]
    if left_extra is not None:
        lines.append((left_extra, left_top, ' stroke-dasharray="2 3"'))
    if right_limit is not None:
        lines.append((right_limit, right_top, ' stroke-dasharray="6 4"'))
    for series, top, dash in lines:
        points = [(x_at(x), y_at(v, top)) for x, v in zip(xs, series.values, strict=True) if math.isfinite(v)]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{series.colour}" stroke-width="2"{dash}/>')
        radius = 2.5 if dash else 3.5
        parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{radius}" fill="{series.colour}"/>' for px, py in points]
    legend_y = TOP + 16
    for series, _top, dash in lines:
        parts.append(
            f'<line x1="{LEFT + 12}" y1="{legend_y - 4}" x2="{LEFT + 40}" y2="{legend_y - 4}" '
            f'stroke="{series.colour}" stroke-width="2"{dash}/>'
        )
        parts.append(f'<text x="{LEFT + 46}" y="{legend_y}">{escape(series.name)}</text>')
        legend_y += 16
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
