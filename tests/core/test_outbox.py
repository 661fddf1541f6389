"""The outbox never sheds a fact, escalates before it fills, stops readers at capacity, sheds telemetry first."""

from __future__ import annotations

import asyncio

from platform_adapter.config import OutboxSettings
from platform_adapter.core.clock import ManualClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.outbox import Outbox
from platform_adapter.mic import HealthReason, HealthState

from .fakes import GatedFactSink, RecordingHealthSink, envelope


def _outbox(sink: GatedFactSink, capacity: int = 100) -> tuple[Outbox, HealthMonitor, ManualClock]:
    clock = ManualClock()
    health = HealthMonitor(clock, RecordingHealthSink())
    settings = OutboxSettings(capacity=capacity, high_watermark=0.5, low_watermark=0.2, telemetry_capacity=10)
    return Outbox(settings, sink, health, clock, batch_max=7), health, clock


async def test_blocked_consumer_escalates_before_capacity_and_loses_nothing() -> None:
    sink = GatedFactSink()
    sink.open.clear()
    outbox, health, _ = _outbox(sink)
    pump = asyncio.create_task(outbox.run())
    try:
        for seq in range(1, 50):
            outbox.put(envelope(seq))
            outbox.put_telemetry({"event": "frame", "seq": seq})
        assert health.state is HealthState.UP
        outbox.put(envelope(50))  # 50 = high watermark
        assert health.state is HealthState.DEGRADED
        assert health.current.halt_required
        assert HealthReason.CONSUMER_BACKPRESSURE in health.current.reasons
        assert outbox.has_room
        assert outbox.counters.telemetry_shed > 0  # telemetry goes first
        assert not outbox.put_telemetry({"event": "late"})
        for seq in range(51, 101):
            outbox.put(envelope(seq))
        assert not outbox.has_room  # readers must stop reading the platform sockets now
        sink.open.set()
        await asyncio.wait_for(outbox.drained(), timeout=5)
        assert [e.delivery_seq for e in sink.delivered] == list(range(1, 101))
        assert health.state is HealthState.UP
        assert outbox.has_room
        assert outbox.counters.received == outbox.counters.delivered == 100
    finally:
        pump.cancel()


async def test_wait_for_room_returns_once_the_consumer_drains() -> None:
    sink = GatedFactSink()
    sink.open.clear()
    outbox, _, _ = _outbox(sink, capacity=10)
    pump = asyncio.create_task(outbox.run())
    try:
        for seq in range(1, 11):
            outbox.put(envelope(seq))
        waiter = asyncio.create_task(outbox.wait_for_room())
        await asyncio.sleep(0)
        assert not waiter.done()
        sink.open.set()
        await asyncio.wait_for(waiter, timeout=5)
        assert outbox.counters.reader_pauses == 1
    finally:
        pump.cancel()


async def test_a_refusing_transport_keeps_the_batch_escalates_and_retries() -> None:
    sink = GatedFactSink()
    sink.fail_next = 2
    outbox, health, clock = _outbox(sink)
    pump = asyncio.create_task(outbox.run())
    try:
        for seq in range(1, 4):
            outbox.put(envelope(seq))
        for _ in range(10):
            await asyncio.sleep(0)
        assert health.state is HealthState.DEGRADED
        assert outbox.counters.sink_failures == 1
        await clock.advance(1)
        await clock.advance(1)
        await asyncio.wait_for(outbox.drained(), timeout=5)
        assert [e.delivery_seq for e in sink.delivered] == [1, 2, 3]
        assert health.state is HealthState.UP
    finally:
        pump.cancel()


async def test_telemetry_lane_is_bounded_and_counts_what_it_sheds() -> None:
    sink = GatedFactSink()
    outbox, _, _ = _outbox(sink)
    for i in range(25):
        outbox.put_telemetry({"i": i})
    assert outbox.counters.telemetry_shed == 15
    assert outbox.counters.telemetry_received == 25
