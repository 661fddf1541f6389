"""The PA and the reference U / Paper / OE over NATS JetStream, in the test process, each module its own account.

A real nats-server runs on 127.0.0.1 (its config, store and log in a temporary directory; stopped by pid), and
every account is provisioned by its setup identity before any module connects. The PA connects as `pa` and is
built with `build_nats_stack`. U connects as `u` and reads the facts stream through `NatsFactConsumer` (the PA
account's durable `u`, through its export); OE connects as `oe`, sends intents with `NatsIntentCaller` and
follows health with `NatsHealthFollower`. Paper relays U's LIVE EventStream to OE in process: the transports
under test are PA -> U and OE <-> PA (U -> Paper -> OE over NATS is the distributed demo's, tests/transport's).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pa_harness.nats_server import NatsServer
from pa_harness.reference import ReferenceSystem, ReferenceU
from platform_adapter.composition import NatsStack, build_nats_stack
from platform_adapter.config import Credentials, Settings
from platform_adapter.core.adapter import PlatformAdapter
from platform_adapter.core.clock import Clock
from platform_adapter.mic import HealthSignal
from platform_adapter.tradovate.platform import TradovatePlatform
from platform_adapter.transport.nats import (
    FactStreamConfig,
    Module,
    NatsFactConsumer,
    NatsHealthFollower,
    NatsIntentCaller,
    PaAccountObjects,
    connect,
    imported_jetstream,
)
from platform_adapter.transport.nats.connection import disconnect

# The PA re-publishes its health every 5 s of its ManualClock, which moves only when a test advances it, and
# a test may advance it by tens of seconds at a time: OE's fail-closed staleness bound (15 s in production,
# tested in tests/transport) would read that as a silent PA. Here it only has to outlast any one test.
HEALTH_STALE_AFTER_S = 300.0
# U's fetch returns what is there at once, else waits for the first fact and gathers more until this
# timeout: short, so a trickle of facts reaches U quickly.
U_FETCH_TIMEOUT_S = 0.1
SETUP_TIMEOUT_S = 10.0


class StallableU(ReferenceU):
    """The reference U whose `stall()` also stops its NATS consumer (ReferenceU's own gate is its queue loop)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__(db)
        self.consuming = asyncio.Event()
        self.consuming.set()

    def stall(self) -> None:
        """Stop taking facts: the consumer holds what it fetched, unacked, and fetches no more."""
        super().stall()
        self.consuming.clear()

    def resume(self) -> None:
        """Take facts again."""
        super().resume()
        self.consuming.set()


class StallableFactConsumer(NatsFactConsumer):
    """U's consumer of the facts stream; while U is stalled it neither hands facts to U nor acks them."""

    def __init__(self, js: Any, u: StallableU, **options: Any) -> None:
        super().__init__(js, u.accept_batch, **options)
        self._u = u

    async def _take(self, messages: Sequence[Any]) -> None:
        await self._u.consuming.wait()
        await super()._take(messages)


@dataclass
class NatsPAStack:
    """What tests reach as `h.stack` on NATS: the PA, and OE's intent caller (requests as user `oe`)."""

    adapter: PlatformAdapter
    platform: TradovatePlatform
    intents: NatsIntentCaller
    pa: NatsStack  # the PA's NATS ports (the fact sink's counters, the PA's connection)


class NatsModuleWiring:
    """The reference modules attached over NATS: U's durable consumer (as `u`), OE's intents and health (as `oe`).

    `ReferenceSystem` runs the modules themselves, exactly as on the in-process transport.
    """

    def __init__(self, *, u_js: Any, oe_nc: Any, clock: Clock) -> None:
        self._u_js = u_js
        # The PA stamps its signals with its ManualClock: OE judges their age on the same clock.
        self.health = NatsHealthFollower(oe_nc, stale_after_s=HEALTH_STALE_AFTER_S, clock=clock)
        self.intents: NatsIntentCaller = NatsIntentCaller(oe_nc)

    def make_u(self, db: sqlite3.Connection) -> ReferenceU:
        """A U whose `stall()` also stops its NATS consumer."""
        return StallableU(db)

    def health_queue(self) -> asyncio.Queue[HealthSignal]:
        """The queue the KV follower fills."""
        return self.health.queue

    def tasks(self, u: ReferenceU) -> list[Coroutine[Any, Any, None]]:
        """U's consumer of the facts stream, and OE's health follower."""
        assert isinstance(u, StallableU)
        consumer = StallableFactConsumer(self._u_js, u, fetch_timeout_s=U_FETCH_TIMEOUT_S)
        return [consumer.run(), self.health.run()]

    def drain(self, u: ReferenceU) -> None:
        """Nothing to drain: facts U has not acked stay in the stream."""


@dataclass
class NatsWiring:
    """The NATS side of one harness run."""

    server: NatsServer
    stack: NatsPAStack
    system: ReferenceSystem
    stream: FactStreamConfig

    async def refused_publish(self, module: Module, subject: str, data: bytes) -> str:
        """Publish `data` on `subject` as `module`'s user, expecting the server to refuse it; its error text."""
        errors: list[Exception] = []
        refused = asyncio.Event()

        async def on_error(exc: Exception) -> None:
            errors.append(exc)
            refused.set()

        nc = await connect(
            self.server.url, self.server.auth(module), name=f"{module.value}-intruder", on_error=on_error
        )
        try:
            await nc.publish(subject, data, reply=nc.new_inbox())
            async with asyncio.timeout(SETUP_TIMEOUT_S):
                await refused.wait()
        finally:
            await disconnect(nc)
        return str(errors[0])

    async def stream_state(self) -> Any:
        """The facts stream's state (messages held, first and last sequence), read as the PA."""
        return (await self.stack.pa.nc.jetstream().stream_info(self.stream.name)).state

    async def stream_full(self) -> bool:
        """True when the facts stream holds as many facts as its `max_msgs` allows."""
        return self.stream.max_msgs > 0 and (await self.stream_state()).messages >= self.stream.max_msgs


async def _until_ready(ready: asyncio.Event, what: str) -> None:
    """Bounded wait until a module's task says it is ready."""
    try:
        async with asyncio.timeout(SETUP_TIMEOUT_S):
            await ready.wait()
    except TimeoutError:
        raise AssertionError(f"{what} not ready within {SETUP_TIMEOUT_S}s") from None


@contextlib.asynccontextmanager
async def over_nats(
    settings: Settings,
    endpoints: tuple[str, str, str],
    *,
    clock: Clock,
    rng: random.Random,
    account_id: int,
    stream: FactStreamConfig | None = None,
) -> AsyncIterator[NatsWiring]:
    """A nats-server, a PA built on it (not started), and U / Paper / OE attached and following."""
    config = stream or FactStreamConfig()
    with tempfile.TemporaryDirectory(prefix="pa-integration-nats-") as workdir:
        server = NatsServer(Path(workdir))
        await server.start()
        clients: list[Any] = []
        try:
            # U's durable comes with the stream: with `interest` retention no fact is published before it exists.
            await server.provision(PaAccountObjects(facts=config))

            async def client(module: Module) -> Any:
                nc = await connect(server.url, server.auth(module), name=module.value, reconnect_wait_s=0.05)
                clients.append(nc)
                return nc

            pa_nc = await client(Module.PA)
            pa = await build_nats_stack(settings, Credentials(), endpoints, pa_nc, stream=config, clock=clock, rng=rng)
            u_nc, oe_nc = await client(Module.U), await client(Module.OE)
            wiring = NatsModuleWiring(u_js=imported_jetstream(u_nc), oe_nc=oe_nc, clock=clock)
            async with ReferenceSystem(":memory:", wiring=wiring, account_id=account_id) as system:
                # OE follows before the PA publishes anything, so it sees the PA's first signal.
                await _until_ready(wiring.health.ready, "OE's health follower")
                stack = NatsPAStack(pa.adapter, pa.platform, wiring.intents, pa)
                yield NatsWiring(server, stack, system, config)
        finally:
            for nc in reversed(clients):
                await disconnect(nc)
            await server.stop()
            assert not server.running, f"nats-server (pid {server.pid}) outlived its test"
