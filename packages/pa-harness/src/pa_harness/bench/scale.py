"""Benchmark `scale`: the PA's cost per instrument as subscriptions grow (1, 10, 50, 200 instruments).

For each size a fresh set of processes: nats-server (`nats_rig`), the simulator with enough contracts (the four
real ones, then generated `SIM0001Z6`, ...) stepping its market every 50 ms, and the PA (`pa run --transport
nats://…`, LIVE) subscribed to quotes, DOM and a 1-minute chart (with 20 bars of history) of each instrument. U
(this process, `NatsFactConsumer` as user `u`) takes the facts; OE's health follower sees PA_UP.

Measured per size: the time from spawning the PA to its PA_UP (which needs every subscription made), the requests
the simulator received up to then (all of them, and the most in any one second) and the penalties it issued; then,
over a window of steady streaming, the PA process's CPU time (every thread, /proc schedstat) per fact U received,
and its RSS (sampled; and the peak). Targets: CPU per fact at 200 instruments ≤ 1.5x at 1; RSS ≤ 80 MB + 0.2 MB
per instrument; the start within Tradovate's published request budget (5,000 requests per rolling hour, 1,000 per
second; discovery report §10.1) with no penalty. The curve is drawn into an SVG beside the report.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from platform_adapter.config import InstrumentSettings
from platform_adapter.transport.nats.access import Module
from tradovate_sim import DEFAULT_CONTRACTS, generated_contracts

from .deployed import StampingU, consuming, following_health, running, wait_up
from .loop import run
from .nats_rig import NatsRig
from .pa_process import PaConfig, PaProcess
from .plot import Series, line_chart
from .pyspy import details, record
from .results import BenchResult, Row, Verdict, verdict
from .sim_process import SimStats, sim_server

SIZES: Final = (1, 10, 50, 200)
QUICK_SIZES: Final = (1, 10)
WINDOW_S: Final = 5.0
QUICK_WINDOW_S: Final = 2.0
STEP_S: Final = 0.05
TARGET_CPU_RATIO: Final = 1.5
RSS_BASE_MB: Final = 80.0
RSS_PER_INSTRUMENT_MB: Final = 0.2
HOURLY_BUDGET: Final = 5_000  # Tradovate: "5000 requests per hour", rolling (discovery report §10.1)
PER_SECOND_BUDGET: Final = 1_000  # Tradovate: general endpoints, 1,000 requests/second
MB: Final = 1_000_000
MIB: Final = 1024 * 1024
FIGURE: Final = "performance-scale.svg"
PROFILE_S: Final = 5.0


@dataclass
class _Size:
    instruments: int
    up_s: float = 0.0
    stats: SimStats | None = None
    facts: int = 0
    seconds: float = 0.0
    cpu_ns: int = 0
    rss_kib: list[int] = field(default_factory=list)
    hwm_kib: int = 0
    profile: str | None = None

    @property
    def cpu_us_per_fact(self) -> float:
        return self.cpu_ns / 1000 / self.facts if self.facts else float("nan")

    @property
    def rate(self) -> float:
        return self.facts / self.seconds if self.seconds else 0.0

    @property
    def cpu_share(self) -> float:
        return self.cpu_ns / 1e9 / self.seconds if self.seconds else 0.0

    @property
    def rss_mb(self) -> float:
        return max(self.rss_kib) * 1024 / MB if self.rss_kib else float("nan")

    @property
    def rss_limit_mb(self) -> float:
        return RSS_BASE_MB + RSS_PER_INSTRUMENT_MB * self.instruments


def _marginal_us(smaller: _Size, larger: _Size) -> float:
    extra_facts = larger.rate - smaller.rate
    if extra_facts <= 0:
        return float("nan")
    return (larger.cpu_share - smaller.cpu_share) * 1e6 / extra_facts


def instruments(count: int) -> list[InstrumentSettings]:
    """The first `count` contracts of the simulator's catalog: quotes, DOM and a 1-minute chart each."""
    names = [c.name for c in DEFAULT_CONTRACTS + generated_contracts(max(0, count - len(DEFAULT_CONTRACTS)))]
    return [InstrumentSettings(symbol=name, timeframes=("1m",), quotes=True, dom=True) for name in names[:count]]


async def _one(count: int, scratch: Path, window_s: float, profile: bool = False) -> _Size:
    size = _Size(count)
    extra = max(0, count - len(DEFAULT_CONTRACTS))
    with sim_server(tick_interval_s=STEP_S, contracts=extra) as sim:
        async with NatsRig(scratch / f"scale-{count}-nats") as rig:
            config = PaConfig(
                mode="LIVE",
                rest_url=sim.endpoints.rest_url,
                trading_ws_url=sim.endpoints.trading_ws_url,
                md_ws_url=sim.endpoints.md_ws_url,
                instruments=instruments(count),
                workdir=scratch / f"scale-{count}-pa",
            )
            pa = PaProcess(config, rig.url, rig.auth(Module.PA))
            u = StampingU()
            async with (
                following_health(rig, rig.auth(Module.OE), "oe-health") as health,
                consuming(rig, rig.auth(Module.U), "u", u),
                running(pa),
            ):
                up = await wait_up(health, pa, timeout_s=120)
                size.up_s = (up.since - pa.started_ns) / 1e9
                size.stats = await asyncio.to_thread(sim.stats)
                await asyncio.sleep(1.0)  # past the history and snapshots: steady streaming
                facts0, cpu0, began = u.count, pa.cpu_ns(), time.monotonic()
                while time.monotonic() - began < window_s:
                    size.rss_kib.append(pa.rss_kib())
                    await asyncio.sleep(0.25)
                size.facts, size.cpu_ns = u.count - facts0, pa.cpu_ns() - cpu0
                size.seconds = time.monotonic() - began
                size.hwm_kib = pa.hwm_kib()
                if profile:
                    sampled = await record(pa.pid, PROFILE_S, scratch / f"scale-{count}.pyspy")
                    size.profile = details(
                        sampled, f"the PA process streaming {count} instrument(s) ({PROFILE_S:.0f} s)"
                    )
    return size


async def _measure(scratch: Path, quick: bool, profile: bool) -> list[_Size]:
    sizes = QUICK_SIZES if quick else SIZES
    window = QUICK_WINDOW_S if quick else WINDOW_S
    # Profiled: the smallest size (what a PA costs with next to no traffic) and the largest.
    return [await _one(count, scratch, window, profile and count in (sizes[0], sizes[-1])) for count in sizes]


def _figure(sizes: list[_Size], out: Path) -> None:
    xs = [float(s.instruments) for s in sizes]
    svg = line_chart(
        title="PA cost per instrument (quotes + DOM + 1-minute chart each; simulator steps every 50 ms)",
        x_label="instruments (log scale)",
        xs=xs,
        left=Series("CPU per fact (µs)", [s.cpu_us_per_fact for s in sizes], "#1f77b4"),
        left_extra=Series(
            "marginal CPU per extra fact since the previous size (µs)",
            [float("nan")] + [_marginal_us(a, b) for a, b in itertools.pairwise(sizes)],
            "#1f77b4",
        ),
        right=Series("RSS (MiB)", [s.rss_mb * MB / MIB for s in sizes], "#d62728"),
        right_limit=Series(
            "RSS bound: 80 MB + 0.2 MB per instrument (MiB)", [s.rss_limit_mb * MB / MIB for s in sizes], "#d62728"
        ),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(svg, encoding="utf-8")


def bench_scale(scratch: Path, out_dir: Path, *, quick: bool, profile: bool = False) -> BenchResult:
    """Run the benchmark; draws the curve into `out_dir/performance-scale.svg` (`profile`: py-spy, extra windows)."""
    sizes = run(_measure(scratch, quick, profile))
    first, last = sizes[0], sizes[-1]
    result = BenchResult("scale", "9. Scale: cost per instrument (1 to 200 instruments over NATS)")
    for size in sizes:
        n = size.instruments
        result.rows.append(
            Row(
                "scale",
                f"{n} instrument(s): CPU per fact ({size.rate:,.0f} facts/s, {100 * size.cpu_share:.0f}% of a core)",
                size.cpu_us_per_fact,
                "µs",
                first.cpu_us_per_fact if size is not first else None,
                f"at {first.instruments} instrument(s)" if size is not first else "",
                f"≤ {TARGET_CPU_RATIO}x at {first.instruments}" if size is last and size is not first else "",
                verdict(size.cpu_us_per_fact <= TARGET_CPU_RATIO * first.cpu_us_per_fact)
                if size is last and size is not first
                else Verdict.INFO,
            )
        )
    for smaller, larger in itertools.pairwise(sizes):
        result.rows.append(
            Row(
                "scale",
                f"{smaller.instruments} → {larger.instruments}: marginal CPU per extra fact",
                _marginal_us(smaller, larger),
                "µs",
                note="(CPU/s at the larger - at the smaller) / (facts/s at the larger - at the smaller): the cost "
                "of one more fact without the PA's fixed cost per second",
            )
        )
    for size in sizes:
        result.rows.append(
            Row(
                "scale",
                f"{size.instruments} instrument(s): RSS, peak of samples (VmHWM {size.hwm_kib / 1024:.0f} MiB)",
                size.rss_mb * MB / MIB,
                "MiB",
                size.rss_limit_mb * MB / MIB,
                "bound",
                f"≤ 80 MB + 0.2 MB per instrument ({size.rss_limit_mb:.0f} MB)",
                verdict(size.rss_mb <= size.rss_limit_mb),
            )
        )
    for size in sizes:
        stats = size.stats
        assert stats is not None
        within = stats.requests <= HOURLY_BUDGET and stats.peak_per_second() <= PER_SECOND_BUDGET
        result.rows.append(
            Row(
                "scale",
                f"{size.instruments} instrument(s): spawn → PA_UP, every subscription made",
                size.up_s,
                "s",
                note=f"{stats.requests:,} requests, at most {stats.peak_per_second():,} in one second, "
                f"{stats.penalties} penalties",
            )
        )
        if size is last:
            result.rows.append(
                Row(
                    "scale",
                    f"{size.instruments} instrument(s): requests to PA_UP (peak in one second: "
                    f"{stats.peak_per_second():,}; penalties: {stats.penalties})",
                    float(stats.requests),
                    "requests",
                    float(HOURLY_BUDGET),
                    "Tradovate's budget per rolling hour (and 1,000/s)",
                    "within budget, no penalty",
                    verdict(within and stats.penalties == 0),
                )
            )
    figure = out_dir / FIGURE
    _figure(sizes, figure)
    rate_note = ", ".join(f"{s.instruments}: {s.rate:,.0f}" for s in sizes)
    last_stats = last.stats
    assert last_stats is not None
    endpoints = ", ".join(f"{name} {count}" for name, count in sorted(last_stats.by_endpoint.items()))
    result.notes.append(
        f"Sizes {', '.join(str(s.instruments) for s in sizes)}; each a fresh nats-server, simulator and PA; the "
        f"simulator steps every {STEP_S * 1000:.0f} ms (one trade per contract per step: a quote, a DOM and a "
        f"chart bar each). Facts/s at U during the {sizes[0].seconds:.0f} s windows: {rate_note} (the "
        "simulator's own step time stretches its period as contracts grow). CPU is the PA process's, all "
        "threads, over the window; RSS sampled every 0.25 s. Requests at "
        f"{last.instruments} instruments, by endpoint: {endpoints}. Medians do not apply: one window per size. "
        f"The curve: ![CPU per fact and RSS against instruments]({FIGURE})"
    )
    result.details += [size.profile for size in sizes if size.profile is not None]
    return result
