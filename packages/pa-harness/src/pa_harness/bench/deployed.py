"""What the deployed-path benchmarks share: the PA's health as OE or U reads it, U's consumer, the raw peers.

The benchmark process plays the other modules with the project's own client side of the transport, as a desk's
modules would: OE's `NatsIntentCaller` and `NatsHealthFollower` as user `oe`, U's `NatsFactConsumer` as user `u`
(`batch` 500, the reference U's fetch timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

from platform_adapter.mic import FactEnvelope, HealthSignal, HealthState
from platform_adapter.transport.nats.connection import NatsAuth, disconnect, imported_jetstream
from platform_adapter.transport.nats.fact_consumer import NatsFactConsumer
from platform_adapter.transport.nats.health_follower import NatsHealthFollower

from .nats_rig import NatsRig
from .pa_process import PaProcess
from .processes import Helper, helper


class PaNeverUp(RuntimeError):
    """The PA did not report PA_UP in time."""


@contextlib.asynccontextmanager
async def following_health(rig: NatsRig, auth: NatsAuth, name: str) -> AsyncIterator[NatsHealthFollower]:
    """A health follower (as `auth`'s module reads health), running until the block ends."""
    nc = await rig.connect(auth, name)
    follower = NatsHealthFollower(nc, stale_after_s=60.0)
    task = asyncio.create_task(follower.run(), name=f"bench-health-{name}")
    try:
        yield follower
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await disconnect(nc)


async def wait_up(follower: NatsHealthFollower, pa: PaProcess, timeout_s: float) -> HealthSignal:
    """The PA's first PA_UP signal (its `since` is when it went up); PaNeverUp, with the PA's log, otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0 or not pa.running:
            state = "exited" if not pa.running else f"not PA_UP within {timeout_s:.0f} s"
            raise PaNeverUp(f"the PA {state}:\n{pa.log_tail()}")
        try:
            signal = await asyncio.wait_for(follower.queue.get(), timeout=min(remaining, 0.5))
        except TimeoutError:
            continue
        if signal.state is HealthState.UP and signal.seq > 0:  # seq 0: the follower's own, never the PA's
            return signal


@dataclass
class StampingU:
    """U's end of the facts stream for a benchmark: counts facts and, when stamping, `time_ns() - recv_ts` each."""

    count: int = 0
    stamping: bool = False
    latencies_ns: list[int] = field(default_factory=list)
    _progress: asyncio.Event = field(default_factory=asyncio.Event)

    def accept_batch(self, envelopes: Sequence[FactEnvelope]) -> None:
        """`NatsFactConsumer`'s hand-over: U has the batch now."""
        now = time.time_ns()
        if self.stamping:
            self.latencies_ns.extend(now - envelope.recv_ts for envelope in envelopes)
        self.count += len(envelopes)
        self._progress.set()

    async def until(self, count: int, timeout_s: float) -> None:
        """Wait until `count` facts were taken in total."""
        async with asyncio.timeout(timeout_s):
            while self.count < count:
                self._progress.clear()
                await self._progress.wait()


@contextlib.asynccontextmanager
async def consuming(rig: NatsRig, auth: NatsAuth, name: str, u: StampingU) -> AsyncIterator[NatsFactConsumer]:
    """U's durable consumer on the facts stream of `auth`'s account (as the reference U reads it) into `u`."""
    nc = await rig.connect(auth, name)
    consumer = NatsFactConsumer(imported_jetstream(nc), u.accept_batch)
    task = asyncio.create_task(consumer.run(), name=f"bench-consumer-{name}")
    try:
        yield consumer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await disconnect(nc)


@contextlib.contextmanager
def peer(role: str, rig: NatsRig, auth: NatsAuth, *args: str) -> Iterator[Helper]:
    """A raw baseline's far end (`nats_peer`) in its own process, as `auth`; stopped by pid."""
    argv = [sys.executable, "-m", "pa_harness.bench.nats_peer", role, "--nats-url", rig.url, *args]
    with helper(argv, ready_timeout_s=60.0, env=auth.env()) as started:
        if started.first_line != "READY":
            raise RuntimeError(f"nats peer {role} said {started.first_line!r}")
        yield started


@contextlib.asynccontextmanager
async def running(pa: PaProcess) -> AsyncIterator[PaProcess]:
    """Start the PA process; stop it (SIGTERM by pid) when the block ends."""
    pa.start()
    try:
        yield pa
    finally:
        await pa.stop()
