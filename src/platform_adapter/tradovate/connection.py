"""One Tradovate WebSocket (trading or market data): the thin asyncio shell over the sans-I/O session.

The protocol — handshake, request ids, pending requests, penalties, heartbeats, the silence bound — is
`protocol.session.TradovateSession`; sending, timers and the request path are `wire.SessionWire`. This shell
connects, feeds every frame to the session and then to the fact builder (the hot path), and runs the ready
hooks (user sync, resubscription, chart backfill: closing a socket ends its subscriptions) before it reports
ready. `supervisor.SocketSupervisor` reconnects it and decides what each ending means.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, NoReturn

import aiohttp

from platform_adapter.config import HeartbeatSettings
from platform_adapter.core.clock import Clock
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.budget import RequestBudget, Urgency
from platform_adapter.tradovate.correlation import RequestRoute
from platform_adapter.tradovate.errors import (
    ConnectFailed,
    NotConnected,
    ReaderFault,
    TradovateError,
    Unauthorized,
)
from platform_adapter.tradovate.facts import FactBuilder, SocketContext
from platform_adapter.tradovate.protocol import CloseFrame, MalformedFrame, MessagesFrame, Response, TradovateSession
from platform_adapter.tradovate.protocol.session import SessionEvent, ShutdownAnnounced
from platform_adapter.tradovate.wire import SessionWire

_log = get_logger("pa.socket")

Notice = Callable[[SessionEvent[Any]], None]
"""Receives what ends a connection: a close frame, a shutdown announcement, silence."""


class Role(StrEnum):
    """Which Tradovate socket."""

    TRADING = "trading"
    MD = "md"


class TradovateSocket:
    """One socket of the PA: `serve` runs one connection at a time; `request` sends on the current one."""

    def __init__(
        self,
        role: Role,
        url: str,
        *,
        http: aiohttp.ClientSession,
        tokens: TokenManager,
        budget: RequestBudget,
        builder: FactBuilder,
        clock: Clock,
        heartbeat: HeartbeatSettings,
    ) -> None:
        self.role, self.url = role, url
        self._http, self._tokens, self._budget, self._builder = http, tokens, budget, builder
        self._clock, self._hb = clock, heartbeat
        self._wire: SessionWire | None = None
        self.context = SocketContext(role.value, f"{role.value}-0", 0)  # the current connection, for its facts
        self.epoch = self.frames = 0
        self.last_recv_ts: int | None = None  # the last frame received: where a loss's gap begins
        self.ready = asyncio.Event()  # authorized and set up: requests may go out
        self.ready_hooks: list[Callable[[TradovateSocket, int], Awaitable[None]]] = []

    async def serve(self, on_ready: Callable[[], None], on_notice: Notice) -> None:
        """Connect, authorize, run the ready hooks, then read until the connection ends (returns) or fails (raises).

        Raises ConnectFailed when no connection was made, ReaderFault when a frame broke the reader.
        """
        try:
            token = await (self._tokens.md_token() if self.role is Role.MD else self._tokens.access_token())
            ws = await self._http.ws_connect(
                self.url, autoping=True, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=1.0)
            )
        except (aiohttp.ClientError, OSError, TradovateError) as exc:
            raise ConnectFailed(exc) from exc
        self.epoch += 1
        self.context = SocketContext(self.role.value, f"{self.role.value}-{self.epoch}", self.epoch)
        hb, now = self._hb, self._clock.monotonic()
        session: TradovateSession[Any] = TradovateSession(
            now, open_timeout_s=hb.request_timeout_s, heartbeat_s=hb.client_interval_s, silence_s=hb.silence_timeout_s
        )
        self._wire = wire = SessionWire(self.role.value, ws, session, self._clock, self._budget)

        def on_event(event: SessionEvent[Any]) -> None:
            if type(event) is ShutdownAnnounced and event.quota:
                self._tokens.invalidate()  # a connection quota revokes the oldest connection's token
            on_notice(event)

        reader = wire.start(self._read(wire, on_event), on_event)
        try:
            await wire.while_open(self._set_up(wire, token, self.epoch))
            self.ready.set()
            on_ready()
            await reader
        except Unauthorized:
            self._tokens.invalidate(token)
            raise
        finally:
            self.ready.clear()
            await wire.stop()
            self._wire = None

    async def _set_up(self, wire: SessionWire, token: str, epoch: int) -> None:
        await wire.opened()
        response = await wire.authorize(token, self._hb.request_timeout_s)
        if response.status != 200:
            raise Unauthorized(f"authorize refused with status {response.status}")
        for hook in self.ready_hooks:
            await hook(self, epoch)

    async def request(
        self,
        endpoint: str,
        *,
        body: bytes | None = None,
        timeout_s: float | None = None,
        route: RequestRoute | None = None,
        require_ready: bool = True,
        mutating: bool = False,
        urgency: Urgency | None = None,
    ) -> Response:
        """Send one request on the current connection and return its answer (raises as `SessionWire.request`).

        `route` tells the correlation what the answer is; the ready hooks pass `require_ready=False`.
        """
        wire = self._wire
        if wire is None or (require_ready and not self.ready.is_set()):
            raise NotConnected(f"{self.role.value} socket is not connected")
        expect, connection_id = self._builder.correlation.expect, self.context.connection_id
        timeout_s = timeout_s if timeout_s is not None else self._hb.request_timeout_s
        try:
            return await wire.request(
                endpoint,
                timeout_s=timeout_s,
                body=body,
                mutating=mutating,
                # The trading socket's set-up and reads may use the order reserve; market data may not (ADR 0016).
                urgency=urgency or (Urgency.ORDER if self.role is Role.TRADING else Urgency.READ),
                before_send=None if route is None else lambda request_id: expect(connection_id, request_id, route),
            )
        except Unauthorized:
            self._tokens.invalidate()
            raise

    async def _read(self, wire: SessionWire, on_event: Notice) -> None:
        """The hot path: each frame into the session, its messages into facts (in order), then the session's events."""
        session, writer, clock, builder = wire.session, self._builder.writer, self._clock, self._builder
        receive, facts, frame_fact, settle = session.receive, builder.messages, builder.frame, wire.settle
        now_ns, monotonic = clock.now_ns, clock.monotonic
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        ctx, recv_ts = self.context, None  # one connection, one context; the last receipt is kept at the end
        try:
            async for msg in wire.ws:
                kind = msg.type
                if kind is text or kind is binary:
                    data = msg.data
                else:
                    break
                recv_ts = now_ns()
                self.frames += 1
                try:
                    frame = receive(data, monotonic())
                    if type(frame) is MessagesFrame:
                        facts(ctx, recv_ts, frame.messages)  # every fact is in the outbox before a response acts
                    elif type(frame) is CloseFrame or type(frame) is MalformedFrame:
                        frame_fact(ctx, recv_ts, frame)
                    if session.has_events:
                        settle(session.take_events(), on_event)
                except Exception as exc:
                    self._reader_fault(ctx, recv_ts, data, exc)
                if not writer.has_room:
                    # U is not keeping up and the outbox is full: stop reading so TCP pushes back on Tradovate.
                    session.pause()
                    await writer.wait_for_room()
                    session.resume(monotonic())
        finally:
            if recv_ts is not None:
                self.last_recv_ts = recv_ts
            wire.end(on_event)

    def _reader_fault(self, ctx: SocketContext, recv_ts: int, data: str | bytes, exc: Exception) -> NoReturn:
        """A frame that no layer expected: forward it raw, then end this connection (the process goes on)."""
        _log.exception("socket_reader_fault", socket=self.role.value, connection_id=ctx.connection_id)
        error = (
            f"internal fault while handling this frame ({type(exc).__name__}); earlier messages of it may be forwarded"
        )
        raw = data if isinstance(data, str) else data.decode("utf-8", "backslashreplace")
        self._builder.frame(ctx, recv_ts, MalformedFrame(raw, error))
        raise ReaderFault(f"reader fault: {type(exc).__name__}: {exc}") from exc
