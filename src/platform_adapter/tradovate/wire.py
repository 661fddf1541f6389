"""One open Tradovate WebSocket driven by one `TradovateSession`: the asyncio half the PA and the probe share.

`SessionWire` sends the frames the session builds, sleeps until the session's next deadline (woken early
when a request with an earlier deadline goes out), settles each request's future with the session event
that answers it, and runs the one request path: the shared `RequestBudget` first (one budget for REST and
every socket), then the session's decision on the answer — 429 locks every request out, a captcha too,
401 is `Unauthorized`, a penalty ticket on a mutating request is `PenaltyTicket` (not processed, not
re-sent), a read is re-sent with its ticket once the penalty wait is over. Reading is the caller's: the
PA's reader builds facts, the probe's records what it sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeAlias

import aiohttp

from platform_adapter.core.clock import Clock
from platform_adapter.tradovate.budget import RequestBudget, Urgency
from platform_adapter.tradovate.errors import (
    BudgetExhausted,
    CaptchaRequired,
    ConnectionLost,
    NotConnected,
    NotSent,
    PenaltyTicket,
    PenaltyWait,
    RateLimited,
    RequestTimeout,
    Unauthorized,
)
from platform_adapter.tradovate.protocol import Response
from platform_adapter.tradovate.protocol.session import (
    Answered,
    HandshakeTimedOut,
    Heartbeat,
    Lost,
    Opened,
    Refusal,
    Refused,
    Resend,
    SessionEvent,
    SessionStateError,
    Silent,
    TimedOut,
    TradovateSession,
)

Waiter: TypeAlias = asyncio.Future[Any]
Session: TypeAlias = TradovateSession[Waiter]
_OUTCOMES = (Answered, Refused, Resend, TimedOut, Lost)


class SessionWire:
    """The I/O of one connection: send, wake at deadlines, settle requests, and the request/penalty path."""

    def __init__(
        self,
        name: str,
        ws: aiohttp.ClientWebSocketResponse,
        session: Session,
        clock: Clock,
        budget: RequestBudget,
        *,
        on_send: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.ws = ws
        self.session = session
        self._clock = clock
        self._budget = budget
        self._on_send = on_send  # the probe records every frame it sends
        self._opened: asyncio.Future[SessionEvent[Waiter] | None] = asyncio.get_running_loop().create_future()
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: asyncio.Task[None] | None = None
        self._sleeping = False  # the timers sleep until `_wake_at`; a request due sooner wakes them (`rearm`)
        self._wake_at = math.inf
        self._rearming = False

    def start(
        self, reader: Coroutine[Any, Any, None], on_event: Callable[[SessionEvent[Waiter]], None]
    ) -> asyncio.Task[None]:
        """Run the caller's reader and the timers; returns the reader's task, which ends when the socket closes."""
        self._tasks = [
            asyncio.create_task(reader, name=f"{self.name}-reader"),
            asyncio.create_task(self.run_timers(on_event), name=f"{self.name}-timers"),
        ]
        return self._tasks[0]

    async def while_open(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work`, but stop it at once if the socket closes meanwhile (ConnectionLost; ReaderFault if a frame
        broke the reader): setup must not outlive its connection, even while it waits on the budget."""
        reader, job = self._tasks[0], asyncio.ensure_future(work)
        await asyncio.wait({job, reader}, return_when=asyncio.FIRST_COMPLETED)
        if not job.done():
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
            await reader  # raises ReaderFault if a frame broke it
            raise ConnectionLost(f"{self.name} socket closed during setup")
        job.result()

    async def stop(self) -> None:
        """Stop the reader and the timers, and close the socket."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.ws.close()

    async def send(self, text: str) -> None:
        """Send one frame; NotConnected if the socket is already closed (nothing went out)."""
        if self.ws.closed:
            raise NotConnected(f"{self.name} socket is not connected")
        if self._on_send is not None:
            self._on_send(text)
        try:
            await self.ws.send_str(text)
        except (ConnectionError, RuntimeError) as exc:
            raise NotConnected(f"{self.name} socket closed before sending: {exc}") from None

    def settle(self, events: list[SessionEvent[Waiter]], on_event: Callable[[SessionEvent[Waiter]], None]) -> None:
        """Resolve each request's future (and the open wait) with the event that settles it; pass the rest on."""
        for event in events:
            if isinstance(event, _OUTCOMES):
                waiter = event.request.waiter
                if not waiter.done():
                    waiter.set_result(event)
            elif type(event) is Opened or type(event) is HandshakeTimedOut:
                if not self._opened.done():
                    self._opened.set_result(event)
            else:
                on_event(event)

    def end(self, on_event: Callable[[SessionEvent[Waiter]], None]) -> None:
        """The socket is closed: every pending request is lost, and nobody waits for `o` any more."""
        self.session.close()
        self.settle(self.session.take_events(), on_event)
        if not self._opened.done():
            self._opened.set_result(None)

    async def run_timers(self, on_event: Callable[[SessionEvent[Waiter]], None]) -> None:
        """Until cancelled or closed: at each deadline, send heartbeats, settle time-outs, close a silent socket."""
        session, clock = self.session, self._clock
        task = asyncio.current_task()
        assert task is not None
        self._timers = task
        while True:
            now = clock.monotonic()
            deadline = session.next_deadline()
            if deadline > now:
                # Sleep in this task itself (no helper task): the next wake-up is registered at once, so a manual
                # clock that advances time in steps wakes every deadline in order. `rearm` cuts the sleep short.
                self._wake_at, self._sleeping = deadline, True
                try:
                    if deadline < math.inf:
                        await clock.sleep(deadline - now)
                    else:
                        await asyncio.get_running_loop().create_future()
                except asyncio.CancelledError:
                    if self._rearming and task.uncancel() == 0:  # only our own wake-up, not a real cancel
                        self._rearming = False
                        continue
                    raise
                finally:
                    self._sleeping = False
                continue
            session.expire(now)
            for event in session.take_events():
                if type(event) is Heartbeat:
                    try:
                        await self.send(event.text)
                    except NotConnected:
                        return  # the reader sees the close and ends the connection
                else:
                    self.settle([event], on_event)
                    if type(event) is Silent:
                        await self.ws.close()
                        return

    def rearm(self, deadline: float) -> None:
        """A deadline earlier than the timers' next wake-up was set: wake them to sleep again, shorter."""
        if self._sleeping and deadline < self._wake_at and not self._rearming and self._timers is not None:
            self._rearming = True
            self._timers.cancel()

    async def opened(self) -> None:
        """Wait for the server's `o`; RequestTimeout if it does not come in time, ConnectionLost if the socket closed."""
        event = await self._opened
        if type(event) is HandshakeTimedOut:
            raise RequestTimeout("open frame", event.timeout_s)
        if event is None:
            raise ConnectionLost(f"{self.name} socket closed before its open frame")

    async def authorize(self, token: str, timeout_s: float) -> Response:
        """Send `authorize` and return its answer, whatever its status (the session is READY only on 200)."""
        waiter: Waiter = asyncio.get_running_loop().create_future()
        try:
            request = self.session.authorize(token, self._clock.monotonic(), timeout_s=timeout_s, waiter=waiter)
        except SessionStateError as exc:
            raise ConnectionLost(f"{self.name} socket cannot authorize: {exc}") from None
        self.rearm(request.deadline)
        try:
            await self.send(request.text)
        except NotConnected as exc:  # closed by the platform right after `o`
            self.session.withdraw(request)
            raise ConnectionLost(f"socket closed before authorize could be sent: {exc}") from None
        outcome = await waiter
        if type(outcome) is Answered:
            return outcome.response
        self._raise("authorize", outcome)

    async def request(
        self,
        endpoint: str,
        *,
        timeout_s: float,
        query: str = "",
        body: bytes | str | None = None,
        mutating: bool = False,
        urgency: Urgency | None = None,
        before_send: Callable[[int], None] | None = None,
    ) -> Response:
        """Send one request through the shared budget and return its answer (any status but 429 / 401).

        Raises NotConnected or NotSent (nothing sent); RequestTimeout or ConnectionLost (sent, effect unknown);
        RateLimited or CaptchaRequired (every request is locked out); Unauthorized (401); PenaltyTicket (a
        mutating request was penalized: not processed, not re-sent). `before_send` gets each request id first.
        `urgency` places it against the rolling-hour budget (default: an order when mutating, else a read).
        """
        budget = self._budget
        if urgency is None:
            urgency = Urgency.ORDER if mutating else Urgency.READ
        while True:
            try:
                await budget.acquire(wait=not mutating, urgency=urgency)
            except (PenaltyWait, RateLimited, CaptchaRequired, BudgetExhausted) as exc:
                if mutating:  # an order must not wait silently, and nothing went out
                    raise NotSent(f"{endpoint} not sent: {exc}", exc) from None
                raise
            waiter: Waiter = asyncio.get_running_loop().create_future()
            try:
                now = self._clock.monotonic()
                request = self.session.request(
                    endpoint, now, timeout_s=timeout_s, waiter=waiter, query=query, body=body, mutating=mutating
                )
            except SessionStateError:
                raise NotConnected(f"{self.name} socket is not connected") from None
            if before_send is not None:
                before_send(request.request_id)
            self.rearm(request.deadline)
            try:
                await self.send(request.text)
            except NotConnected:
                self.session.withdraw(request)
                raise
            outcome = await waiter
            if type(outcome) is Answered:
                return outcome.response
            if type(outcome) is not Resend:
                self._raise(endpoint, outcome)
            budget.penalty(outcome.penalty.wait_s, endpoint)  # the next pass waits `p-time` in `acquire`
            body = outcome.body

    def _raise(self, endpoint: str, outcome: Any) -> NoReturn:
        """The typed error for a request that was not answered (or answered with a refusal)."""
        if type(outcome) is TimedOut:
            raise RequestTimeout(endpoint, outcome.request.timeout_s)
        if type(outcome) is Lost:
            raise ConnectionLost(f"{self.name} socket closed before {endpoint} was answered")
        budget = self._budget
        if outcome.refusal is Refusal.RATE_LIMITED:
            raise budget.rate_limited(endpoint)
        if outcome.refusal is Refusal.CAPTCHA:
            raise budget.captcha(endpoint)
        if outcome.refusal is Refusal.UNAUTHORIZED:
            raise Unauthorized(f"{endpoint}: 401")
        wait_s = outcome.penalty.wait_s if outcome.penalty is not None else 0.0
        budget.penalty(wait_s, endpoint)
        raise PenaltyTicket(endpoint, wait_s)
