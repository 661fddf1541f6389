"""The outbox over JetStream: a full stream escalates PA_DEGRADED + halt, facts are kept, and all arrive once freed."""

from __future__ import annotations

import asyncio

import pytest

from pa_harness.nats_server import NatsServer
from platform_adapter.config import OutboxSettings
from platform_adapter.core.clock import SystemClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.outbox import Outbox
from platform_adapter.mic import HealthReason, HealthSignal, HealthState
from platform_adapter.transport.nats import FactStreamConfig, Module, NatsFactSink, PaAccountObjects
from platform_adapter.transport.nats.subjects import FACT_STREAM

from .conftest import ConnectAs
from .envelopes import facts


class HealthSeen:
    """OE's view in this test: every health signal, and a way to wait for one."""

    def __init__(self) -> None:
        self.signals: list[HealthSignal] = []
        self._changed = asyncio.Condition()

    async def publish(self, signal: HealthSignal) -> None:
        self.signals.append(signal)
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, state: HealthState, reason: HealthReason | None = None) -> HealthSignal:
        def matching() -> bool:
            last = self.signals[-1] if self.signals else None
            return last is not None and last.state is state and (reason is None or reason in last.reasons)

        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(matching)
        return self.signals[-1]


@pytest.mark.parametrize("pa_objects", [PaAccountObjects(facts=FactStreamConfig(max_msgs=10))], ids=["max_msgs=10"])
async def test_full_stream_makes_the_outbox_escalate_and_no_fact_is_lost(
    nats_server: NatsServer, connect_as: ConnectAs
) -> None:
    pa = await connect_as(Module.PA)
    js = pa.jetstream()
    clock = SystemClock()
    seen = HealthSeen()
    health = HealthMonitor(clock, seen)
    outbox = Outbox(OutboxSettings(capacity=1000), NatsFactSink(pa, window=4), health, clock, retry_delay_s=0.05)
    tasks = [asyncio.create_task(health.run()), asyncio.create_task(outbox.run())]
    try:
        for envelope in facts(1, 30):
            outbox.put(envelope)

        degraded = await seen.wait_for(HealthState.DEGRADED, HealthReason.CONSUMER_BACKPRESSURE)
        assert degraded.halt_required
        assert "stream_full" in degraded.detail
        assert outbox.depth == 30  # a raise keeps the whole batch; the sink's retry skips the 10 already stored
        assert outbox.counters.sink_failures >= 1

        await nats_server.provision(PaAccountObjects(facts=FactStreamConfig(max_msgs=1000)))  # space frees
        async with asyncio.timeout(10):
            await outbox.drained()
        await seen.wait_for(HealthState.UP)
    finally:
        for task in tasks:
            task.cancel()

    state = (await js.stream_info(FACT_STREAM)).state
    assert (state.messages, state.last_seq) == (30, 30)
    assert outbox.counters.received == outbox.counters.delivered == 30
