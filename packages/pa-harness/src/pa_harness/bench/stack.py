"""A running PA for the benchmarks: the simulator, the in-process stack, and a U that counts and stamps.

`CountingU` stands for U: it takes facts off the in-process channel as fast as it can and, when asked,
records for each one `time.time_ns() - recv_ts` — the latency the PA added between reading the frame off
the socket (where it stamps `recv_ts`) and the fact reaching U.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from platform_adapter.composition import InProcStack, build_inproc_stack
from platform_adapter.config import Credentials, InstrumentSettings, Mode, Settings
from platform_adapter.mic import FactEnvelope, HealthState
from tradovate_sim import SimConfig

T = TypeVar("T")

BENCH_INSTRUMENTS = (
    InstrumentSettings(symbol="ESZ6", timeframes=("1m", "15s"), quotes=True),
    InstrumentSettings(symbol="NQZ6", timeframes=(), quotes=True, dom=True),
)
"""The default demo instruments: ESZ6 quotes + 1m bars + ticks, NQZ6 quotes + DOM."""


def sim_config(**overrides: Any) -> SimConfig:
    """A simulator stepped by hand, with a short history so it starts in milliseconds."""
    values: dict[str, Any] = {"seed": 7, "tick_interval_s": None, "history_s": 1800.0, "client_timeout_s": 600.0}
    values.update(overrides)
    return SimConfig(**values)


def pa_settings(rest_url: str, trading_ws_url: str, md_ws_url: str, **overrides: Any) -> Settings:
    """Settings pointing at a simulator (or, for market data, at the wire server)."""
    values: dict[str, Any] = {
        "mode": Mode.LIVE,
        "rest_url": rest_url,
        "trading_ws_url": trading_ws_url,
        "md_ws_url": md_ws_url,
        "instruments": BENCH_INSTRUMENTS,
        "chart_history_bars": 20,
        "chart_history_ticks": 50,
    }
    values.update(overrides)
    return Settings(**values)


class CountingU(Generic[T]):
    """Consumes a fact queue: counts, optionally stamps latency, can be stalled and resumed."""

    def __init__(self, queue: asyncio.Queue[T], recv_ts: Callable[[T], int]) -> None:
        self._queue = queue
        self._recv_ts = recv_ts
        self.count = 0
        self.stamping = False
        self.latencies_ns: list[int] = []
        self.observe: Callable[[T], None] | None = None  # sees every item taken, when set
        self._running = asyncio.Event()
        self._running.set()
        self._target = 0
        self._reached = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start consuming."""
        self._task = asyncio.create_task(self._run(), name="bench-u")

    async def stop(self) -> None:
        """Stop consuming."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def stall(self) -> None:
        """Stop taking facts (a stalled consumer)."""
        self._running.clear()

    def resume(self) -> None:
        """Take facts again."""
        self._running.set()

    async def until(self, count: int, timeout_s: float) -> None:
        """Wait until `count` facts were consumed in total."""
        self._target = count
        self._reached.clear()
        if self.count < count:
            await asyncio.wait_for(self._reached.wait(), timeout_s)

    async def _run(self) -> None:
        queue, recv_ts, latencies = self._queue, self._recv_ts, self.latencies_ns
        while True:
            await self._running.wait()
            item = await queue.get()
            while True:
                self.count += 1
                if self.stamping:
                    latencies.append(time.time_ns() - recv_ts(item))
                if self.observe is not None:
                    self.observe(item)
                if self.count >= self._target > 0:
                    self._reached.set()
                if queue.empty() or not self._running.is_set():
                    break
                item = queue.get_nowait()


def envelope_recv_ts(envelope: FactEnvelope) -> int:
    """`recv_ts` of an envelope."""
    return envelope.recv_ts


@dataclass
class RunningPA:
    """A started PA stack and the U consuming its facts."""

    stack: InProcStack
    u: CountingU[FactEnvelope]
    task: asyncio.Task[None]

    async def up(self, timeout_s: float = 20.0) -> float:
        """Wait until the PA reports PA_UP; returns the seconds waited."""
        began = time.perf_counter()
        health = self.stack.adapter.health
        async with asyncio.timeout(timeout_s):
            while health.state is not HealthState.UP:  # noqa: ASYNC110 - health has no event to await
                await asyncio.sleep(0.002)
        return time.perf_counter() - began


@contextlib.asynccontextmanager
async def running_pa(settings: Settings, *, fact_queue_size: int = 10_000) -> AsyncIterator[RunningPA]:
    """Build and start a PA on `settings` with a counting U; stop both afterwards."""
    endpoints = settings.endpoints()
    stack = build_inproc_stack(settings, Credentials(), endpoints, fact_queue_size=fact_queue_size)
    u: CountingU[FactEnvelope] = CountingU(stack.facts.queue, envelope_recv_ts)
    u.start()
    task = asyncio.create_task(stack.adapter.run(), name="bench-pa")
    try:
        yield RunningPA(stack, u, task)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await u.stop()
