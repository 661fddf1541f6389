"""SessionWire: the one request path (budget, penalties, time-outs) the PA's sockets and the probe share.

A fake WebSocket records what is sent; the test plays the server by feeding frames to the session; time is
a ManualClock, so every deadline is hit exactly.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import aiohttp
import pytest

from platform_adapter.core.clock import ManualClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.tradovate.budget import RequestBudget
from platform_adapter.tradovate.errors import (
    CaptchaRequired,
    ConnectionLost,
    NotSent,
    PenaltyTicket,
    RateLimited,
    RequestTimeout,
    Unauthorized,
)
from platform_adapter.tradovate.protocol import TradovateSession
from platform_adapter.tradovate.wire import SessionWire

from ..core.fakes import RecordingHealthSink


class FakeWebSocket:
    """Records sent frames; `closed` once closed."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed = False

    async def send_str(self, text: str) -> None:
        self.sent.append(text)

    async def close(self) -> None:
        self.closed = True


class Server:
    """A wire with a ready session, its timers running, and a hand to answer with."""

    def __init__(self, *, heartbeat_s: float | None = 2.5) -> None:
        self.clock = ManualClock()
        self.health = HealthMonitor(self.clock, RecordingHealthSink())
        self.budget = RequestBudget(self.clock, self.health)
        self.ws = FakeWebSocket()
        session: TradovateSession[Any] = TradovateSession(
            self.clock.monotonic(), open_timeout_s=5.0, heartbeat_s=heartbeat_s
        )
        session.receive("o", self.clock.monotonic())
        session.authorize("tok", self.clock.monotonic(), timeout_s=5.0, waiter=None)
        session.receive('a[{"s":200,"i":1}]', self.clock.monotonic())
        session.take_events()
        self.session = session
        self.wire = SessionWire(
            "trading", cast(aiohttp.ClientWebSocketResponse, self.ws), session, self.clock, self.budget
        )
        self.timers: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.timers = asyncio.create_task(self.wire.run_timers(lambda event: None))

    async def stop(self) -> None:
        if self.timers is not None:
            self.timers.cancel()
            await asyncio.gather(self.timers, return_exceptions=True)

    def answer(self, item: str) -> None:
        self.session.receive(f"a[{item}]", self.clock.monotonic())
        self.wire.settle(self.session.take_events(), _no)

    def requests(self, endpoint: str) -> list[str]:
        return [t for t in self.ws.sent if t.startswith(endpoint + "\n")]

    async def sent(self, endpoint: str, count: int = 1) -> None:
        for _ in range(100):
            if len(self.requests(endpoint)) >= count:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"{endpoint} was not sent {count} time(s): {self.ws.sent}")


def _no(event: object) -> None:
    raise AssertionError(f"unexpected notice {event}")


def _id(text: str) -> int:
    return int(text.split("\n")[1])


async def test_a_request_due_before_the_next_heartbeat_times_out_at_its_own_deadline() -> None:
    server = Server(heartbeat_s=2.5)
    server.start()
    await asyncio.sleep(0)  # the timers sleep until the heartbeat at 2.5 s
    call = asyncio.ensure_future(server.wire.request("order/list", timeout_s=1.0))
    await server.sent("order/list")
    await server.clock.advance(0.999)
    assert not call.done()
    await server.clock.advance(0.001)
    for _ in range(5):
        await asyncio.sleep(0)
    with pytest.raises(RequestTimeout):
        call.result()
    assert server.ws.sent.count("[]") == 0  # woken for the request, not for the heartbeat
    await server.clock.advance(1.5)
    assert server.ws.sent.count("[]") == 1
    await server.stop()


async def test_a_penalized_read_waits_the_shared_cool_down_then_is_resent_with_its_ticket() -> None:
    server = Server()
    server.start()
    call = asyncio.ensure_future(server.wire.request("md/getChart", timeout_s=5.0, body=b'{"symbol":1}'))
    await server.sent("md/getChart")
    first = server.requests("md/getChart")[0]
    server.answer(f'{{"s":200,"i":{_id(first)},"d":{{"p-ticket":"t-1","p-time":3}}}}')
    await asyncio.sleep(0)
    assert len(server.requests("md/getChart")) == 1  # waiting out p-time
    assert HealthReason.PENALTY_WAIT in {c.reason for c in server.health.conditions().values()}
    await server.clock.advance(3.0)
    await server.sent("md/getChart", 2)
    again = server.requests("md/getChart")[1]
    assert json.loads(again.split("\n", 3)[3]) == {"symbol": 1, "p-ticket": "t-1"}
    assert _id(again) == _id(first) + 1
    server.answer(f'{{"s":200,"i":{_id(again)},"d":{{"ok":true}}}}')
    assert (await call).status == 200
    assert server.budget.penalties == 1
    await server.stop()


async def test_a_penalized_order_is_not_resent_and_the_next_order_is_refused_unsent() -> None:
    server = Server()
    call = asyncio.ensure_future(server.wire.request("order/placeorder", timeout_s=5.0, body=b"{}", mutating=True))
    await server.sent("order/placeorder")
    server.answer('{"s":200,"i":2,"d":{"p-ticket":"t","p-time":30}}')
    with pytest.raises(PenaltyTicket):
        await call
    with pytest.raises(NotSent):  # the cool-down holds for every request; an order does not wait silently
        await server.wire.request("order/placeorder", timeout_s=5.0, body=b"{}", mutating=True)
    assert len(server.requests("order/placeorder")) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ('{"s":429,"i":2}', RateLimited),
        ('{"s":200,"i":2,"d":{"p-captcha":true}}', CaptchaRequired),
    ],
)
async def test_a_429_or_a_captcha_locks_every_request_out(answer: str, error: type[Exception]) -> None:
    server = Server()
    call = asyncio.ensure_future(server.wire.request("position/list", timeout_s=5.0))
    await server.sent("position/list")
    server.answer(answer)
    with pytest.raises(error):
        await call
    assert server.health.current.state is HealthState.DOWN
    with pytest.raises(error):
        await server.wire.request("account/list", timeout_s=5.0)
    assert server.requests("account/list") == []


async def test_a_401_is_unauthorized() -> None:
    server = Server()
    call = asyncio.ensure_future(server.wire.request("account/list", timeout_s=5.0))
    await server.sent("account/list")
    server.answer('{"s":401,"i":2,"d":"Access is denied"}')
    with pytest.raises(Unauthorized):
        await call


async def test_a_request_pending_when_the_socket_ends_is_lost_not_failed() -> None:
    server = Server()
    call = asyncio.ensure_future(server.wire.request("order/cancelorder", timeout_s=5.0, mutating=True))
    await server.sent("order/cancelorder")
    server.wire.end(lambda event: None)
    with pytest.raises(ConnectionLost):
        await call
