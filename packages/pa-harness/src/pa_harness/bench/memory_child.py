"""The PA process whose memory benchmark 6 measures (one phase per process, one JSON line on stdout).

* `bare`: the interpreter with the PA's modules imported and a loop created — the floor.
* `idle`: a PA (LIVE) against the simulator while its market ticks; RSS sampled over a window.
* `burst`: a PA whose market-data socket points at the wire server; U stalls, the server pushes 10x the
  outbox capacity as fast as it can; RSS and queue depths are sampled while the reader is paused at
  capacity, then U resumes and every fact must arrive.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from platform_adapter.config import Mode, OutboxSettings

from .logs import pa_logging
from .loop import loop_factory
from .stack import pa_settings, running_pa


def rss_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB (Linux); falls back to ru_maxrss for both."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak, peak


async def _idle(args: argparse.Namespace) -> dict[str, Any]:
    settings = pa_settings(args.rest, args.trading, args.md)
    async with running_pa(settings) as pa:
        await pa.up()
        await asyncio.sleep(args.warmup)
        samples: list[int] = []
        facts_before = pa.u.count
        began = time.perf_counter()
        while time.perf_counter() - began < args.seconds:
            samples.append(rss_kib()[0])
            await asyncio.sleep(0.25)
        rate = (pa.u.count - facts_before) / (time.perf_counter() - began)
        return {"rss_kib": samples, "hwm_kib": rss_kib()[1], "facts_per_s": rate}


async def _burst(args: argparse.Namespace) -> dict[str, Any]:
    capacity, burst = args.capacity, args.burst
    settings = pa_settings(args.rest, args.trading, args.md, mode=Mode.SIM, outbox=OutboxSettings(capacity=capacity))
    async with running_pa(settings, fact_queue_size=args.queue) as pa, aiohttp.ClientSession() as http:
        await pa.up()
        await asyncio.sleep(0.5)
        outbox, queue, u = pa.stack.adapter.outbox, pa.stack.facts.queue, pa.u
        idle_rss = rss_kib()[0]
        u.stall()
        await asyncio.sleep(0.05)
        consumed_before = u.count

        async def blast() -> dict[str, Any]:
            params = {"route": "pa", "messages": str(burst), "rate": "0"}
            async with http.post(args.blast, params=params, timeout=aiohttp.ClientTimeout(total=600)) as response:
                answer: dict[str, Any] = await response.json()
                return answer

        sender = asyncio.create_task(blast())
        peak_rss = peak_held = 0
        paused_at: float | None = None
        rss_at_pause = 0
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            rss = rss_kib()[0]
            peak_rss = max(peak_rss, rss)
            peak_held = max(peak_held, outbox.depth + queue.qsize())
            if paused_at is None and not outbox.has_room:
                paused_at, rss_at_pause = time.perf_counter(), rss
            if paused_at is not None and time.perf_counter() - paused_at >= args.hold:
                break
            await asyncio.sleep(0.02)
        rss_after_hold = rss_kib()[0]
        held_at_end = outbox.depth + queue.qsize()
        u.resume()
        sent = await asyncio.wait_for(sender, timeout=300)
        await u.until(consumed_before + int(sent["messages"]), timeout_s=300)
        final_rss, hwm = rss_kib()
        return {
            "idle_rss_kib": idle_rss,
            "peak_rss_kib": max(peak_rss, rss_after_hold),
            "hwm_kib": hwm,
            "rss_at_pause_kib": rss_at_pause,
            "rss_after_hold_kib": rss_after_hold,
            "final_rss_kib": final_rss,
            "paused": paused_at is not None,
            "peak_held": peak_held,
            "held_at_end": held_at_end,
            "outbox_peak_depth": outbox.counters.peak_depth,
            "reader_pauses": outbox.counters.reader_pauses,
            "sent": int(sent["messages"]),
            "received": u.count - consumed_before,
        }


async def _bare() -> dict[str, Any]:
    # This module already imported the whole PA (app, platform, sim client pieces) to get here.
    await asyncio.sleep(0.1)
    rss, hwm = rss_kib()
    return {"rss_kib": rss, "hwm_kib": hwm}


def main(argv: list[str] | None = None) -> int:
    """Run one phase and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("phase", choices=["bare", "idle", "burst"])
    parser.add_argument("--rest", default="")
    parser.add_argument("--trading", default="")
    parser.add_argument("--md", default="")
    parser.add_argument("--blast", default="")
    parser.add_argument("--log-dir", type=Path, default=Path("."))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--hold", type=float, default=1.0)
    parser.add_argument("--capacity", type=int, default=100_000)
    parser.add_argument("--queue", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with pa_logging(args.log_dir), asyncio.Runner(loop_factory=loop_factory()) as runner:
        if args.phase == "bare":
            figures = runner.run(_bare())
        elif args.phase == "idle":
            figures = runner.run(_idle(args))
        else:
            figures = runner.run(_burst(args))
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
