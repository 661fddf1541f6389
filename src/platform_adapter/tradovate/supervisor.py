"""Keeps one Tradovate socket connected: reconnects with bounded backoff, reports health and every loss.

Each loss of a connection that was made becomes a gap fact on the `connection` stream at once (per-stream
gap facts follow from the ready hooks once reconnected) and is passed to the socket's lost hooks. The link
is PA_DEGRADED while down and PA_DOWN (halt) after `give_up_after_s`; it keeps retrying every `max_s`.
A refused login, a 429 / captcha lock-out or a connection-quota shutdown waits the longest backoff (or the
lock-out) instead of authorizing against Tradovate again and again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from platform_adapter.config import BackoffSettings
from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import GapDetail, HealthReason, HealthState, Stream
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.backoff import Backoff
from platform_adapter.tradovate.budget import RequestBudget
from platform_adapter.tradovate.connection import TradovateSocket
from platform_adapter.tradovate.errors import (
    AuthFailed,
    CaptchaRequired,
    ConnectFailed,
    RateLimited,
    ReaderFault,
    TradovateError,
    Unauthorized,
)
from platform_adapter.tradovate.facts import FactBuilder
from platform_adapter.tradovate.protocol.session import Closed, SessionEvent, ShutdownAnnounced, Silent

_log = get_logger("pa.socket")
_LOCKED_OUT = (AuthFailed, CaptchaRequired, RateLimited)


@dataclass(frozen=True, slots=True)
class LinkLoss:
    """How a connection ended."""

    reason: HealthReason
    detail: str
    epoch: int  # 0: no connection was made
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


LostHook = Callable[[TradovateSocket, LinkLoss], None]


class SocketSupervisor:
    """Runs a `TradovateSocket` forever: `run` connects, serves, and reconnects until cancelled."""

    def __init__(
        self,
        socket: TradovateSocket,
        *,
        builder: FactBuilder,
        budget: RequestBudget,
        health: HealthMonitor,
        clock: Clock,
        backoff: BackoffSettings,
        rng: random.Random | None = None,
    ) -> None:
        self.socket = socket
        self._builder, self._budget, self._health, self._clock = builder, budget, health, clock
        self._settings = backoff
        self._backoff = Backoff(backoff, rng)
        self._key = f"link.{socket.role.value}"
        self._was_ready = False
        self._close_reason: tuple[HealthReason, str] | None = None  # why the current connection is ending
        self.lost_hooks: list[LostHook] = []
        self.reconnects = 0
        self.last_loss: LinkLoss | None = None
        health.raise_condition(self._key, HealthReason.CONNECTING, detail=f"{socket.role.value} socket connecting")

    async def run(self) -> None:
        """Connect, serve, reconnect with bounded backoff; PA_DOWN after the give-up window."""
        role, settings, writer = self.socket.role.value, self._settings, self._builder.writer
        attempt = 0
        down_since = self._clock.monotonic()
        while True:
            if not writer.has_room:
                # The outbox is full (U is not keeping up): a new connection's reader would pause on its first
                # frame and the handshake time out, again and again. Connect once there is room.
                await writer.wait_for_room()
            loss, locked_out = await self._connect_once()
            if self._was_ready:
                attempt = 0
                down_since = self._clock.monotonic()
            self.last_loss = loss
            if loss.epoch:
                self._report_loss(loss)
            detail = f"{role} socket: {loss.detail}; reconnecting"
            self._health.raise_condition(self._key, loss.reason, HealthState.DEGRADED, detail=detail)
            if self._clock.monotonic() - down_since >= settings.give_up_after_s:
                self._health.raise_condition(
                    f"{self._key}.gave_up",
                    HealthReason.GAVE_UP,
                    HealthState.DOWN,
                    detail=(
                        f"{role} socket down for more than {settings.give_up_after_s:.0f} s; still retrying every "
                        f"{settings.max_s:.0f} s - halt trading and check Tradovate / the network"
                    ),
                )
            delay = settings.max_s if locked_out else self._backoff.delay(attempt)
            # Locked out (429 / captcha): every connect would authorize against Tradovate for nothing; wait it out.
            delay = max(delay, self._budget.lockout_remaining)
            attempt += 1
            _log.info("reconnect_wait", socket=role, attempt=attempt, delay_s=round(delay, 3))
            await self._clock.sleep(delay)
            self.reconnects += 1

    async def _connect_once(self) -> tuple[LinkLoss, bool]:
        """One connection, start to end: how it ended, and whether Tradovate refuses us for a while."""
        socket = self.socket
        self._was_ready = False
        self._close_reason = None
        reason, detail = HealthReason.SOCKET_CLOSED, "closed by the platform"
        locked_out = False
        try:
            await socket.serve(self._on_ready, self._on_notice)
        except ConnectFailed as exc:
            # Health already says PA_DOWN with what to do for a refused login or a lock-out; retrying fast is worse.
            if isinstance(exc.cause, _LOCKED_OUT):
                return self._loss(HealthReason.AUTH_FAILED, str(exc.cause), 0), True
            return self._loss(HealthReason.SOCKET_CLOSED, f"connect failed: {exc}", 0), False
        except Unauthorized as exc:
            reason, detail = HealthReason.TOKEN_EXPIRED, str(exc)
        except (RateLimited, CaptchaRequired) as exc:
            reason, detail, locked_out = HealthReason.RATE_LIMITED, str(exc), True
        except ReaderFault as exc:
            # The frame was forwarded raw; it is why the connection ended, whatever was said before.
            self._close_reason = (HealthReason.SOCKET_CLOSED, str(exc))
        except TradovateError as exc:  # a timeout, a lost socket, a subscription or sync answered with an error
            # The connection is not usable as configured: close it and reconnect (reported, never silent).
            detail = f"setup failed: {exc}"
        except Exception as exc:  # a fault no layer expected (a bug, input nobody foresaw): restart this socket only
            _log.exception("socket_fault", socket=socket.role.value, epoch=socket.epoch)
            detail = f"fault: {type(exc).__name__}: {exc}"
        finally:
            # Its requests and charts died with it.
            self._builder.correlation.forget_connection(socket.context.connection_id)
        reason, detail = self._close_reason or (reason, detail)
        locked_out = locked_out or reason is HealthReason.SHUTDOWN_QUOTA
        return self._loss(reason, detail, socket.epoch), locked_out

    def _on_ready(self) -> None:
        self._was_ready = True
        for key in (self._key, f"{self._key}.gave_up", f"{self._key}.shutdown"):
            self._health.clear(key)
        socket = self.socket
        _log.info(
            "socket_ready", socket=socket.role.value, epoch=socket.epoch, connection_id=socket.context.connection_id
        )

    def _on_notice(self, event: SessionEvent[Any]) -> None:
        """What the platform said about the connection's end, as it happened."""
        role = self.socket.role.value
        if type(event) is Closed:
            detail = f"platform closed the socket: {event.code} {event.reason}"
            self._close_reason = self._close_reason or (HealthReason.SOCKET_CLOSED, detail)
        elif type(event) is Silent:
            detail = f"no frame from the {role} socket for {event.silent_s:.1f} s (bound {event.bound_s:.1f} s)"
            self._close_reason = (HealthReason.HEARTBEAT_SILENCE, detail)
            _log.warning("socket_silent", socket=role, silent_s=round(event.silent_s, 2))
        elif type(event) is ShutdownAnnounced:
            reason = HealthReason.SHUTDOWN_QUOTA if event.quota else HealthReason.SHUTDOWN_MAINTENANCE
            detail = f"Tradovate announced a shutdown of the {role} socket: {event.reason_code or 'no reason code'}"
            if event.quota:
                detail += " (too many connections for this user/IP: close other sessions)"
            self._close_reason = (reason, detail)
            self._health.raise_condition(f"{self._key}.shutdown", reason, HealthState.DEGRADED, detail=detail)
            _log.warning("platform_shutdown", socket=role, reason_code=event.reason_code)

    def _loss(self, reason: HealthReason, detail: str, epoch: int) -> LinkLoss:
        return LinkLoss(reason, detail, epoch, self.socket.last_recv_ts, self._clock.now_ns())

    def _report_loss(self, loss: LinkLoss) -> None:
        socket = self.socket
        role = socket.role.value
        detail = f"{role} socket lost ({loss.detail}); per-stream gap facts follow on reconnect"
        gap = loss.gap(role, Stream.CONNECTION.value, backfill="none", detail=detail)
        self._builder.gap(socket.context, loss.lost_ts, gap)
        for hook in self.lost_hooks:
            hook(socket, loss)
