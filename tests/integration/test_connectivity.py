"""Acceptance A: connect and authenticate, detect disconnects, reconnect with bounded backoff, report health."""

from __future__ import annotations

import asyncio

import pytest

from platform_adapter.config import HeartbeatSettings
from platform_adapter.mic import FactKind, HealthReason, HealthSignal, HealthState, Stream
from platform_adapter.mic.codec import decode_gap
from tradovate_sim import Variants
from tradovate_sim.market_data import NO_SERVICE_PLAN_TEXT

from .harness import Harness, Transport, running


async def test_acceptance_A_connects_authorizes_both_sockets_and_reports_pa_up(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        platform = h.stack.platform
        assert platform.trading is not None and platform.md is not None
        assert platform.trading.ready.is_set() and platform.md.ready.is_set()
        authorizes = [r for r in h.sim.received_frames() if r.text.startswith("authorize\n")]
        assert len(authorizes) == 2  # one per socket, right after `o`
        assert h.oe.health is not None and h.oe.health.state is HealthState.UP
        states = [s.state for s in h.oe.health_transitions()]
        assert states[0] is HealthState.DEGRADED  # never UP before connected
        assert not h.oe.health.halt_required


async def test_acceptance_A_closed_socket_degrades_reconnects_and_resubscribes_20_times(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        md = h.stack.platform.md
        assert md is not None
        tasks_before = len(asyncio.all_tasks())
        for round_no in range(1, 21):
            await h.sim.faults.close_sockets("md")
            await h.until(lambda: h.stack.adapter.health.state is not HealthState.UP, what="PA_DEGRADED")
            assert h.stack.adapter.health.state is HealthState.DEGRADED
            assert h.stack.adapter.health.current.halt_required
            await h.advance(md_backoff_bound := 4.0 * 1.2)
            await h.up()
            assert md.epoch == round_no + 1
            del md_backoff_bound
        subscribes = h.sim.received_requests("md/subscribeQuote")
        assert len(subscribes) == 2 * 21  # two instruments, resubscribed on each of 21 connections
        await h.drained()
        assert len(asyncio.all_tasks()) <= tasks_before + 2  # no task leaked per reconnect
        assert len(h.sim.connections("md")) == 1  # no socket leaked


async def test_acceptance_A_silent_socket_is_detected_within_the_bound(transport: Transport) -> None:
    async with running(transport, heartbeat=HeartbeatSettings(silence_timeout_s=8.0)) as h:
        await h.up()
        h.sim.faults.silence("trading")
        await h.advance(7.5)
        assert h.stack.adapter.health.state is HealthState.UP  # within the bound: still fine
        await h.advance(1.5)
        # Detected at the bound itself (8 s), so the reconnect may already be under way: read what OE was told.
        await h.until(lambda: _told_oe(h, HealthReason.HEARTBEAT_SILENCE) is not None, what="silence")
        signal = _told_oe(h, HealthReason.HEARTBEAT_SILENCE)
        assert signal is not None and signal.state is HealthState.DEGRADED and signal.halt_required
        h.sim.faults.end_silence("trading")
        await h.advance(5.0)
        await h.up()


async def test_acceptance_A_platform_down_past_the_give_up_window_is_pa_down_with_halt(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        await h.sim.faults.down()
        await h.until(lambda: h.stack.adapter.health.state is not HealthState.UP, what="degraded")
        await h.advance(40.0, step=0.5)
        await h.until(lambda: h.stack.adapter.health.state is HealthState.DOWN, what="PA_DOWN")
        signal = h.stack.adapter.health.current
        assert signal.halt_required
        assert HealthReason.GAVE_UP in signal.reasons
        await h.until(lambda: h.oe.health is not None and h.oe.health.state is HealthState.DOWN, what="OE sees PA_DOWN")
        await h.sim.faults.up()
        await h.advance(6.0)
        await h.up(timeout=15)  # it kept retrying, and recovers by itself


async def test_every_loss_is_reported_to_u_as_a_gap_fact(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        await h.sim.faults.close_sockets("trading")
        await h.advance(5.0)
        await h.up()
        await h.drained()
        gaps = [decode_gap(bytes(f.payload)) for f in h.facts_of(FactKind.GAP)]
        opened = [g for g in gaps if g.streams == (Stream.CONNECTION.value,)]
        closed = [g for g in gaps if g.streams == (Stream.PROPS.value,)]
        assert len(opened) == 1 and opened[0].to_epoch is None
        assert len(closed) == 1 and (closed[0].from_epoch, closed[0].to_epoch) == (1, 2)
        assert closed[0].backfill == "requested"
        syncs = h.sim.received_requests("user/syncrequest")
        assert len(syncs) == 2  # a fresh snapshot after the reconnect


@pytest.mark.parametrize("code", ["Maintenance", "ConnectionQuotaReached"])
async def test_shutdown_event_is_reported_by_reason_code_and_recovered(code: str, transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        await h.sim.faults.shutdown("md", reason_code=code)
        expected = HealthReason.SHUTDOWN_QUOTA if code != "Maintenance" else HealthReason.SHUTDOWN_MAINTENANCE
        await h.until(lambda: expected in h.stack.adapter.health.current.reasons, what=f"{expected}")
        await h.advance(6.0)
        await h.up()
        await h.drained()
        assert any(f.stream is Stream.SHUTDOWN for f in h.u_facts())


def _told_oe(h: Harness, reason: HealthReason) -> HealthSignal | None:
    """The first health signal OE received that carried `reason`."""
    return next((s for s in h.oe.health_transitions() if reason in s.reasons), None)


async def test_acceptance_A_a_refused_market_data_request_is_pa_down_naming_the_symbol_and_the_platform_text(
    transport: Transport,
) -> None:
    # MDSWAG MarketDataSubscriptionResult: a refusal is a 200 answer with errorText, errorCode and mode "None".
    variants = Variants().with_changes({"md_entitlement": "none"})
    async with running(transport, sim_overrides={"variants": variants}) as h:
        health = h.stack.adapter.health
        await h.until(lambda: h.stack.platform.md is not None and h.stack.platform.md.ready.is_set(), what="md up")
        await h.until(lambda: health.state is HealthState.DOWN, what="PA_DOWN")
        assert HealthReason.MD_REFUSED in health.current.reasons and health.current.halt_required
        refusals = [c for c in health.conditions().values() if c.reason is HealthReason.MD_REFUSED]
        assert {c.detail.split(" for ")[1].split(" ")[0] for c in refusals} == {"ESZ6", "NQZ6"}  # named per symbol
        assert all("NoServicePlan" in c.detail and NO_SERVICE_PLAN_TEXT in c.detail for c in refusals)
        await h.until(lambda: h.oe.health is not None and h.oe.health.state is HealthState.DOWN, what="OE told")
        market = h.stack.platform.market_data
        assert market is not None and market.subscriptions["ESZ6"][0] == "quotes (refused: NoServicePlan)"
        # Granted later (the entitlement was fixed): asked again on the next connection, and the reason clears.
        h.sim.variants.update({"md_entitlement": "realtime"})
        await h.sim.faults.close_sockets("md")
        await h.advance(5.0)
        await h.up()
        assert HealthReason.MD_REFUSED not in health.current.reasons
