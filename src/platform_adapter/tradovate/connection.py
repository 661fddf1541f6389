"""One Tradovate WebSocket (trading or market data): the thin asyncio shell over the sans-I/O session.

The protocol — handshake, request ids, pending requests, penalties, heartbeats, the silence bound — is
`protocol.session.TradovateSession`; sending, timers and the request path are `wire.SessionWire`. This shell
connects, feeds every frame to the session and the fact builder (the hot path), runs the ready hooks (user
sync, resubscription, chart backfill: closing a socket ends its subscriptions) before it reports ready, and
records why a connection ended. `supervisor.SocketSupervisor` reconnects it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, NoReturn

import aiohttp

from platform_adapter.config import HeartbeatSettings
from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.budget import RequestBudget
from platform_adapter.tradovate.correlation import RequestRoute
from platform_adapter.tradovate.errors import (
    ConnectFailed,
    ConnectionLost,
    NotConnected,
    ReaderFault,
    TradovateError,
    Unauthorized,
)
from platform_adapter.tradovate.facts import FactBuilder, SocketContext
from platform_adapter.tradovate.protocol import CloseFrame, MalformedFrame, MessagesFrame, Response, TradovateSession
from platform_adapter.tradovate.protocol.session import Closed, SessionEvent, ShutdownAnnounced, Silent
from platform_adapter.tradovate.wire import SessionWire

_log = get_logger("pa.socket")


class Role(StrEnum):
    """Which Tradovate socket."""

    TRADING = "trading"
    MD = "md"


ReadyHook = Callable[["TradovateSocket", int], Awaitable[None]]


class TradovateSocket:
    """One socket of the PA: `serve` runs one connection; `request` sends on the current one."""

    def __init__(
        self,
        role: Role,
        url: str,
        *,
        http: aiohttp.ClientSession,
        tokens: TokenManager,
        budget: RequestBudget,
        builder: FactBuilder,
        health: HealthMonitor,
        clock: Clock,
        heartbeat: HeartbeatSettings,
    ) -> None:
        self.role, self.url = role, url
        self._http, self._tokens, self._budget, self._builder = http, tokens, budget, builder
        self._health, self._clock, self._hb = health, clock, heartbeat
        self._wire: SessionWire | None = None
        self.context = SocketContext(role.value, f"{role.value}-0", 0)  # the current connection, for its facts
        self.epoch = self.frames = 0
        self.last_recv_ts: int | None = None  # the last frame received, where a loss's gap begins
        self.close_reason: tuple[HealthReason, str] | None = None
        self.ready = asyncio.Event()  # authorized and set up: requests may go out
        self.ready_hooks: list[ReadyHook] = []

    async def serve(self, on_ready: Callable[[], None]) -> None:
        """Connect, authorize, run the ready hooks, then read until the connection ends (returns) or fails (raises).

        Raises ConnectFailed when no connection was made; `close_reason` says why a made one ended, if known.
        """
        self.close_reason = None
        try:
            token = await (self._tokens.md_token() if self.role is Role.MD else self._tokens.access_token())
            ws = await self._http.ws_connect(
                self.url, autoping=True, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=1.0)
            )
        except (aiohttp.ClientError, OSError, TradovateError) as exc:
            raise ConnectFailed(exc) from exc
        self.epoch += 1
        self.context = SocketContext(self.role.value, f"{self.role.value}-{self.epoch}", self.epoch)
        hb = self._hb
        session: TradovateSession[Any] = TradovateSession(
            self._clock.monotonic(),
            open_timeout_s=hb.request_timeout_s,
            heartbeat_s=hb.client_interval_s,
            silence_s=hb.silence_timeout_s,
        )
        self._wire = wire = SessionWire(self.role.value, ws, session, self._clock, self._budget)
        reader = asyncio.create_task(self._read(wire), name=f"{self.role.value}-reader")
        timers = asyncio.create_task(wire.run_timers(self._on_event), name=f"{self.role.value}-timers")
        try:
            setup = asyncio.ensure_future(self._set_up(wire, token, self.epoch))
            await asyncio.wait({setup, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not setup.done():  # the socket died during setup: stop at once
                setup.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await setup
                raise ConnectionLost("socket closed during setup")
            setup.result()
            self.ready.set()
            on_ready()
            await reader
        except Unauthorized:
            self._tokens.invalidate(token)
            raise
        finally:
            self.ready.clear()
            timers.cancel()
            reader.cancel()
            await asyncio.gather(timers, reader, return_exceptions=True)
            with contextlib.suppress(Exception):
                await ws.close()
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
        query: str = "",
        body: bytes | None = None,
        timeout_s: float | None = None,
        route: RequestRoute | None = None,
        require_ready: bool = True,
        mutating: bool = False,
    ) -> Response:
        """Send one request on the current connection and return its answer (see `SessionWire.request`).

        `route` tells the correlation what the answer is (stream, intent, chart); `require_ready=False` is for the
        ready hooks, which run before the socket is reported ready.
        """
        wire = self._wire
        if wire is None or (require_ready and not self.ready.is_set()):
            raise NotConnected(f"{self.role.value} socket is not connected")
        expect = self._builder.correlation.expect
        connection_id = self.context.connection_id
        try:
            return await wire.request(
                endpoint,
                timeout_s=timeout_s if timeout_s is not None else self._hb.request_timeout_s,
                query=query,
                body=body,
                mutating=mutating,
                before_send=None if route is None else lambda request_id: expect(connection_id, request_id, route),
            )
        except Unauthorized:
            self._tokens.invalidate()
            raise

    async def _read(self, wire: SessionWire) -> None:
        """The hot path: each frame into the session, its messages into facts (in order), then the session's events."""
        session, writer, clock = wire.session, self._builder.writer, self._clock
        receive, facts, frame_fact, settle = session.receive, self._builder.messages, self._builder.frame, wire.settle
        now_ns, monotonic = clock.now_ns, clock.monotonic
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        try:
            async for msg in wire.ws:
                kind = msg.type
                if kind is text or kind is binary:
                    data = msg.data
                else:
                    break
                recv_ts = now_ns()
                self.last_recv_ts = recv_ts
                self.frames += 1
                ctx = self.context
                try:
                    frame = receive(data, monotonic())
                    if type(frame) is MessagesFrame:
                        facts(ctx, recv_ts, frame.messages)  # every fact is in the outbox before a response acts
                    elif type(frame) is CloseFrame or type(frame) is MalformedFrame:
                        frame_fact(ctx, recv_ts, frame)
                    if session.has_events:
                        settle(session.take_events(), self._on_event)
                except Exception as exc:
                    self._reader_fault(ctx, recv_ts, data, exc)  # raises ReaderFault: this socket restarts
                if not writer.has_room:
                    # U is not keeping up and the outbox is full: stop reading so TCP pushes back on Tradovate.
                    session.pause()
                    await writer.wait_for_room()
                    session.resume(monotonic())
        finally:
            wire.end(self._on_event)

    def _reader_fault(self, ctx: SocketContext, recv_ts: int, data: str | bytes, exc: Exception) -> NoReturn:
        """A frame that no layer expected: forward it raw, then close this socket (the process goes on)."""
        _log.exception("socket_reader_fault", socket=self.role.value, connection_id=ctx.connection_id)
        error = (
            f"internal fault while handling this frame ({type(exc).__name__}); earlier messages of it may be forwarded"
        )
        raw = data if isinstance(data, str) else data.decode("utf-8", "backslashreplace")
        self._builder.frame(ctx, recv_ts, MalformedFrame(raw, error))
        self.close_reason = (HealthReason.SOCKET_CLOSED, f"reader fault: {type(exc).__name__}: {exc}")
        raise ReaderFault(str(exc)) from exc

    def _on_event(self, event: SessionEvent[Any]) -> None:
        role = self.role.value
        if type(event) is Closed:
            detail = f"platform closed the socket: {event.code} {event.reason}"
            self.close_reason = self.close_reason or (HealthReason.SOCKET_CLOSED, detail)
        elif type(event) is Silent:
            detail = f"no frame from the {role} socket for {event.silent_s:.1f} s (bound {event.bound_s:.1f} s)"
            self.close_reason = (HealthReason.HEARTBEAT_SILENCE, detail)
            _log.warning("socket_silent", socket=role, silent_s=round(event.silent_s, 2))
        elif type(event) is ShutdownAnnounced:
            reason = HealthReason.SHUTDOWN_QUOTA if event.quota else HealthReason.SHUTDOWN_MAINTENANCE
            detail = f"Tradovate announced a shutdown of the {role} socket: {event.reason_code or 'no reason code'}"
            if event.quota:  # the oldest connection's token is revoked when a quota is hit (connection-overview)
                self._tokens.invalidate()
                detail += " (too many connections for this user/IP: close other sessions)"
            self.close_reason = (reason, detail)
            self._health.raise_condition(f"link.{role}.shutdown", reason, HealthState.DEGRADED, detail=detail)
            _log.warning("platform_shutdown", socket=role, reason_code=event.reason_code)
