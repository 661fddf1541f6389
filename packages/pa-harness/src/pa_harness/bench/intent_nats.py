"""Benchmark `intent`: intent → receipt-ack over NATS, as deployed, against raw NATS request/reply + a raw order.

Processes: nats-server (the deployed accounts, provisioned, and the baselines' mirror, `nats_rig`); the simulator
(instant order replies); the PA (`pa run --transport nats://…`, LIVE, its ledger and lease on NATS); OE — this
process — calling `NatsIntentCaller.call` as user `oe`; the raw NATS responder (`nats_peer echo`, account
`RAW_PA`); the raw trading socket (`raw_trader`). Blocks of 25 alternate: OE's intents through the PA, raw
request/replies through the same kind of service import (the same intent bytes, a ready-made ack of the PA's size),
raw `order/placeorder` round trips on a socket of their own.

OE's wait is the two hops a raw order does not take (the NATS request/reply) plus the one it does (the order round
trip): the baseline is the sum of a raw request/reply and a raw order, as independent draws. PA overhead p50 is the
median over block triples of `median(PA block) - median(every raw-NATS + raw-order sum of that triple)`; p99 is
`p99(PA) - p99(the sums over the whole run)`. The PA's own `received_ts` / `acked_ts` in each ack split OE's wait
into NATS there, the PA's residence (gate, ledger, the order round trip, the ack) and NATS back.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from nats.js.errors import KeyNotFoundError

from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckStatus, OrderAction, OrderType, SubmitOrder
from platform_adapter.transport.nats.access import Module
from platform_adapter.transport.nats.connection import disconnect
from platform_adapter.transport.nats.intent_caller import NatsIntentCaller
from platform_adapter.transport.nats.subjects import LEDGER_BUCKET

from .command import BLOCK, PAUSE_S, SYMBOL, _raw_block, _start_raw, _stop_raw
from .deployed import following_health, peer, running, wait_up
from .loop import run
from .nats_rig import NatsRig
from .pa_process import PaConfig, PaProcess
from .pyspy import details, while_recording
from .results import BenchResult, Row, Verdict, median, percentile, verdict
from .sim_process import SimEndpoints, sim_server
from .stack import BENCH_INSTRUMENTS

TARGET_OVERHEAD_P50_US: Final = 250.0
TARGET_OVERHEAD_P99_US: Final = 1000.0
BLOCKS: Final = 24
QUICK_BLOCKS: Final = 6
KV_CALLS: Final = 200
PROFILE_S: Final = 6.0


@dataclass
class _Figures:
    pa_us: list[float] = field(default_factory=list)
    nats_us: list[float] = field(default_factory=list)
    ws_us: list[float] = field(default_factory=list)
    block_overheads_us: list[float] = field(default_factory=list)
    there_us: list[float] = field(default_factory=list)  # OE's send -> the PA took it (received_ts)
    residence_us: list[float] = field(default_factory=list)  # received_ts -> acked_ts, in the PA
    back_us: list[float] = field(default_factory=list)  # acked_ts -> OE has the ack
    kv_calls_us: list[float] = field(default_factory=list)  # raw KV get + create + put (the ledger's calls)
    not_accepted: int = 0
    up_s: float = 0.0
    profile: str | None = None


def _intent(prefix: str, index: int, account_id: int) -> SubmitOrder:
    return SubmitOrder(
        intent_id=f"{prefix}-{index:07d}",
        account_id=account_id,
        symbol=SYMBOL,
        action=OrderAction.BUY if index % 2 == 0 else OrderAction.SELL,
        qty=1,
        order_type=OrderType.MARKET,
    )


async def _pa_block(caller: NatsIntentCaller, account_id: int, first: int, figures: _Figures | None) -> list[float]:
    round_trips: list[float] = []
    for index in range(first, first + BLOCK):
        intent = _intent("bench-pa", index, account_id)
        sent_ns, began = time.time_ns(), time.perf_counter_ns()
        ack = await caller.call(intent, OE_IDENTITY)
        round_trips.append((time.perf_counter_ns() - began) / 1000)
        returned_ns = time.time_ns()
        if figures is not None:
            if ack.status is not AckStatus.ACCEPTED:
                figures.not_accepted += 1
            figures.there_us.append((ack.received_ts - sent_ns) / 1000)
            figures.residence_us.append((ack.acked_ts - ack.received_ts) / 1000)
            figures.back_us.append((returned_ns - ack.acked_ts) / 1000)
        await asyncio.sleep(PAUSE_S)  # the order's props events are published meanwhile
    return round_trips


async def _nats_block(caller: NatsIntentCaller, account_id: int, first: int) -> list[float]:
    round_trips: list[float] = []
    for index in range(first, first + BLOCK):
        intent = _intent("bench-raw", index, account_id)
        began = time.perf_counter_ns()
        await caller.call(intent, OE_IDENTITY)
        round_trips.append((time.perf_counter_ns() - began) / 1000)
        await asyncio.sleep(PAUSE_S)
    return round_trips


def _sums(nats: list[float], ws: list[float], limit: int = 200_000) -> list[float]:
    """Every nats + ws sum (independent draws), or a seeded sample of `limit` of them when there are more."""
    if len(nats) * len(ws) <= limit:
        return [a + b for a in nats for b in ws]
    rng = random.Random(7)
    return [rng.choice(nats) + rng.choice(ws) for _ in range(limit)]


async def _kv_calls(rig: NatsRig, figures: _Figures, count: int) -> None:
    """Raw KV get (a miss) + create + put on the mirror's ledger bucket: the store calls the ledger makes per intent."""
    nc = await rig.connect(rig.raw_auth("pa"), "raw_pa_kv")
    try:
        kv = await nc.jetstream().key_value(LEDGER_BUCKET)
        body = b'{"intent_id":"bench-raw","fingerprint":"' + b"f" * 64 + b'","received_ts":1,"ack":null}'
        for index in range(count):
            key = f"bench{index:08d}"
            began = time.perf_counter_ns()
            with contextlib.suppress(KeyNotFoundError):
                await kv.get(key)
            await kv.create(key, body)
            await kv.put(key, body + b" ")
            figures.kv_calls_us.append((time.perf_counter_ns() - began) / 1000)
    finally:
        await disconnect(nc)


async def _measure(rig: NatsRig, sim: SimEndpoints, workdir: Path, quick: bool, profile: bool) -> _Figures:
    figures = _Figures()
    blocks = QUICK_BLOCKS if quick else BLOCKS
    config = PaConfig(
        mode="LIVE",
        rest_url=sim.rest_url,
        trading_ws_url=sim.trading_ws_url,
        md_ws_url=sim.md_ws_url,
        instruments=BENCH_INSTRUMENTS,
        workdir=workdir,
    )
    pa = PaProcess(config, rig.url, rig.auth(Module.PA))
    with peer("echo", rig, rig.raw_auth("pa")):
        async with following_health(rig, rig.auth(Module.OE), "oe-health") as health, running(pa):
            up = await wait_up(health, pa, timeout_s=60)
            figures.up_s = (up.since - pa.started_ns) / 1e9
            oe = await rig.connect(rig.auth(Module.OE), "oe")
            raw_oe = await rig.connect(rig.raw_auth("oe"), "raw_oe")
            caller, raw_caller = NatsIntentCaller(oe), NatsIntentCaller(raw_oe)
            raw = await _start_raw(sim)
            try:
                await _pa_block(caller, sim.account_id, 0, None)  # warm-up
                await _nats_block(raw_caller, sim.account_id, 0)
                await _raw_block(raw, BLOCK, 0)
                for block in range(1, blocks + 1):
                    first = block * BLOCK
                    pa_block = await _pa_block(caller, sim.account_id, first, figures)
                    nats_block = await _nats_block(raw_caller, sim.account_id, first)
                    ws_block = await _raw_block(raw, BLOCK, first)
                    figures.pa_us += pa_block
                    figures.nats_us += nats_block
                    figures.ws_us += ws_block
                    figures.block_overheads_us.append(median(pa_block) - median(_sums(nats_block, ws_block)))
                if profile:
                    blocks_done = [blocks + 1]

                    async def more() -> None:
                        await _pa_block(caller, sim.account_id, blocks_done[0] * BLOCK, None)
                        blocks_done[0] += 1

                    sampled = await while_recording(pa.pid, PROFILE_S, workdir / "pa.pyspy", more)
                    figures.profile = details(sampled, f"the PA process while OE sends intents ({PROFILE_S:.0f} s)")
            finally:
                await _stop_raw(raw)
                await disconnect(oe)
                await disconnect(raw_oe)
    await _kv_calls(rig, figures, KV_CALLS // (4 if quick else 1))
    return figures


async def _bench(scratch: Path, quick: bool, profile: bool) -> _Figures:
    async with NatsRig(scratch / "intent-nats") as rig:
        with sim_server() as sim:
            return await _measure(rig, sim.endpoints, scratch / "intent-pa", quick, profile)


def bench_intent(scratch: Path, *, quick: bool, profile: bool = False) -> BenchResult:
    """Run the benchmark (`profile`: then sample the PA with py-spy while OE keeps sending)."""
    figures = run(_bench(scratch, quick, profile))
    sums = _sums(figures.nats_us, figures.ws_us)
    pa_p50, pa_p99 = percentile(figures.pa_us, 50), percentile(figures.pa_us, 99)
    base_p50, base_p99 = percentile(sums, 50), percentile(sums, 99)
    overhead_p50, overhead_p99 = median(figures.block_overheads_us), pa_p99 - base_p99
    baseline_name = "raw NATS request/reply + raw WS order"
    result = BenchResult("intent", "7. Intent → receipt-ack over NATS (OE, PA, simulator in their own processes)")
    result.rows += [
        Row("intent", "OE's call → receipt-ack p50", pa_p50, "µs", base_p50, baseline_name),
        Row("intent", "OE's call → receipt-ack p99", pa_p99, "µs", base_p99, baseline_name),
        Row(
            "intent",
            "PA overhead p50 (median over block triples of PA - (NATS + order))",
            overhead_p50,
            "µs",
            base_p50,
            "baseline p50",
            f"≤ {TARGET_OVERHEAD_P50_US:.0f} µs",
            verdict(overhead_p50 <= TARGET_OVERHEAD_P50_US),
            ratio_override=pa_p50 / base_p50 if base_p50 else None,
        ),
        Row(
            "intent",
            "PA overhead p99 (p99 PA - p99 of NATS + order)",
            overhead_p99,
            "µs",
            base_p99,
            "baseline p99",
            f"≤ {TARGET_OVERHEAD_P99_US:.0f} µs",
            verdict(overhead_p99 <= TARGET_OVERHEAD_P99_US),
            ratio_override=pa_p99 / base_p99 if base_p99 else None,
        ),
        Row("intent", "raw NATS request/reply p50", percentile(figures.nats_us, 50), "µs", note="baseline part"),
        Row("intent", "raw WS order round trip p50", percentile(figures.ws_us, 50), "µs", note="baseline part"),
        Row(
            "intent",
            "OE send → PA took it, p50 (NATS, there)",
            percentile(figures.there_us, 50),
            "µs",
            note="split of OE's wait by the ack's received_ts / acked_ts",
        ),
        Row(
            "intent",
            "PA took it → PA acked, p50 (gate, ledger, order round trip)",
            percentile(figures.residence_us, 50),
            "µs",
            percentile(figures.ws_us, 50),
            "raw WS order p50",
        ),
        Row("intent", "PA acked → OE has it, p50 (NATS, back)", percentile(figures.back_us, 50), "µs"),
        Row(
            "intent",
            "raw JetStream KV get + create + put p50 (the ledger's store calls per intent, on this server)",
            percentile(figures.kv_calls_us, 50),
            "µs",
        ),
    ]
    result.notes.append(
        f"{len(figures.pa_us)} market orders through the PA, and as many raw request/replies and raw orders, in "
        f"alternating blocks of {BLOCK}, {PAUSE_S * 1000:.0f} ms apart; nats-server, simulator, PA, raw responder and "
        "raw trading socket each in its own process, OE and the raw requester in this one. The PA is `pa run "
        "--transport nats://…` with the deployed accounts (OE's intents cross the PA's service import; the raw "
        "requests cross the same kind of import between mirror accounts); it reached PA_UP "
        f"{figures.up_s:.1f} s after it was spawned. U does not consume during this benchmark (the orders' facts "
        "stay in the stream). Received / acked timestamps are the PA's wall clock, the sends and returns OE's: "
        "one machine, one clock."
        + (f" {figures.not_accepted} acks were not `accepted`." if figures.not_accepted else "")
    )
    if figures.profile is not None:
        result.details.append(figures.profile)
    if figures.not_accepted:
        result.rows.append(
            Row("intent", "acks not accepted", float(figures.not_accepted), "facts", None, "", "0", Verdict.MISSED)
        )
    return result
