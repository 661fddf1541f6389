"""An inline SVG chart of the backpressure test: outbox depth against its limits, and fact rates, over time.

Hand-written SVG (no JS, no fonts or files fetched), so the report opens offline in any browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from platform_adapter.acceptance.evidence import Sample

_W, _H = 820, 340
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 70, 40, 56


def rates(samples: Sequence[Sample], *, window: int = 6) -> tuple[list[float], list[float]]:
    """Facts built and delivered per second at each sample, over the last `window` samples."""
    built: list[float] = []
    delivered: list[float] = []
    for i, sample in enumerate(samples):
        j = max(0, i - window)
        dt = (sample.t_ms - samples[j].t_ms) / 1000
        if i == 0 or dt <= 0:
            built.append(0.0)
            delivered.append(0.0)
            continue
        built.append((sample.received - samples[j].received) / dt)
        delivered.append((sample.delivered - samples[j].delivered) / dt)
    return built, delivered


def _ticks(top: float, count: int = 5) -> list[float]:
    if top <= 0:
        return [0.0]
    raw = top / count
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    step = max(1, round(raw / magnitude)) * magnitude
    values = []
    value = 0.0
    while value <= top * 1.0001:
        values.append(value)
        value += step
    return values


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}"


def backpressure_svg(
    samples: Sequence[Sample], *, capacity: int, high: int, low: int, title: str = "Backpressure test"
) -> str:
    """The chart as an `<svg>` element (empty-state text when there are no samples)."""
    plot_w = _W - _LEFT - _RIGHT
    plot_h = _H - _TOP - _BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="100%" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f'<rect x="0" y="0" width="{_W}" height="{_H}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    if len(samples) < 2:
        parts.append(f'<text x="{_LEFT}" y="{_TOP + 40}">no samples were recorded</text></svg>')
        return "".join(parts)
    t_end = max(samples[-1].t_ms, 1.0)
    built, delivered = rates(samples)
    depth_top = max(capacity, max(s.depth for s in samples)) * 1.08
    rate_top = max(max(built), max(delivered), 1.0) * 1.1

    def x(t_ms: float) -> float:
        return _LEFT + plot_w * t_ms / t_end

    def y_depth(depth: float) -> float:
        return _TOP + plot_h * (1 - depth / depth_top)

    def y_rate(rate: float) -> float:
        return _TOP + plot_h * (1 - rate / rate_top)

    # halt_required spans, shaded
    start: float | None = None
    for sample in [*samples, None]:
        if sample is not None and sample.halt and start is None:
            start = sample.t_ms
        elif (sample is None or not sample.halt) and start is not None:
            end = sample.t_ms if sample is not None else t_end
            parts.append(
                f'<rect x="{x(start):.1f}" y="{_TOP}" width="{max(1.0, x(end) - x(start)):.1f}" height="{plot_h}" '
                'fill="#fde2e1"/>'
            )
            start = None
    # axes and grid
    for value in _ticks(depth_top):
        yy = y_depth(value)
        parts.append(f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#eeeeee"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{_number(value)}</text>')
    for value in _ticks(rate_top):
        yy = y_rate(value)
        parts.append(
            f'<text x="{_LEFT + plot_w + 6}" y="{yy + 4:.1f}" text-anchor="start" fill="#2a7d2a">{_number(value)}</text>'
        )
    for value in _ticks(t_end, 8):
        xx = x(value)
        parts.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h + 4}" stroke="#333"/>')
        parts.append(f'<text x="{xx:.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle">{value:.0f}</text>')
    parts.append(
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>'
        f'<text x="{_LEFT + plot_w / 2}" y="{_H - 24}" text-anchor="middle">wall time since the PA started (ms)</text>'
        f'<text x="14" y="{_TOP + plot_h / 2}" text-anchor="middle" transform="rotate(-90 14 {_TOP + plot_h / 2})">'
        "outbox depth (facts)</text>"
        f'<text x="{_W - 12}" y="{_TOP + plot_h / 2}" text-anchor="middle" fill="#2a7d2a" '
        f'transform="rotate(90 {_W - 12} {_TOP + plot_h / 2})">facts per second</text>'
    )
    # limits
    for value, label, colour in (
        (capacity, "capacity", "#c0392b"),
        (high, "high watermark", "#e67e22"),
        (low, "low watermark", "#7f8c8d"),
    ):
        yy = y_depth(value)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{colour}" '
            'stroke-dasharray="6 4"/>'
            f'<text x="{_LEFT + 4}" y="{yy - 3:.1f}" fill="{colour}">{label} {value:,}</text>'
        )
    # series
    parts.append(_polyline([(x(s.t_ms), y_rate(r)) for s, r in zip(samples, built, strict=True)], "#2a7d2a", 1.4))
    parts.append(
        _polyline([(x(s.t_ms), y_rate(r)) for s, r in zip(samples, delivered, strict=True)], "#8e44ad", 1.4, dash=True)
    )
    parts.append(_polyline([(x(s.t_ms), y_depth(s.depth)) for s in samples], "#1f5fa8", 2.2))
    # legend
    legend = (
        ("#1f5fa8", "outbox depth", False),
        ("#2a7d2a", "facts built /s", False),
        ("#8e44ad", "facts delivered to U /s", True),
    )
    lx = _LEFT
    ly = _H - 8
    for colour, label, dash in legend:
        style = ' stroke-dasharray="5 3"' if dash else ""
        parts.append(
            f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" stroke-width="2"{style}/>'
            f'<text x="{lx + 27}" y="{ly}">{label}</text>'
        )
        lx += 40 + 7 * len(label)
    parts.append(
        f'<rect x="{lx}" y="{ly - 10}" width="18" height="10" fill="#fde2e1"/>'
        f'<text x="{lx + 23}" y="{ly}">halt_required (PA_DEGRADED to OE)</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _polyline(points: Sequence[tuple[float, float]], colour: str, width: float, *, dash: bool = False) -> str:
    coordinates = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    style = ' stroke-dasharray="5 3"' if dash else ""
    return f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="{width}"{style}/>'
