"""Health: the worst raised condition wins, every change reaches OE in order, halt follows the conditions."""

from __future__ import annotations

import asyncio

from platform_adapter.core.clock import ManualClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthReason, HealthState

from .fakes import RecordingHealthSink


async def _drain() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_worst_condition_wins_and_every_transition_is_published_in_order() -> None:
    clock = ManualClock()
    sink = RecordingHealthSink()
    health = HealthMonitor(clock, sink, period_s=60)
    task = asyncio.create_task(health.run())
    try:
        await _drain()
        health.raise_condition("md", HealthReason.SOCKET_CLOSED, HealthState.DEGRADED)
        health.raise_condition("auth", HealthReason.CAPTCHA_REQUIRED, HealthState.DOWN, detail="wait 1 h")
        health.clear("auth")
        health.clear("md")
        await _drain()
        states = [s.state for s in sink.signals]
        assert states == [
            HealthState.UP,
            HealthState.DEGRADED,
            HealthState.DOWN,
            HealthState.DEGRADED,
            HealthState.UP,
        ]
        assert sink.signals[2].reasons == (HealthReason.CAPTCHA_REQUIRED, HealthReason.SOCKET_CLOSED)
        assert sink.signals[2].halt_required
        assert not sink.signals[-1].halt_required
        assert [s.seq for s in sink.signals] == [1, 2, 3, 4, 5]
    finally:
        task.cancel()


async def test_a_condition_may_degrade_without_requiring_a_halt() -> None:
    health = HealthMonitor(ManualClock(), RecordingHealthSink())
    health.raise_condition("x", HealthReason.PENALTY_WAIT, HealthState.DEGRADED, halt=False)
    assert health.state is HealthState.DEGRADED
    assert not health.current.halt_required


async def test_the_current_signal_is_republished_periodically_for_late_joiners() -> None:
    clock = ManualClock()
    sink = RecordingHealthSink()
    health = HealthMonitor(clock, sink, period_s=5)
    task = asyncio.create_task(health.run())
    try:
        await _drain()
        assert len(sink.signals) == 1
        await clock.advance(5)
        await _drain()
        await clock.advance(5)
        await _drain()
        assert len(sink.signals) == 3
        assert all(s.state is HealthState.UP for s in sink.signals)
    finally:
        task.cancel()


async def test_since_changes_only_when_the_state_changes() -> None:
    clock = ManualClock()
    health = HealthMonitor(clock, RecordingHealthSink())
    await clock.advance(1)
    health.raise_condition("a", HealthReason.SOCKET_CLOSED)
    since = health.current.since
    await clock.advance(1)
    health.raise_condition("b", HealthReason.HEARTBEAT_SILENCE)
    assert health.current.since == since
    assert set(health.current.reasons) == {HealthReason.SOCKET_CLOSED, HealthReason.HEARTBEAT_SILENCE}


async def test_a_condition_raised_before_run_is_the_first_signal_published() -> None:
    sink = RecordingHealthSink()
    health = HealthMonitor(ManualClock(), sink)
    health.raise_condition("startup", HealthReason.CONNECTING)
    task = asyncio.create_task(health.run())
    try:
        await _drain()
        assert [s.state for s in sink.signals] == [HealthState.DEGRADED]  # never PA_UP before connected
    finally:
        task.cancel()
