"""An inline SVG chart of the backpressure test: outbox depth against its limits, and fact rates, over time.

Hand-written SVG (no JS, no fonts or files fetched), so the report opens offline in any browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from pa_harness.acceptance.evidence import Sample

_W, _H = 820, 340
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 70, 40, 56


@dataclass(frozen=True, slots=True)
class Bin:
    """The samples of one slice of time: depth range, and facts built / delivered per second across it."""

    t_ms: float  # end of the slice
    depth_min: int
    depth_max: int
    built_per_s: float
    delivered_per_s: float
    halt: bool  # halt_required was published at some point in the slice


def bin_samples(samples: Sequence[Sample], bins: int = 160) -> list[Bin]:
    """Slices of equal time; rates are counter differences between the ends of consecutive slices.

    The outbox is filled by readers and emptied in batches, so at full resolution its depth saw-tooths;
    a slice keeps the range it covered rather than one arbitrary point of it.
    """
    if len(samples) < 2:
        return []
    t_end = max(samples[-1].t_ms, 1e-9)
    width = t_end / bins
    result: list[Bin] = []
    previous = samples[0]
    index = 0
    for slot in range(1, bins + 1):
        edge = slot * width
        chunk: list[Sample] = []
        while index < len(samples) and (samples[index].t_ms <= edge or slot == bins):
            chunk.append(samples[index])
            index += 1
        if not chunk:
            continue
        last = chunk[-1]
        dt = (last.t_ms - previous.t_ms) / 1000
        result.append(
            Bin(
                t_ms=last.t_ms,
                depth_min=min(s.depth for s in chunk),
                depth_max=max(s.depth for s in chunk),
                built_per_s=(last.received - previous.received) / dt if dt > 0 else 0.0,
                delivered_per_s=(last.delivered - previous.delivered) / dt if dt > 0 else 0.0,
                halt=any(s.halt for s in chunk),
            )
        )
        previous = last
    return result


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
    slices = bin_samples(samples)
    depth_top = max(capacity, max(s.depth for s in samples)) * 1.08
    rate_top = max(max(b.built_per_s for b in slices), max(b.delivered_per_s for b in slices), 1.0) * 1.1

    def x(t_ms: float) -> float:
        return _LEFT + plot_w * t_ms / t_end

    def y_depth(depth: float) -> float:
        return _TOP + plot_h * (1 - depth / depth_top)

    def y_rate(rate: float) -> float:
        return _TOP + plot_h * (1 - rate / rate_top)

    # halt_required spans, shaded
    start: float | None = None
    for sample in [*slices, None]:
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
    # series: the depth range of each slice as a band, its maximum as a line; the two rates
    band = [(x(b.t_ms), y_depth(b.depth_max)) for b in slices] + [
        (x(b.t_ms), y_depth(b.depth_min)) for b in reversed(slices)
    ]
    coordinates = " ".join(f"{px:.1f},{py:.1f}" for px, py in band)
    parts.append(f'<polygon points="{coordinates}" fill="#1f5fa8" fill-opacity="0.18" stroke="none"/>')
    # a rate is an average over its slice (which may be long while the test kept the loop busy): draw it flat
    starts = [samples[0].t_ms] + [b.t_ms for b in slices[:-1]]
    for attribute, colour, dash in (("built_per_s", "#2a7d2a", False), ("delivered_per_s", "#8e44ad", True)):
        steps = [
            point
            for begin, b in zip(starts, slices, strict=True)
            for point in ((x(begin), y_rate(getattr(b, attribute))), (x(b.t_ms), y_rate(getattr(b, attribute))))
        ]
        parts.append(_polyline(steps, colour, 1.4, dash=dash))
    parts.append(_polyline([(x(b.t_ms), y_depth(b.depth_max)) for b in slices], "#1f5fa8", 2.2))
    # legend
    legend = (
        ("#1f5fa8", "outbox depth (max; band: range)", False),
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
        lx += 36 + 6 * len(label)
    parts.append(
        f'<rect x="{lx}" y="{ly - 10}" width="18" height="10" fill="#fde2e1"/>'
        f'<text x="{lx + 23}" y="{ly}">halt_required published to OE</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _polyline(points: Sequence[tuple[float, float]], colour: str, width: float, *, dash: bool = False) -> str:
    coordinates = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    style = ' stroke-dasharray="5 3"' if dash else ""
    return f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="{width}"{style}/>'
