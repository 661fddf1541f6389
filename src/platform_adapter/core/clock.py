"""Injected time: the PA never reads the system clock directly, so tests drive time by hand."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable
from typing import Protocol


class Clock(Protocol):
    """Wall time (for timestamps) and monotonic time plus sleeping (for timers)."""

    def now_ns(self) -> int:
        """UTC wall time in epoch nanoseconds (for `recv_ts` and other timestamps)."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds (for timeouts, heartbeats, backoff)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend for `seconds` of this clock's time."""
        ...


class SystemClock:
    """The real clock."""

    # The builtins themselves, not wrappers: the socket readers read both once per frame.
    now_ns = staticmethod(time.time_ns)
    """UTC wall time in epoch nanoseconds."""
    monotonic = staticmethod(time.monotonic)
    """Monotonic seconds."""

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock tests advance by hand: sleepers wake only when `advance` moves time past their deadline."""

    def __init__(self, start_ns: int = 1_764_081_000_000_000_000) -> None:
        self._wall0 = start_ns
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    def now_ns(self) -> int:
        """Wall time: the start instant plus the advanced seconds."""
        return self._wall0 + int(self._now * 1_000_000_000)

    def monotonic(self) -> float:
        """Seconds advanced so far."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock is advanced by at least `seconds`."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._ids), future))
        await future

    @property
    def sleepers(self) -> int:
        """How many sleeps are pending."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline passes, in deadline order."""
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not future.done():
                future.set_result(None)
            for _ in range(5):  # let the woken task run up to its next await
                await asyncio.sleep(0)
        self._now = target
        await asyncio.sleep(0)


async def within(clock: Clock, seconds: float, awaitable: Awaitable[object]) -> bool:
    """Await `awaitable` for at most `seconds` of `clock`'s time; True if it finished (it is cancelled if not)."""
    work = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not work.done():
            work.cancel()
    if work.done() and not work.cancelled():
        work.result()  # re-raise its exception, if any
        return True
    return False
