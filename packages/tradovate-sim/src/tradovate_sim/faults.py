"""Fault injection: every fault as a Python method, and `apply({"kind": .., ...})` for schedules and HTTP.

Socket faults act on the connections open when the fault fires (`target` = `md`, `trading`, `all` or a
connection id). Request faults (429, penalty, order-reply delay) are armed for the next N matching requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tradovate_sim.auth import Authenticator
from tradovate_sim.connection import ConnectionRegistry, SimConnection
from tradovate_sim.wire import event_message

ORDER_ENDPOINTS = frozenset(
    {
        "order/placeorder",
        "order/modifyorder",
        "order/cancelorder",
        "order/liquidateposition",
        "orderstrategy/startorderstrategy",
    }
)
SHUTDOWN_REASONS = frozenset({"Maintenance", "ConnectionQuotaReached", "IPQuotaReached"})
# Spellings the brief and people use for the same fault.
KIND_ALIASES = {
    "close_socket": "close_sockets",
    "drop_socket": "close_sockets",
    "silent": "silence",
    "revoke_token": "revoke_tokens",
    "expire_token": "expire_tokens",
    "penalty_ticket": "penalty",
    "http_429": "rate_limit",
    "too_many_requests": "rate_limit",
    "duplicate_frame": "duplicate_frames",
    "reorder": "reorder_frames",
    "cobatch": "co_batch",
    "malformed": "malformed_frame",
    "delay_order_reply": "delay_order_replies",
    "drop_order_reply": "drop_order_replies",
    "slow_socket": "slow",
    "refuse": "refuse_connections",
}
DEFAULT_MALFORMED = 'a[{"e":"md","d":{"quotes":[{"timestamp":"2026-11-25T14:30:00.000Z","contractId":'


class FaultError(ValueError):
    """A fault request that cannot be applied (unknown kind, bad argument)."""


class Listeners(Protocol):
    """The simulator's listening sockets, which `refuse_connections` and `down` take away and give back."""

    async def stop_listener(self, name: str) -> None:
        """Close one listener (`main` or `md`): new connections are refused."""
        ...

    async def start_listener(self, name: str) -> None:
        """Listen again on the same port."""
        ...

    def drop_connections(self, name: str) -> None:
        """Drop every open TCP connection of a listener (HTTP keep-alive included)."""
        ...


@dataclass
class ArmedRequestFault:
    """A request fault waiting for its next `remaining` matching requests."""

    remaining: int
    endpoint: str | None = None
    channel: str | None = None
    seconds: float = 0.0
    captcha: bool = False
    never: bool = False

    def matches(self, channel: str, endpoint_key: str) -> bool:
        """True for a request this fault applies to."""
        return (self.endpoint is None or self.endpoint.lower().lstrip("/") == endpoint_key) and (
            self.channel is None or self.channel == "all" or self.channel == channel
        )


def _take(armed: list[ArmedRequestFault], channel: str, endpoint_key: str) -> ArmedRequestFault | None:
    for fault in armed:
        if fault.remaining > 0 and fault.matches(channel, endpoint_key):
            fault.remaining -= 1
            if fault.remaining == 0:
                armed.remove(fault)
            return fault
    return None


@dataclass
class RequestFaults:
    """Armed request faults; the API consults them for every request."""

    rate_limits: list[ArmedRequestFault] = field(default_factory=list)
    penalties: list[ArmedRequestFault] = field(default_factory=list)
    order_replies: list[ArmedRequestFault] = field(default_factory=list)

    def take_rate_limit(self, channel: str, endpoint_key: str) -> bool:
        """Consume one armed 429 for this request."""
        return _take(self.rate_limits, channel, endpoint_key) is not None

    def take_penalty(self, channel: str, endpoint_key: str) -> ArmedRequestFault | None:
        """Consume one armed penalty for this request."""
        return _take(self.penalties, channel, endpoint_key)

    def take_order_reply(self, channel: str, endpoint_key: str) -> ArmedRequestFault | None:
        """Consume one armed reply delay/drop for this order request."""
        if endpoint_key not in ORDER_ENDPOINTS:
            return None
        return _take(self.order_replies, channel, endpoint_key)

    def clear(self) -> None:
        """Disarm everything."""
        self.rate_limits.clear()
        self.penalties.clear()
        self.order_replies.clear()


@dataclass(frozen=True)
class FaultRecord:
    """One applied fault, for the test or soak report."""

    kind: str
    arguments: Mapping[str, Any]
    affected: int


class FaultInjector:
    """The faults of tracker issue 3; methods are named by fault kind."""

    def __init__(
        self,
        registry: ConnectionRegistry,
        auth: Authenticator,
        request_faults: RequestFaults,
        listeners: Listeners,
    ) -> None:
        self._registry = registry
        self._auth = auth
        self._requests = request_faults
        self._listeners = listeners
        self._timers: set[asyncio.Task[None]] = set()
        self.log: list[FaultRecord] = []

    def _note(self, kind: str, affected: int, **arguments: Any) -> int:
        self.log.append(FaultRecord(kind, arguments, affected))
        return affected

    def _targets(self, target: str | int) -> list[SimConnection]:
        try:
            return self._registry.matching(target)
        except ValueError as error:
            raise FaultError(str(error)) from error

    async def close_sockets(
        self, target: str | int = "all", code: int = 3000, reason: str = "Go away!", abrupt: bool = False
    ) -> int:
        """Close sockets with `c[code,"reason"]` (or drop the TCP connection when `abrupt`)."""
        targets = self._targets(target)
        await asyncio.gather(*(conn.close(code, reason, abrupt=abrupt) for conn in targets))
        return self._note("close_sockets", len(targets), target=target, code=code, reason=reason, abrupt=abrupt)

    def silence(self, target: str | int = "all", seconds: float | None = None, drop: bool = False) -> int:
        """Send nothing (no `h`, no data) on open sockets, for `seconds` or until `end_silence`.

        Held frames are delivered when the silence ends, unless `drop` discards them.
        """
        targets = self._targets(target)
        for conn in targets:
            conn.set_silent(True, drop=drop, seconds=seconds)
        return self._note("silence", len(targets), target=target, seconds=seconds, drop=drop)

    def end_silence(self, target: str | int = "all") -> int:
        """End a silence now."""
        targets = self._targets(target)
        for conn in targets:
            conn.set_silent(False)
        return self._note("end_silence", len(targets), target=target)

    async def shutdown(
        self,
        target: str | int = "all",
        reason_code: str = "Maintenance",
        reason: str | None = None,
        close: bool = True,
        close_code: int = 3000,
        revoke_token: bool = False,
    ) -> int:
        """Send a `shutdown` event (WSMD; DOCS), then close the socket unless `close` is False."""
        if reason_code not in SHUTDOWN_REASONS:
            raise FaultError(f"reason_code must be one of {sorted(SHUTDOWN_REASONS)}, got {reason_code!r}")
        data: dict[str, Any] = {"reasonCode": reason_code}
        if reason is not None:
            data["reason"] = reason
        targets = self._targets(target)
        for conn in targets:
            conn.send_messages([event_message("shutdown", data)])
            # Exceeding a connection quota revokes the oldest connection's token (P connection-overview).
            if revoke_token and conn.token is not None:
                self._auth.revoke(conn.token)
        if close:
            for conn in targets:
                conn.close_when_sent(close_code, reason_code)
        return self._note("shutdown", len(targets), target=target, reason_code=reason_code, close=close)

    def revoke_tokens(self) -> int:
        """Revoke every issued token: REST answers 401 and `authorize` fails; open sockets stay open."""
        return self._note("revoke_tokens", self._auth.revoke())

    def expire_tokens(self) -> int:
        """Expire every issued token now (as if 90 minutes had passed)."""
        return self._note("expire_tokens", self._auth.expire())

    def penalty(
        self,
        n: int = 1,
        seconds: float = 1.0,
        captcha: bool = False,
        endpoint: str | None = None,
        channel: str | None = None,
    ) -> int:
        """Answer the next n matching requests with a p-ticket instead of their result."""
        self._requests.penalties.append(ArmedRequestFault(n, endpoint, channel, seconds=seconds, captcha=captcha))
        return self._note("penalty", n, seconds=seconds, captcha=captcha, endpoint=endpoint, channel=channel)

    def rate_limit(self, n: int = 1, endpoint: str | None = None, channel: str | None = None) -> int:
        """Answer the next n matching requests with 429 (HTTP: empty body; WS: `{"s":429,"i":id}`)."""
        self._requests.rate_limits.append(ArmedRequestFault(n, endpoint, channel))
        return self._note("rate_limit", n, endpoint=endpoint, channel=channel)

    def delay_order_replies(self, seconds: float, n: int = 1, channel: str | None = None) -> int:
        """Execute the next n order commands at once but answer them only after `seconds`."""
        self._requests.order_replies.append(ArmedRequestFault(n, None, channel, seconds=seconds))
        return self._note("delay_order_replies", n, seconds=seconds, channel=channel)

    def drop_order_replies(self, n: int = 1, channel: str | None = None) -> int:
        """Execute the next n order commands but never answer them (outcome unknown to the client)."""
        self._requests.order_replies.append(ArmedRequestFault(n, None, channel, never=True))
        return self._note("drop_order_replies", n, channel=channel)

    def duplicate_frames(self, target: str | int = "all", n: int = 1) -> int:
        """Send each of the next n data frames twice."""
        targets = self._targets(target)
        for conn in targets:
            conn.shaping.duplicate_next += n
        return self._note("duplicate_frames", len(targets), target=target, n=n)

    def reorder_frames(self, target: str | int = "all", n: int = 1) -> int:
        """Swap the next two data frames (n times)."""
        targets = self._targets(target)
        for conn in targets:
            conn.shaping.reorder_next += n
        return self._note("reorder_frames", len(targets), target=target, n=n)

    def co_batch(self, target: str | int = "trading", n: int = 1) -> int:
        """Put the next response together with the events queued with it into one `a[...]` frame."""
        targets = self._targets(target)
        for conn in targets:
            conn.shaping.co_batch_next += n
        return self._note("co_batch", len(targets), target=target, n=n)

    def malformed_frame(self, target: str | int = "all", text: str | None = None) -> int:
        """Send a frame that is not valid Tradovate framing (default: a truncated `a[...]`)."""
        targets = self._targets(target)
        for conn in targets:
            conn.send_raw(text if text is not None else DEFAULT_MALFORMED)
        return self._note("malformed_frame", len(targets), target=target)

    def slow(self, target: str | int = "all", delay_s: float = 0.05) -> int:
        """Pause `delay_s` after every frame (0 ends it)."""
        targets = self._targets(target)
        for conn in targets:
            conn.shaping.delay_per_frame_s = max(0.0, delay_s)
        return self._note("slow", len(targets), target=target, delay_s=delay_s)

    async def refuse_connections(self, listener: str = "all", seconds: float | None = None) -> int:
        """Take a listener down (`main`, `md` or `all`): new connections are refused; open ones stay."""
        names = _listener_names(listener)
        for name in names:
            await self._listeners.stop_listener(name)
        if seconds is not None:
            self._later(self._accept_after(names, seconds))
        return self._note("refuse_connections", len(names), listener=listener, seconds=seconds)

    async def _accept_after(self, names: list[str], seconds: float) -> None:
        await asyncio.sleep(seconds)
        for name in names:
            await self._listeners.start_listener(name)

    async def accept_connections(self, listener: str = "all") -> int:
        """Bring listeners back."""
        names = _listener_names(listener)
        for name in names:
            await self._listeners.start_listener(name)
        return self._note("accept_connections", len(names), listener=listener)

    async def down(self, seconds: float | None = None) -> int:
        """The whole platform unreachable: drop every socket and refuse connections (incl. REST and control)."""
        targets = self._registry.all()
        for name in ("main", "md"):
            await self._listeners.stop_listener(name)
        await asyncio.gather(*(conn.close(1006, "down", abrupt=True) for conn in targets))
        for name in ("main", "md"):
            self._listeners.drop_connections(name)
        if seconds is not None:
            self._later(self._accept_after(["main", "md"], seconds))
        return self._note("down", len(targets), seconds=seconds)

    async def up(self) -> int:
        """End `down`."""
        return await self.accept_connections("all")

    def clear(self) -> int:
        """Disarm request faults and end frame shaping (silence, slow, duplicate, reorder, co-batch)."""
        self._requests.clear()
        connections = self._registry.all()
        for conn in connections:
            conn.set_silent(False)
            conn.shaping.delay_per_frame_s = 0.0
            conn.shaping.duplicate_next = conn.shaping.reorder_next = conn.shaping.co_batch_next = 0
        return self._note("clear", len(connections))

    def _later(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def stop(self) -> None:
        """Cancel pending fault timers."""
        for task in list(self._timers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def apply(self, spec: Mapping[str, Any]) -> int:
        """Apply a fault given as JSON: `{"kind": "<method name>", ...its keyword arguments}`."""
        arguments = dict(spec)
        kind = str(arguments.pop("kind", ""))
        kind = KIND_ALIASES.get(kind, kind)
        method = getattr(self, kind, None) if kind in FAULT_KINDS else None
        if method is None:
            raise FaultError(f"unknown fault kind {spec.get('kind')!r}; known: {sorted(FAULT_KINDS)}")
        try:
            inspect.signature(method).bind(**arguments)
        except TypeError as error:
            raise FaultError(f"{kind}: {error}") from error
        result = method(**arguments)
        if inspect.isawaitable(result):
            result = await result
        return int(result)


FAULT_KINDS = frozenset(
    {
        "close_sockets",
        "silence",
        "end_silence",
        "shutdown",
        "revoke_tokens",
        "expire_tokens",
        "penalty",
        "rate_limit",
        "delay_order_replies",
        "drop_order_replies",
        "duplicate_frames",
        "reorder_frames",
        "co_batch",
        "malformed_frame",
        "slow",
        "refuse_connections",
        "accept_connections",
        "down",
        "up",
        "clear",
    }
)


def _listener_names(listener: str) -> list[str]:
    if listener == "all":
        return ["main", "md"]
    if listener in ("main", "md"):
        return [listener]
    raise FaultError(f"listener must be 'main', 'md' or 'all', got {listener!r}")
