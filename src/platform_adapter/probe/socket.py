"""A raw Tradovate WebSocket for the probe: every frame recorded, requests through the PA's own session.

The PA's `TradovateSocket` reacts (it reconnects, resubscribes, backfills, closes on silence); the
probe must instead *observe* Tradovate, one controlled step at a time, so it drives the socket by
hand: no reconnect, no silence bound, heartbeats only once asked for. Its protocol is the PA's:
the same sans-I/O `TradovateSession` and the same `SessionWire` request path through the shared
`RequestBudget` — a penalty ticket on a read is waited out and re-sent with its ticket, a 429 or a
captcha locks every request out, a mutating request is never re-sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from platform_adapter.core.clock import Clock
from platform_adapter.probe.capture import CaptureWriter
from platform_adapter.tradovate.budget import RequestBudget
from platform_adapter.tradovate.errors import NotConnected
from platform_adapter.tradovate.protocol import (
    CloseFrame,
    Message,
    MessagesFrame,
    Response,
    TradovateSession,
    encode_body,
)
from platform_adapter.tradovate.wire import SessionWire


@dataclass(frozen=True, slots=True)
class Received:
    """One message read off the socket, with the monotonic time its frame arrived."""

    at: float
    message: Message


class ProbeSocket:
    """One connection (no reconnect): open, authorize, request, observe, close."""

    def __init__(
        self,
        socket: str,
        conn: str,
        url: str,
        *,
        http: aiohttp.ClientSession,
        capture: CaptureWriter,
        budget: RequestBudget,
        clock: Clock,
        request_timeout_s: float,
        heartbeat_s: float,
    ) -> None:
        self.socket = socket
        self.conn = conn
        self.url = url
        self._http = http
        self._capture = capture
        self._budget = budget
        self._clock = clock
        self._timeout_s = request_timeout_s
        self._heartbeat_s = heartbeat_s
        self._wire: SessionWire | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._arrived = asyncio.Event()
        self.received: list[Received] = []
        self.closed = asyncio.Event()
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.close_frame: CloseFrame | None = None
        self.closed_by_us = False
        self.last_sent_at: float | None = None

    async def open(self) -> None:
        """Connect and wait for the `o` frame."""
        ws = await self._http.ws_connect(self.url, autoping=True, max_msg_size=0)
        self._capture.ws_event("open", "send", self.socket, self.conn, None)
        # No heartbeats until asked for, and no silence bound: the probe watches what the server does.
        session: TradovateSession[Any] = TradovateSession(self._clock.monotonic(), open_timeout_s=self._timeout_s)
        self._wire = wire = SessionWire(self.conn, ws, session, self._clock, self._budget, on_send=self._sending)
        self._tasks.append(asyncio.create_task(self._read(wire), name=f"probe-{self.conn}-reader"))
        self._tasks.append(asyncio.create_task(wire.run_timers(_ignore), name=f"probe-{self.conn}-timers"))
        await wire.opened()

    def start_heartbeats(self) -> None:
        """Send `[]` every `heartbeat_s` (Tradovate drops a client that stays silent)."""
        wire = self._require()
        now = self._clock.monotonic()
        wire.session.start_heartbeats(self._heartbeat_s, now)
        wire.rearm(now + self._heartbeat_s)

    async def authorize(self, token: str) -> Response:
        """Send `authorize` with the token (masked in the capture) and return the answer."""
        return await self._require().authorize(token, self._timeout_s)

    async def request(self, endpoint: str, body: Any = None, *, query: str = "", mutating: bool = False) -> Response:
        """One request through the shared budget, with the PA's penalty rules (`SessionWire.request`)."""
        data = encode_body(body) if body is not None and not isinstance(body, bytes) else body
        wire = self._require()
        return await wire.request(endpoint, timeout_s=self._timeout_s, query=query, body=data, mutating=mutating)

    async def send_raw(self, text: str) -> None:
        """Send a frame as is (recorded)."""
        await self._require().send(text)

    def messages_since(self, index: int) -> list[Received]:
        """Messages received after the first `index` ones."""
        return self.received[index:]

    async def wait_for(
        self, predicate: Callable[[Message], bool], timeout_s: float, *, start: int = 0
    ) -> Received | None:
        """The first message from `start` on that matches, waiting up to `timeout_s`; None if none came."""
        deadline = self._clock.monotonic() + timeout_s
        index = start
        while True:
            while index < len(self.received):
                item = self.received[index]
                index += 1
                if predicate(item.message):
                    return item
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0 or self.closed.is_set():
                return None
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()

    async def observe(self, seconds: float) -> None:
        """Let the socket run for `seconds` (or until it closes)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await self.closed.wait()

    async def close(self) -> None:
        """Close from our side (recorded as a client close) and stop the background tasks."""
        wire = self._wire
        if wire is not None and not wire.ws.closed and not self.closed.is_set():
            self.closed_by_us = True
            with contextlib.suppress(Exception):
                await wire.ws.close()
        await self._stop()

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._mark_closed()

    def _mark_closed(self) -> None:
        if self.closed.is_set():
            return
        wire = self._wire
        self.close_code = wire.ws.close_code if wire is not None else None
        self.closed_at = self._clock.monotonic()
        self.closed.set()
        self._arrived.set()
        self._capture.ws_event(
            "close", "send" if self.closed_by_us else "recv", self.socket, self.conn, self.close_code
        )

    def _require(self) -> SessionWire:
        wire = self._wire
        if wire is None or self.closed.is_set():
            raise NotConnected(f"{self.conn} is not open")
        return wire

    def _sending(self, text: str) -> None:
        self._capture.ws_frame("send", self.socket, self.conn, text)
        self.last_sent_at = self._clock.monotonic()

    async def _read(self, wire: SessionWire) -> None:
        session = wire.session
        try:
            async for msg in wire.ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                text: str = msg.data
                at = self._clock.monotonic()
                self._capture.ws_frame("recv", self.socket, self.conn, text)
                frame = session.receive(text, at)
                if isinstance(frame, MessagesFrame):
                    self.received.extend(Received(at, message) for message in frame.messages)
                elif isinstance(frame, CloseFrame):
                    self.close_frame = frame
                wire.settle(session.take_events(), _ignore)
                self._arrived.set()
        finally:
            wire.end(_ignore)
            self._mark_closed()


def _ignore(event: object) -> None:
    """Notices (close, shutdown) are already in what the probe records; it reacts to none of them."""
