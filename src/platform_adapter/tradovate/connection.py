"""One Tradovate WebSocket (trading or market data), kept alive and reconnected.

Protocol (tradovate/api WebSockets.md; partner docs web-sockets/connection-overview): the server opens
with `o`; the client sends `authorize\\n<id>\\n\\n<token>` and gets `{"s":200,"i":<id>}`; the client sends
`[]` every 2.5 s or is dropped; the server sends `h` when idle but not while it streams, so liveness
is judged by silence of any frame; `c[code,"reason"]` closes; a `shutdown` event announces a close.
Closing a socket ends every subscription on it, so each new connection runs the ready hooks
(user sync, resubscription, chart backfill) before it is reported up.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

import aiohttp

from platform_adapter.config import Settings
from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.ports import FactWriter
from platform_adapter.mic import GapDetail, HealthReason, HealthState, Stream
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.backoff import Backoff
from platform_adapter.tradovate.budget import RequestBudget
from platform_adapter.tradovate.errors import (
    AuthFailed,
    CaptchaRequired,
    ConnectionLost,
    NotConnected,
    NotSent,
    PenaltyWait,
    RateLimited,
    RequestTimeout,
    TradovateError,
    Unauthorized,
)
from platform_adapter.tradovate.facts import FactBuilder, RequestRoute, SocketContext
from platform_adapter.tradovate.protocol import (
    HEARTBEAT,
    CloseFrame,
    Event,
    HeartbeatFrame,
    MalformedFrame,
    MessagesFrame,
    OpenFrame,
    Response,
    decode_frame,
    encode_authorize,
    encode_request,
    parse_penalty,
    shutdown_head,
    with_ticket,
)

_log = get_logger("pa.socket")


class Role(StrEnum):
    """Which Tradovate socket."""

    TRADING = "trading"
    MD = "md"


@dataclass(frozen=True, slots=True)
class LinkLoss:
    """How a connection ended."""

    reason: HealthReason
    detail: str
    epoch: int
    last_recv_ts: int | None  # the last frame received before the loss
    lost_ts: int

    def gap(
        self,
        connection: str,
        stream: str,
        *,
        backfill: str,
        detail: str,
        to_epoch: int | None = None,
        until_ts: int | None = None,
        last_seen: str | int | None = None,
        contract_id: int | None = None,
        symbol: str | None = None,
    ) -> GapDetail:
        """The gap this loss opened on one stream: from the last frame received to `until_ts` (null while down)."""
        return GapDetail(
            reason=self.reason.value,
            connection=connection,
            from_epoch=self.epoch,
            to_epoch=to_epoch,
            first_missing_recv_ts=self.last_recv_ts,
            last_missing_recv_ts=until_ts,
            last_seen_platform_ts=last_seen,
            backfill=backfill,
            streams=(stream,),
            contract_id=contract_id,
            symbol=symbol,
            detail=detail,
        )


class ReaderFault(TradovateError):
    """The reader met a frame it could not handle; the frame was forwarded raw and the socket is restarted."""


class PenaltyTicket(TradovateError):
    """A mutating request got a penalty ticket: it was not processed, and is not re-sent automatically."""

    def __init__(self, endpoint: str, wait_s: float) -> None:
        super().__init__(f"{endpoint}: Tradovate penalty ticket, wait {wait_s:.1f} s")
        self.wait_s = wait_s


ReadyHook = Callable[["TradovateSocket", int], Awaitable[None]]
LostHook = Callable[["TradovateSocket", LinkLoss], None]


class TradovateSocket:
    """A self-healing socket: `run` connects, keeps alive and reconnects until cancelled."""

    def __init__(
        self,
        role: Role,
        url: str,
        *,
        http: aiohttp.ClientSession,
        tokens: TokenManager,
        budget: RequestBudget,
        builder: FactBuilder,
        writer: FactWriter,
        health: HealthMonitor,
        clock: Clock,
        settings: Settings,
        rng: random.Random | None = None,
    ) -> None:
        self.role = role
        self.url = url
        self._http = http
        self._tokens = tokens
        self._budget = budget
        self._builder = builder
        self._writer = writer
        self._health = health
        self._clock = clock
        self._hb = settings.heartbeat
        self._backoff_settings = settings.backoff
        self._backoff = Backoff(settings.backoff, rng)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ctx = SocketContext(role.value, f"{role.value}-0", 0)
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Response]] = {}
        self._opened = asyncio.Event()
        self._close_reason: tuple[HealthReason, str] | None = None
        self._last_frame = 0.0
        self._last_recv_ts: int | None = None
        self._paused = False
        self._quota_shutdown = False
        self.ready = asyncio.Event()
        self.ready_hooks: list[ReadyHook] = []
        self.lost_hooks: list[LostHook] = []
        self.epoch = 0
        self.frames = 0
        self.reconnects = 0
        self.last_loss: LinkLoss | None = None
        self._link_key = f"link.{role.value}"
        self._was_ready = False
        health.raise_condition(self._link_key, HealthReason.CONNECTING, detail=f"{role.value} socket connecting")

    @property
    def context(self) -> SocketContext:
        """The current connection's identity (for facts built outside the reader)."""
        return self._ctx

    # -- the supervisor -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve, reconnect with bounded backoff; PA_DOWN after the give-up window."""
        attempt = 0
        down_since = self._clock.monotonic()
        while True:
            if not self._writer.has_room:
                # The outbox is full (U is not keeping up): a new connection's reader would pause on its first
                # frame and the handshake time out, again and again. Connect once there is room.
                await self._writer.wait_for_room()
            loss = await self._session()
            if self.ready.is_set() or (loss.epoch and self._was_ready):
                attempt = 0
                down_since = self._clock.monotonic()
            self.ready.clear()
            self._fail_pending(ConnectionLost(f"{self.role.value} socket lost: {loss.detail}"))
            self.last_loss = loss
            if loss.epoch:
                self._report_loss(loss)
            self._health.raise_condition(
                self._link_key,
                loss.reason,
                HealthState.DEGRADED,
                detail=f"{self.role.value} socket: {loss.detail}; reconnecting",
            )
            if self._clock.monotonic() - down_since >= self._backoff_settings.give_up_after_s:
                self._health.raise_condition(
                    f"{self._link_key}.gave_up",
                    HealthReason.GAVE_UP,
                    HealthState.DOWN,
                    detail=(
                        f"{self.role.value} socket down for more than {self._backoff_settings.give_up_after_s:.0f} s; "
                        "still retrying every "
                        f"{self._backoff_settings.max_s:.0f} s - halt trading and check Tradovate / the network"
                    ),
                )
            delay = self._backoff_settings.max_s if self._quota_shutdown else self._backoff.delay(attempt)
            # Locked out (429 / captcha): every connect would authorize against Tradovate for nothing; wait it out.
            delay = max(delay, self._budget.lockout_remaining)
            self._quota_shutdown = False
            attempt += 1
            _log.info("reconnect_wait", socket=self.role.value, attempt=attempt, delay_s=round(delay, 3))
            await self._clock.sleep(delay)
            self.reconnects += 1

    def _report_loss(self, loss: LinkLoss) -> None:
        detail = f"{self.role.value} socket lost ({loss.detail}); per-stream gap facts follow on reconnect"
        self._builder.gap(
            self._ctx, loss.lost_ts, loss.gap(self.role.value, Stream.CONNECTION.value, backfill="none", detail=detail)
        )
        for hook in self.lost_hooks:
            hook(self, loss)

    # -- one connection -----------------------------------------------------------------------------

    async def _session(self) -> LinkLoss:
        self._was_ready = False
        self._close_reason = None
        self._opened.clear()
        epoch = 0
        reader: asyncio.Task[None] | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            token = await (self._tokens.md_token() if self.role is Role.MD else self._tokens.access_token())
            ws = await self._http.ws_connect(
                self.url, autoping=True, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=1.0)
            )
        except (AuthFailed, CaptchaRequired, RateLimited) as exc:
            # Health already says PA_DOWN with what to do; retrying quickly would make it worse.
            self._quota_shutdown = True
            return self._loss(HealthReason.AUTH_FAILED, str(exc), 0)
        except (aiohttp.ClientError, OSError, TradovateError) as exc:
            return self._loss(HealthReason.SOCKET_CLOSED, f"connect failed: {type(exc).__name__}: {exc}", 0)
        self.epoch += 1
        epoch = self.epoch
        self._ws = ws
        self._ctx = SocketContext(self.role.value, f"{self.role.value}-{epoch}", epoch)
        self._next_id = 0
        self._last_frame = self._clock.monotonic()
        try:
            reader = asyncio.create_task(self._read(ws), name=f"{self.role.value}-reader")
            tasks = [
                asyncio.create_task(self._heartbeat(ws), name=f"{self.role.value}-heartbeat"),
                asyncio.create_task(self._watchdog(ws), name=f"{self.role.value}-watchdog"),
            ]
            await self._handshake(reader, token)
            for hook in self.ready_hooks:
                await self._until_reader_ends(reader, hook(self, epoch))
            self.ready.set()
            self._was_ready = True
            self._health.clear(self._link_key)
            self._health.clear(f"{self._link_key}.gave_up")
            self._health.clear(f"{self._link_key}.shutdown")
            _log.info("socket_ready", socket=self.role.value, epoch=epoch, connection_id=self._ctx.connection_id)
            await reader
        except Unauthorized as exc:
            self._tokens.invalidate(token)
            self._close_reason = self._close_reason or (HealthReason.TOKEN_EXPIRED, str(exc))
        except (RequestTimeout, ConnectionLost, NotConnected, PenaltyWait, PenaltyTicket) as exc:
            self._close_reason = self._close_reason or (HealthReason.SOCKET_CLOSED, f"setup failed: {exc}")
        except (RateLimited, CaptchaRequired) as exc:
            self._quota_shutdown = True
            self._close_reason = self._close_reason or (HealthReason.RATE_LIMITED, str(exc))
        except TradovateError as exc:  # e.g. a subscription or sync answered with an error status
            # The connection is not usable as configured: close it and reconnect (reported, never silent).
            self._close_reason = self._close_reason or (HealthReason.SOCKET_CLOSED, f"setup failed: {exc}")
        except Exception as exc:  # a fault no layer expected (a bug, input nobody foresaw): restart this socket only
            if not isinstance(exc, ReaderFault):
                _log.exception("socket_fault", socket=self.role.value, epoch=epoch)
            self._close_reason = self._close_reason or (
                HealthReason.SOCKET_CLOSED,
                f"fault: {type(exc).__name__}: {exc}",
            )
        finally:
            self.ready.clear()
            for task in tasks:
                task.cancel()
            if reader is not None and not reader.done():
                reader.cancel()
            await asyncio.gather(*tasks, *([reader] if reader else []), return_exceptions=True)
            with contextlib.suppress(Exception):
                await ws.close()
            self._ws = None
            self._builder.forget_connection(self._ctx.connection_id)  # its requests and charts died with it
        reason, detail = self._close_reason or (HealthReason.SOCKET_CLOSED, "closed by the platform")
        return self._loss(reason, detail, epoch)

    def _loss(self, reason: HealthReason, detail: str, epoch: int) -> LinkLoss:
        return LinkLoss(reason, detail, epoch, self._last_recv_ts, self._clock.now_ns())

    async def _until_reader_ends(self, reader: asyncio.Task[None], work: Awaitable[Any]) -> Any:
        """Await setup work, but stop at once if the socket dies meanwhile."""
        job = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({job, reader}, return_when=asyncio.FIRST_COMPLETED)
        if job in done:
            return job.result()
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await job
        raise ConnectionLost("socket closed during setup")

    async def _handshake(self, reader: asyncio.Task[None], token: str) -> None:
        opened = asyncio.ensure_future(self._opened.wait())
        try:
            await self._until_reader_ends(reader, self._wait(opened, self._hb.request_timeout_s, "open frame"))
        finally:
            opened.cancel()
        request_id = self._allocate_id()
        future = self._register(request_id)
        ws = self._ws
        assert ws is not None
        try:
            try:
                await ws.send_str(encode_authorize(request_id, token))
            except (ConnectionError, RuntimeError) as exc:  # closed by the platform right after `o`
                raise ConnectionLost(f"socket closed before authorize could be sent: {exc}") from None
            response = await self._until_reader_ends(
                reader, self._wait(future, self._hb.request_timeout_s, "authorize")
            )
        finally:  # also on a timeout: a future left registered would be failed later with nobody awaiting it
            self._pending.pop(request_id, None)
        if response.status != 200:
            raise Unauthorized(f"authorize refused with status {response.status}")

    # -- reading --------------------------------------------------------------------------------------

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        builder = self._builder
        writer = self._writer
        clock = self._clock
        now_ns, monotonic, facts = clock.now_ns, clock.monotonic, builder.messages
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        pending = self._pending
        async for msg in ws:
            kind = msg.type
            if kind is text or kind is binary:
                data = msg.data
            else:
                break
            recv_ts = now_ns()
            self._last_frame = monotonic()
            self._last_recv_ts = recv_ts
            self.frames += 1
            ctx = self._ctx
            try:
                frame = decode_frame(data)
                if type(frame) is MessagesFrame:
                    messages = frame.messages
                    facts(ctx, recv_ts, messages)  # every fact is in the outbox before anyone acts on a response
                    for message in messages:
                        if type(message) is Event:
                            if message.kind == "shutdown":
                                self._on_shutdown(message)
                        elif type(message) is Response:
                            future = pending.get(message.request_id)
                            if future is not None and not future.done():
                                future.set_result(message)
                elif isinstance(frame, HeartbeatFrame):
                    pass
                elif isinstance(frame, OpenFrame):
                    self._opened.set()
                elif isinstance(frame, CloseFrame):
                    builder.frame(ctx, recv_ts, frame)
                    self._close_reason = self._close_reason or (
                        HealthReason.SOCKET_CLOSED,
                        f"platform closed the socket: {frame.code} {frame.reason}",
                    )
                elif isinstance(frame, MalformedFrame):
                    builder.frame(ctx, recv_ts, frame)
            except Exception as exc:
                self._reader_fault(ctx, recv_ts, data, exc)  # raises ReaderFault: this socket restarts
            if not writer.has_room:
                # U is not keeping up and the outbox is full: stop reading so TCP pushes back on Tradovate.
                self._paused = True
                await writer.wait_for_room()
                self._paused = False
                self._last_frame = clock.monotonic()

    def _reader_fault(self, ctx: SocketContext, recv_ts: int, data: str | bytes, exc: Exception) -> NoReturn:
        """A frame that no layer expected: forward it raw, then close this socket (the process goes on)."""
        _log.exception("socket_reader_fault", socket=self.role.value, connection_id=ctx.connection_id)
        error = (
            f"internal fault while handling this frame ({type(exc).__name__}); earlier messages of it may be forwarded"
        )
        raw = data if isinstance(data, str) else data.decode("utf-8", "backslashreplace")
        self._builder.frame(ctx, recv_ts, MalformedFrame(raw, error))
        self._close_reason = (HealthReason.SOCKET_CLOSED, f"reader fault: {type(exc).__name__}: {exc}")
        raise ReaderFault(str(exc)) from exc

    def _on_shutdown(self, event: Event) -> None:
        notice = shutdown_head(event.d)
        code = notice.reason_code if notice is not None else None
        quota = code in {"ConnectionQuotaReached", "IPQuotaReached"}
        reason = HealthReason.SHUTDOWN_QUOTA if quota else HealthReason.SHUTDOWN_MAINTENANCE
        detail = f"Tradovate announced a shutdown of the {self.role.value} socket: {code or 'no reason code'}"
        if quota:
            # The oldest connection's token is revoked when a quota is hit (partner docs connection-overview).
            self._quota_shutdown = True
            self._tokens.invalidate()
            detail += " (too many connections for this user/IP: close other sessions)"
        self._close_reason = (reason, detail)
        self._health.raise_condition(f"{self._link_key}.shutdown", reason, HealthState.DEGRADED, detail=detail)
        _log.warning("platform_shutdown", socket=self.role.value, reason_code=code)

    # -- keeping alive --------------------------------------------------------------------------------

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            await self._clock.sleep(self._hb.client_interval_s)
            try:
                await ws.send_str(HEARTBEAT)
            except (ConnectionError, RuntimeError):
                return

    async def _watchdog(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        check = min(1.0, self._hb.silence_timeout_s / 4)
        while True:
            await self._clock.sleep(check)
            silent = self._clock.monotonic() - self._last_frame
            if not self._paused and silent > self._hb.silence_timeout_s:
                self._close_reason = (
                    HealthReason.HEARTBEAT_SILENCE,
                    f"no frame from the {self.role.value} socket for {silent:.1f} s "
                    f"(bound {self._hb.silence_timeout_s:.1f} s)",
                )
                _log.warning("socket_silent", socket=self.role.value, silent_s=round(silent, 2))
                with contextlib.suppress(Exception):
                    await ws.close()
                return

    # -- requests ---------------------------------------------------------------------------------------

    def _allocate_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _register(self, request_id: int) -> asyncio.Future[Response]:
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        return future

    def _fail_pending(self, error: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    async def _wait(self, future: asyncio.Future[Any], timeout_s: float, what: str) -> Any:
        sleeper = asyncio.ensure_future(self._clock.sleep(timeout_s))
        try:
            await asyncio.wait({future, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
        if future.done():
            return future.result()
        raise RequestTimeout(what, timeout_s)

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
        """Send one request and return its response (status 200 after any penalty wait).

        Raises NotConnected (nothing sent), RequestTimeout / ConnectionLost (sent, effect unknown),
        RateLimited (429), PenaltyTicket (a mutating request was penalized: not processed, not re-sent).
        """
        timeout = timeout_s if timeout_s is not None else self._hb.request_timeout_s
        while True:
            if self._ws is None or (require_ready and not self.ready.is_set()):
                raise NotConnected(f"{self.role.value} socket is not connected")
            try:
                await self._budget.acquire(wait=not mutating)
            except (PenaltyWait, RateLimited, CaptchaRequired) as exc:
                if mutating:  # an order must not wait silently, and nothing went out
                    raise NotSent(f"{endpoint} not sent: {exc}", exc) from None
                raise
            ws = self._ws
            if ws is None or ws.closed:
                raise NotConnected(f"{self.role.value} socket is not connected")
            request_id = self._allocate_id()
            future = self._register(request_id)
            if route is not None:
                self._builder.requests[(self._ctx.connection_id, request_id)] = route
            try:
                await ws.send_str(encode_request(endpoint, request_id, query, body))
            except (ConnectionError, RuntimeError) as exc:
                self._pending.pop(request_id, None)
                raise NotConnected(f"{self.role.value} socket closed before sending: {exc}") from None
            try:
                response: Response = await self._wait(future, timeout, endpoint)
            finally:
                self._pending.pop(request_id, None)
            if response.status == 429:
                raise self._budget.rate_limited(endpoint)
            if response.status == 401:
                self._tokens.invalidate()
                raise Unauthorized(f"{endpoint}: 401")
            penalty = parse_penalty(response.d) if response.status == 200 else None
            if penalty is None:
                return response
            if penalty.captcha:
                raise self._budget.captcha(endpoint)
            self._budget.penalty(penalty.wait_s, endpoint)
            if mutating:
                raise PenaltyTicket(endpoint, penalty.wait_s)
            if penalty.ticket is not None:  # the next pass waits `p-time` in `acquire`, then re-sends
                body = with_ticket(body or b"{}", penalty.ticket)
