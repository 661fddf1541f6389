"""Benchmark 6: memory of a running PA — idle RSS, and peak RSS under a 10x burst with a stalled consumer.

Each phase runs the PA in a fresh child process (`memory_child.py`), so the RSS measured is the PA's own
and not polluted by earlier benchmarks, the simulator or the server; this process hosts the simulator
(its market ticking on a timer for the idle phase) and starts the wire server for the burst.

The configured bound is the outbox capacity plus the in-process transport's queue (facts U has not taken
yet): at capacity the reader stops reading and TCP pushes back on the server, so however long the burst,
the PA holds at most that many facts and its RSS stops growing.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Final

import msgspec

from tradovate_sim import TradovateSim

from .corpus import Corpus
from .loop import run
from .processes import wire_server
from .results import BenchResult, Row, median, verdict
from .stack import sim_config

MIB: Final = 1024.0
PLATEAU_TOLERANCE: Final = 0.05  # RSS may grow this much (relative) while paused at capacity and still be flat


async def _child(*args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pa_harness.bench.memory_child",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=400)
    except TimeoutError:
        process.kill()  # our own child, by its handle
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"memory child {args[0]} failed ({process.returncode}): {stderr.decode()[-2000:]}")
    figures: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return figures


async def _phases(scratch: Path, port: int, quick: bool) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    logs = str(scratch / "memory-logs")
    bare = await _child("bare", "--log-dir", logs)
    async with TradovateSim(sim_config(tick_interval_s=0.05)) as sim:
        urls = ["--rest", sim.rest_url, "--trading", sim.trading_ws_url]
        idle_seconds = "2" if quick else "6"
        idle = await _child("idle", *urls, "--md", sim.md_ws_url, "--seconds", idle_seconds, "--log-dir", logs)
        capacity = 10_000 if quick else 100_000
        burst = await _child(
            "burst",
            *urls,
            "--md",
            f"ws://127.0.0.1:{port}/v1/websocket",
            "--blast",
            f"http://127.0.0.1:{port}/blast",
            "--capacity",
            str(capacity),
            "--queue",
            "10000",
            "--burst",
            str(10 * capacity),
            "--hold",
            "0.5" if quick else "1.5",
            "--log-dir",
            logs,
        )
        burst["capacity"], burst["queue"] = capacity, 10_000
    return bare, idle, burst


def bench_memory(corpus: Corpus, scratch: Path, *, quick: bool) -> BenchResult:
    """Run benchmark 6."""
    # The reader checks for room between frames, so the outbox may pass capacity by one frame's messages.
    items = msgspec.json.Decoder(list[msgspec.Raw])
    largest_frame = max(len(items.decode(frame[1:])) for frame in corpus.message_frames)
    with wire_server(corpus.seed) as port:
        bare, idle, burst = run(_phases(scratch, port, quick))
    idle_mib = median(idle["rss_kib"]) / MIB
    bare_mib = bare["rss_kib"] / MIB
    bound = burst["capacity"] + burst["queue"] + largest_frame
    growth_kib = burst["rss_after_hold_kib"] - burst["idle_rss_kib"]
    at_pause, after_hold = burst["rss_at_pause_kib"], burst["rss_after_hold_kib"]
    flat = burst["paused"] and after_hold <= at_pause * (1 + PLATEAU_TOLERANCE)
    lost = burst["sent"] - burst["received"]
    result = BenchResult("memory", "6. Memory: idle RSS and a 10x burst against a stalled consumer")
    result.rows += [
        Row(
            "memory",
            "idle RSS, PA against the ticking simulator",
            idle_mib,
            "MiB",
            bare_mib,
            "interpreter + PA imports, nothing running",
        ),
        Row(
            "memory",
            f"peak RSS (VmHWM), 10x burst ({burst['sent']:,} msgs) with U stalled",
            burst["hwm_kib"] / MIB,
            "MiB",
            burst["idle_rss_kib"] / MIB,
            "that PA's RSS before the burst",
            "flat once paused at capacity",
            verdict(flat),
            note=f"{growth_kib / max(1, burst['held_at_end']) * 1024:,.0f} B per held fact",
        ),
        Row(
            "memory",
            "facts held at peak (outbox + transport queue)",
            float(burst["peak_held"]),
            "facts",
            float(bound),
            f"bound: outbox capacity {burst['capacity']:,} + transport queue {burst['queue']:,} + one frame "
            f"({largest_frame})",
            "≤ bound",
            verdict(burst["peak_held"] <= bound),
        ),
        Row(
            "memory",
            "facts lost after U resumes (sent - received)",
            float(lost),
            "facts",
            None,
            "",
            "0",
            verdict(lost == 0),
        ),
    ]
    result.notes.append(
        f"Idle: RSS sampled every 0.25 s over {len(idle['rss_kib'])} samples while the simulator's market stepped "
        f"every 50 ms ({idle['facts_per_s']:.0f} facts/s to U); min/max {min(idle['rss_kib']) / MIB:.1f}/"
        f"{max(idle['rss_kib']) / MIB:.1f} MiB. Burst: reader paused at capacity "
        f"{'yes' if burst['paused'] else 'NO'} ({burst['reader_pauses']} pause(s)), RSS {at_pause / MIB:.1f} MiB "
        f"when it paused and {after_hold / MIB:.1f} MiB after holding there while the server kept pushing; "
        f"outbox peak depth {burst['outbox_peak_depth']:,}; after U resumed every fact arrived "
        f"({burst['received']:,} of {burst['sent']:,}); RSS then {burst['final_rss_kib'] / MIB:.1f} MiB "
        "(CPython keeps freed arenas). Bytes per held fact = RSS growth from before the burst to the end of the "
        "hold, over the facts held then."
    )
    return result
