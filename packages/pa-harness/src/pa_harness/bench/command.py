"""Benchmark 3: the command path, intent → receipt-ack, against the simulator's instant order endpoint.

The PA (LIVE mode, full in-process stack, U consuming facts) is driven the way OE drives it: an
in-process intent call as OE, timed from the call to the returned `ReceiptAck`. The baseline, in the same
run and against the same simulator, is a raw trading socket (`raw_trader.py`) sending the same
`order/placeorder` request text and timing it to its response: the simulator's own handling time plus
the WebSocket round trip. `PA - raw` is what the PA adds (gate, idempotency ledger, validation, request
encoding, response routing, the ack, its log line).

Three processes, so neither side's work runs on the other's loop: the simulator, the PA, and the raw
client. Both sockets `user/syncrequest`, so the simulator fans every order's `props` events out to both,
whichever placed it: each side pays the same simulator work. Blocks of orders alternate (PA, raw, PA, ...;
Buy/Sell alternating so positions stay flat), with a short pause after each order so its props events
are processed before the next one is timed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Final

from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckStatus, FactEnvelope, OrderAction, OrderType, Stream, SubmitOrder

from .loop import run
from .results import BenchResult, Row, Verdict, median, percentile, verdict
from .sim_process import SimEndpoints, sim_process
from .stack import RunningPA, pa_settings, running_pa

TARGET_OVERHEAD_P50_US: Final = 200.0
PAUSE_S: Final = 0.003
BLOCK: Final = 25
SYMBOL: Final = "ESZ6"


@dataclass
class _Figures:
    pa_us: list[float] = field(default_factory=list)
    raw_us: list[float] = field(default_factory=list)
    block_overheads_us: list[float] = field(default_factory=list)  # median(PA block) - median(next raw block)
    after_response_us: list[float] = field(default_factory=list)  # response frame read -> ack returned
    not_accepted: int = 0


async def _start_raw(sim: SimEndpoints) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pa_harness.bench.raw_trader",
        "--rest-url",
        sim.rest_url,
        "--ws-url",
        sim.trading_ws_url,
        "--account-id",
        str(sim.account_id),
        "--account-spec",
        sim.account_name,
        "--user",
        sim.user,
        "--password",
        sim.password,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await _line(process, "READY")
    return process


async def _line(process: asyncio.subprocess.Process, expected: str | None = None) -> str:
    assert process.stdout is not None
    raw = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    line = raw.decode().strip()
    if not line or (expected is not None and line != expected):
        raise RuntimeError(f"raw trader said {line!r} (exit code {process.returncode})")
    return line


async def _raw_block(process: asyncio.subprocess.Process, count: int, first: int) -> list[float]:
    assert process.stdin is not None
    process.stdin.write(f"{count} {first}\n".encode())
    await process.stdin.drain()
    round_trips: list[float] = json.loads(await _line(process))
    return round_trips


async def _stop_raw(process: asyncio.subprocess.Process) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), timeout=5)
    except TimeoutError:
        process.kill()  # our own child, by its handle
        await process.wait()


async def _pa_block(
    pa: RunningPA, account_id: int, count: int, first: int, figures: _Figures, returned_ns: dict[str, int]
) -> list[float]:
    call = pa.stack.intents.call
    round_trips: list[float] = []
    for index in range(first, first + count):
        intent = SubmitOrder(
            intent_id=f"bench-pa-{index}",
            account_id=account_id,
            symbol=SYMBOL,
            action=OrderAction.BUY if index % 2 == 0 else OrderAction.SELL,
            qty=1,
            order_type=OrderType.MARKET,
        )
        began = time.perf_counter_ns()
        ack = await call(intent, OE_IDENTITY)
        round_trips.append((time.perf_counter_ns() - began) / 1000)
        returned_ns[intent.intent_id] = time.time_ns()
        if ack.status is not AckStatus.ACCEPTED:
            figures.not_accepted += 1
        await asyncio.sleep(PAUSE_S)  # the order's props events are processed meanwhile
    return round_trips


async def _measure(sim: SimEndpoints, quick: bool) -> _Figures:
    figures = _Figures()
    blocks = 6 if quick else 24
    settings = pa_settings(sim.rest_url, sim.trading_ws_url, sim.md_ws_url)
    returned_ns: dict[str, int] = {}  # intent id -> when `call` returned its ack (UTC ns)
    response_recv_ns: dict[str, int] = {}  # intent id -> recv_ts of the order response's fact

    def observe(envelope: FactEnvelope) -> None:
        if envelope.stream is Stream.RESPONSE and envelope.correlation_id is not None:
            response_recv_ns[envelope.correlation_id] = envelope.recv_ts

    async with running_pa(settings) as pa:
        pa.u.observe = observe
        await pa.up()
        raw = await _start_raw(sim)
        try:
            await _pa_block(pa, sim.account_id, BLOCK, 0, _Figures(), {})  # warm-up
            await _raw_block(raw, BLOCK, 0)
            for block in range(1, blocks + 1):
                pa_block = await _pa_block(pa, sim.account_id, BLOCK, block * BLOCK, figures, returned_ns)
                raw_block = await _raw_block(raw, BLOCK, block * BLOCK)
                figures.pa_us += pa_block
                figures.raw_us += raw_block
                figures.block_overheads_us.append(median(pa_block) - median(raw_block))
        finally:
            await _stop_raw(raw)
    figures.after_response_us = [
        (returned - response_recv_ns[intent_id]) / 1000
        for intent_id, returned in returned_ns.items()
        if intent_id in response_recv_ns
    ]
    return figures


def bench_command(*, quick: bool) -> BenchResult:
    """Run benchmark 3."""
    with sim_process() as sim:
        figures = run(_measure(sim, quick))
    pa_p50, pa_p99 = percentile(figures.pa_us, 50), percentile(figures.pa_us, 99)
    raw_p50, raw_p99 = percentile(figures.raw_us, 50), percentile(figures.raw_us, 99)
    # Paired by adjacent blocks, so a change of machine load between blocks does not read as PA overhead.
    overhead_p50, overhead_p99 = median(figures.block_overheads_us), pa_p99 - raw_p99
    result = BenchResult("command", "3. Command path: intent → receipt-ack (simulator, instant order replies)")
    result.rows += [
        Row("command", "intent → receipt-ack p50", pa_p50, "µs", raw_p50, "raw WS request → response"),
        Row("command", "intent → receipt-ack p99", pa_p99, "µs", raw_p99, "raw WS request → response"),
        Row(
            "command",
            "PA overhead p50 (median over block pairs of PA - raw)",
            overhead_p50,
            "µs",
            raw_p50,
            "raw p50",
            f"≤ {TARGET_OVERHEAD_P50_US:.0f} µs",
            verdict(overhead_p50 <= TARGET_OVERHEAD_P50_US),
            ratio_override=pa_p50 / raw_p50 if raw_p50 else None,
        ),
        Row(
            "command",
            "response frame read → receipt-ack returned, p50",
            percentile(figures.after_response_us, 50),
            "µs",
            note="the PA's own share after Tradovate answered",
        ),
        Row(
            "command",
            "response frame read → receipt-ack returned, p99",
            percentile(figures.after_response_us, 99),
            "µs",
        ),
        Row(
            "command",
            "PA overhead p99 (PA - raw)",
            overhead_p99,
            "µs",
            raw_p99,
            "raw p99",
            "",
            Verdict.INFO,
            ratio_override=pa_p99 / raw_p99 if raw_p99 else None,
        ),
    ]
    result.notes.append(
        f"{len(figures.pa_us)} market orders each way in alternating blocks of {BLOCK}, {PAUSE_S * 1000:.0f} ms "
        "apart; simulator, PA and raw client in three processes, both sockets synced so the simulator fans "
        "each order's props events out to both. The subtraction removes the simulator's handling time and "
        "the WebSocket round trip; the ratio column of the overhead rows is PA / raw."
        + " The after-response rows take, per PA intent, the `recv_ts` the PA stamped on the order response's "
        "fact and the moment `call` returned the ack: PA work only, with no simulator or network in it."
        + (f" {figures.not_accepted} acks were not `accepted`." if figures.not_accepted else "")
    )
    return result
