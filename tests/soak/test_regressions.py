"""Regression tests for PA bugs the seeded soak found; each names the seed that found it."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from platform_adapter.config import HeartbeatSettings, OutboxSettings
from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.tradovate.budget import LOCKOUT_S
from tests.integration.harness import running
from tradovate_sim import TradovateSim


async def test_sockets_lost_during_a_429_lockout_wait_it_out_instead_of_reconnecting_every_backoff() -> None:
    """Soak seed 19: a 429 then a socket loss made each socket reconnect + authorize every 4 s for the hour."""
    async with running() as h:
        await h.up()
        h.sim.faults.rate_limit(n=1, endpoint="position/list")
        reference = h.stack.platform.reference
        assert reference is not None
        await h.oe.flatten(None, account_id=next(iter(reference.accounts)))  # the read that meets the 429
        await h.until(lambda: HealthReason.RATE_LIMITED in h.stack.adapter.health.current.reasons, what="429")
        authorizes_before = len([f for f in h.sim.received_frames() if f.text.startswith("authorize\n")])
        await h.sim.faults.close_sockets("all")
        await h.advance(600.0, step=5.0)
        authorizes = len([f for f in h.sim.received_frames() if f.text.startswith("authorize\n")])
        assert authorizes - authorizes_before <= 2  # at most one attempt per socket, not one per backoff
        assert h.stack.adapter.health.state is HealthState.DOWN
        await h.advance(LOCKOUT_S - 600.0 + 10.0, step=30.0)
        await h.up(timeout=15)


async def test_an_unanswered_authorize_leaves_no_orphaned_future_behind() -> None:
    """Soak seeds 16 and 23: an authorize that timed out left its future registered; the loss then failed it,
    nobody awaited it, and asyncio logged "Future exception was never retrieved" (an unhandled error)."""
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    silenced: list[int] = []

    def hold_the_first_authorize_reply(sim: TradovateSim) -> None:
        record = sim.recorder.record_inbound

        def record_and_hold(conn_id: int, kind: Any, text: str) -> None:
            record(conn_id, kind, text)
            if kind == "trading" and text.startswith("authorize\n") and not silenced:
                silenced.append(conn_id)
                sim.faults.silence(conn_id)

        sim.recorder.record_inbound = record_and_hold  # type: ignore[method-assign]

    try:
        async with running(arm=hold_the_first_authorize_reply) as h:
            await h.until(lambda: bool(silenced), what="the first authorize")
            await h.advance(6.0)  # past the 5 s request timeout: the trading socket gives up and reconnects
            await h.advance(5.0)
            await h.up()
            trading = h.stack.platform.trading
            assert trading is not None and trading.epoch == 2
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert [c.get("message") for c in unhandled] == []


async def test_a_refused_market_data_token_is_replaced_when_only_the_md_socket_reconnects() -> None:
    """Soak seed 119 (1500 steps): tokens expired, then only the md socket reconnected; its authorize got 401 with
    the mdAccessToken, which `invalidate` did not recognise, so the md socket retried the dead token forever."""
    async with running() as h:
        await h.up()
        h.sim.faults.expire_tokens()
        await h.sim.faults.close_sockets("md")
        await h.until(lambda: h.stack.adapter.health.state is not HealthState.UP, what="md down")
        for _ in range(4):
            await h.advance(5.0)
        await h.up()
        md = h.stack.platform.md
        assert md is not None and md.ready.is_set()
        assert len(h.sim.received_requests("auth/accesstokenrequest")) == 2  # one fresh token, not a retry loop


async def test_a_socket_closed_right_after_its_open_frame_is_a_lost_connection_not_a_crash() -> None:
    """Soak seeds 26, 53, 66 and 69 (1000 steps): the platform closed a fresh socket just after `o`; sending
    `authorize` raised ClientConnectionResetError out of the socket supervisor and the whole PA stopped."""
    closed: list[int] = []

    def close_the_first_trading_socket_after_open(sim: TradovateSim) -> None:
        add = sim.registry.add

        def add_and_arm(connection: Any) -> None:
            add(connection)
            if connection.kind == "trading" and not closed:
                closed.append(connection.id)
                send_open = connection.send_open

                def open_then_close() -> None:
                    send_open()
                    connection.close_when_sent(3000, "Go away!")

                connection.send_open = open_then_close

        sim.registry.add = add_and_arm  # type: ignore[method-assign]

    async with running(arm=close_the_first_trading_socket_after_open) as h:
        await h.until(lambda: bool(closed), what="the first trading socket")
        for _ in range(3):
            await h.advance(2.0)
        await h.up()
        assert not h.pa_task.done()
        trading = h.stack.platform.trading
        assert trading is not None and trading.epoch >= 2


async def test_no_reconnect_churn_while_the_outbox_is_full() -> None:
    """Soak seed 252 (1000 steps): while U was stalled and the outbox full, a socket that ended kept reconnecting:
    each new connection's reader paused on its first frame, the handshake timed out, and every cycle added a gap
    fact past capacity (peak depth 417 > capacity + one frame per socket) and another platform connection."""
    capacity = 400
    outbox_settings = OutboxSettings(capacity=capacity, high_watermark=0.5, low_watermark=0.2, telemetry_capacity=50)
    async with running(
        outbox=outbox_settings, fact_queue_size=50, heartbeat=HeartbeatSettings(silence_timeout_s=8.0)
    ) as h:
        await h.up()
        await h.drained()
        outbox = h.stack.adapter.outbox
        h.system.u.stall()
        while outbox.has_room:
            await h.sim.step_market(20)
            await asyncio.sleep(0.005)
        depth_at_capacity = outbox.depth
        trading_connections = len([c for c in h.sim.recorder.frames if c.kind == "trading" and c.frame_type == "o"])
        await h.advance(60.0, step=0.5)  # the idle trading socket falls silent and is dropped; no room to reconnect
        reconnects = len([c for c in h.sim.recorder.frames if c.kind == "trading" and c.frame_type == "o"])
        assert reconnects - trading_connections <= 1
        assert outbox.depth <= depth_at_capacity + 2  # at most one loss gap fact per socket
        h.system.u.resume()
        # The trading socket reconnects once U drains, after a backoff on the PA's clock: keep the clock moving
        # until PA_UP (advancing a fixed 10 s raced the drain, which takes real time).
        await h.until_advancing(lambda: h.stack.adapter.health.state is HealthState.UP, what="PA_UP after U resumed")
        await h.up(timeout=15)
