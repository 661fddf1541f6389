"""Benchmark `facts`: fact latency through JetStream, socket read at the PA → the fact in U's pull consumer.

Processes: nats-server (`nats_rig`: the deployed accounts and the baselines' mirror), the wire server (the corpus
over a WebSocket, paced or in a burst), the simulator (REST and the trading socket), the PA (`pa run --transport
nats://…`, SIM: market ingress only; its market-data socket on the wire server), the raw forwarder (`nats_peer
forward`, on the wire server's other socket), and U — this process — reading both streams with the project's
`NatsFactConsumer` (batch 500, as the reference U), the PA's as user `u` through the PA account's exported durable,
the raw one as `raw_u` through the mirror's.

For every fact U takes, latency is `time_ns()` at the hand-over minus the envelope's `recv_ts`, which the PA stamps
when it reads the frame off the socket (the raw forwarder stamps it at the same point). The baseline is the least
forwarder onto the same kind of stream: socket read → `publish` of a ready-made PA envelope (no ack awaited) → the
same consumer on the same server. Rounds alternate PA and raw, paced then burst.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import aiohttp

from platform_adapter.transport.nats.access import Module

from .corpus import Corpus
from .deployed import StampingU, consuming, following_health, peer, running, wait_up
from .ingress import _blast
from .loop import run
from .nats_rig import NatsRig
from .pa_process import PaConfig, PaProcess
from .processes import wire_server
from .pyspy import details, while_recording
from .results import BenchResult, Row, Verdict, median, percentile, verdict
from .sim_process import sim_server
from .stack import BENCH_INSTRUMENTS

TARGET_P99_RATIO: Final = 2.0
PACED_RATE: Final = 2_000.0  # msg/s: a busy session on a handful of contracts (scale: 200 instruments ~ 12 k/s)
BURST: Final = 5_000  # messages sent as fast as the socket takes them (an open, a news print, a backfill)
ROUNDS: Final = 3
PACED_S: Final = 3.0
QUICK_ROUNDS: Final = 2
QUICK_PACED_S: Final = 1.5
WARM_UP: Final = 2_000
SETTLE_S: Final = 0.3
PROFILE_S: Final = 5.0


@dataclass
class _Side:
    paced_us: list[float] = field(default_factory=list)
    burst_us: list[float] = field(default_factory=list)
    burst_rates: list[float] = field(default_factory=list)  # facts/s at U over each burst


@dataclass
class _Figures:
    pa: _Side = field(default_factory=_Side)
    raw: _Side = field(default_factory=_Side)
    up_s: float = 0.0
    profiles: list[str] = field(default_factory=list)


async def _send(
    http: aiohttp.ClientSession, port: int, route: str, u: StampingU, messages: int, rate: float
) -> tuple[list[float], float]:
    """Blast at `route`, wait until U has every message; (latencies µs, facts/s at U)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(SETTLE_S)  # whatever the previous round left in flight is in
    before = u.count
    u.latencies_ns.clear()
    u.stamping = True
    began = loop.time()
    sent = await _blast(http, port, route, messages, rate)
    await u.until(before + int(sent["messages"]), timeout_s=120)
    elapsed = loop.time() - began
    u.stamping = False
    latencies = [ns / 1000 for ns in u.latencies_ns]
    u.latencies_ns.clear()
    return latencies, int(sent["messages"]) / elapsed


async def _measure(corpus: Corpus, scratch: Path, quick: bool, profile: bool) -> _Figures:
    figures = _Figures()
    rounds = QUICK_ROUNDS if quick else ROUNDS
    paced_s = QUICK_PACED_S if quick else PACED_S
    with wire_server(corpus.seed) as port, sim_server() as sim:
        async with NatsRig(scratch / "facts-nats") as rig:
            config = PaConfig(
                mode="SIM",
                rest_url=sim.endpoints.rest_url,
                trading_ws_url=sim.endpoints.trading_ws_url,
                md_ws_url=f"ws://127.0.0.1:{port}/v1/websocket",
                instruments=BENCH_INSTRUMENTS,
                workdir=scratch / "facts-pa",
            )
            pa = PaProcess(config, rig.url, rig.auth(Module.PA))
            pa_u, raw_u = StampingU(), StampingU()
            forward = ("--ws", f"ws://127.0.0.1:{port}/raw/websocket")
            with peer("forward", rig, rig.raw_auth("pa"), *forward):
                async with (
                    following_health(rig, rig.auth(Module.U), "u-health") as health,
                    consuming(rig, rig.auth(Module.U), "u", pa_u),
                    consuming(rig, rig.raw_auth("u"), "raw_u", raw_u),
                    running(pa),
                    aiohttp.ClientSession() as http,
                ):
                    up = await wait_up(health, pa, timeout_s=60)
                    figures.up_s = (up.since - pa.started_ns) / 1e9
                    sides = (("pa", pa_u, figures.pa), ("raw", raw_u, figures.raw))
                    for route, u, _ in sides:  # warm-up
                        await _send(http, port, route, u, WARM_UP, 0)
                    for _ in range(rounds):
                        for route, u, side in sides:
                            paced, _ = await _send(http, port, route, u, int(PACED_RATE * paced_s), PACED_RATE)
                            side.paced_us += paced
                            burst, rate = await _send(http, port, route, u, BURST, 0)
                            side.burst_us += burst
                            side.burst_rates.append(rate)
                    if profile:
                        figures.profiles += await _profiles(pa, http, port, pa_u, scratch)
    return figures


async def _profiles(pa: PaProcess, http: aiohttp.ClientSession, port: int, u: StampingU, scratch: Path) -> list[str]:
    """py-spy on the PA while it forwards paced facts, then while it forwards bursts."""

    async def paced() -> None:
        await _send(http, port, "pa", u, int(PACED_RATE), PACED_RATE)

    async def burst() -> None:
        await _send(http, port, "pa", u, BURST, 0)

    found = []
    for what, load in ((f"paced {PACED_RATE:,.0f} msg/s", paced), (f"bursts of {BURST:,}", burst)):
        sampled = await while_recording(pa.pid, PROFILE_S, scratch / "facts-pa.pyspy", load)
        found.append(details(sampled, f"the PA process forwarding facts to JetStream, {what} ({PROFILE_S:.0f} s)"))
    return found


def bench_facts(corpus: Corpus, scratch: Path, *, quick: bool, profile: bool = False) -> BenchResult:
    """Run the benchmark (`profile`: then sample the PA with py-spy, paced and in bursts)."""
    figures = run(_measure(corpus, scratch, quick, profile))
    result = BenchResult("facts", "8. Fact latency through JetStream: socket read at the PA → fact in U's consumer")
    for mode, pa_samples, raw_samples in (
        (f"paced {PACED_RATE / 1000:.0f} k msg/s", figures.pa.paced_us, figures.raw.paced_us),
        (f"burst of {BURST:,}", figures.pa.burst_us, figures.raw.burst_us),
    ):
        for q, label in ((50.0, "p50"), (99.0, "p99"), (99.9, "p99.9")):
            value, baseline = percentile(pa_samples, q), percentile(raw_samples, q)
            held = label == "p99"
            result.rows.append(
                Row(
                    "facts",
                    f"{mode}: {label}, socket read → fact at U",
                    value,
                    "µs",
                    baseline,
                    "raw: socket read → publish → same consumer",
                    f"≤ {TARGET_P99_RATIO:.0f}x raw p99" if held else "",
                    verdict(value <= TARGET_P99_RATIO * baseline) if held else Verdict.INFO,
                )
            )
    result.rows.append(
        Row(
            "facts",
            f"burst of {BURST:,}: facts/s reaching U",
            median(figures.pa.burst_rates),
            "facts/s",
            median(figures.raw.burst_rates),
            "raw forwarder",
        )
    )
    result.notes.append(
        f"{len(figures.pa.paced_us):,} PA facts and {len(figures.raw.paced_us):,} raw ones paced at "
        f"{PACED_RATE:,.0f} msg/s (the wire server sends what is due every 0.5 ms), and "
        f"{len(figures.pa.burst_us):,} / {len(figures.raw.burst_us):,} in bursts of {BURST:,} sent as fast as the "
        "socket takes them; PA and raw rounds alternate; percentiles over all facts of a side. The PA's path: its "
        "reader, the outbox, `NatsFactSink` (a JetStream ack per fact, window 256, the order guard), the stream, "
        "U's exported durable. The raw path: the same socket read, `publish` of the PA's own envelope for that "
        "message (relabelled: recv_ts, delivery_seq, dedupe id), the mirror's stream and durable. U is "
        f"`NatsFactConsumer` (fetch 500, one ack per batch) for both. The PA reached PA_UP {figures.up_s:.1f} s "
        "after it was spawned."
    )
    result.details += figures.profiles
    return result
