"""A raw Tradovate WebSocket for the probe: every frame recorded, requests paced by the shared budget.

The PA's `TradovateSocket` reacts (it reconnects, resubscribes, backfills, closes on silence); the
probe must instead *observe* Tradovate, one controlled step at a time, so it drives the socket by
hand. It speaks through the same sans-I/O codec and obeys the same `RequestBudget` and penalty rules as
the PA: a penalty ticket on a read is waited out and re-sent once with its ticket, a 429 or a captcha
locks every request out, and a mutating request is never re-sent.
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
from platform_adapter.tradovate.connection import PenaltyTicket
from platform_adapter.tradovate.errors import ConnectionLost, NotConnected, RequestTimeout
from platform_adapter.tradovate.protocol import (
    HEARTBEAT,
    CloseFrame,
    Message,
    MessagesFrame,
    OpenFrame,
    Response,
    decode_frame,
    encode_authorize,
    encode_body,
    encode_request,
    parse_penalty,
    with_ticket,
)


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
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._next_id = 0
        self._arrived = asyncio.Event()
        self._opened = asyncio.Event()
        self.received: list[Received] = []
        self.closed = asyncio.Event()
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.close_frame: CloseFrame | None = None
        self.closed_by_us = False
        self.last_sent_at: float | None = None

    async def open(self) -> None:
        """Connect and wait for the `o` frame."""
        self._ws = await self._http.ws_connect(self.url, autoping=True, max_msg_size=0)
        self._capture.ws_event("open", "send", self.socket, self.conn, None)
        self._tasks.append(asyncio.create_task(self._read(self._ws), name=f"probe-{self.conn}-reader"))
        await self._wait_event(self._opened, "open frame")

    def start_heartbeats(self) -> None:
        """Send `[]` every `heartbeat_s` (Tradovate drops a client that stays silent)."""
        self._tasks.append(asyncio.create_task(self._heartbeats(), name=f"probe-{self.conn}-heartbeat"))

    async def authorize(self, token: str) -> Response:
        """Send `authorize` with the token (masked in the capture) and return the answer."""
        request_id, start = self._allocate(), len(self.received)
        await self._send(encode_authorize(request_id, token))
        return await self._response(request_id, "authorize", start)

    async def request(self, endpoint: str, body: Any = None, *, query: str = "", mutating: bool = False) -> Response:
        """One request through the shared budget; a read with a penalty ticket is re-sent once with it."""
        data = encode_body(body) if body is not None and not isinstance(body, bytes) else body
        ticketed = False
        while True:
            await self._budget.acquire(wait=not mutating)
            request_id, start = self._allocate(), len(self.received)
            await self._send(encode_request(endpoint, request_id, query, data))
            response = await self._response(request_id, endpoint, start)
            if response.status == 429:
                raise self._budget.rate_limited(endpoint)
            penalty = parse_penalty(response.d) if response.status == 200 else None
            if penalty is None:
                return response
            if penalty.captcha:
                raise self._budget.captcha(endpoint)
            self._budget.penalty(penalty.wait_s, endpoint)
            if mutating or ticketed or penalty.ticket is None:
                raise PenaltyTicket(endpoint, penalty.wait_s)
            data, ticketed = with_ticket(data or b"{}", penalty.ticket), True

    async def send_raw(self, text: str) -> None:
        """Send a frame as is (recorded)."""
        await self._send(text)

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
        ws = self._ws
        if ws is not None and not ws.closed and not self.closed.is_set():
            self.closed_by_us = True
            with contextlib.suppress(Exception):
                await ws.close()
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
        ws = self._ws
        self.close_code = ws.close_code if ws is not None else None
        self.closed_at = self._clock.monotonic()
        self.closed.set()
        self._arrived.set()
        self._capture.ws_event(
            "close", "send" if self.closed_by_us else "recv", self.socket, self.conn, self.close_code
        )

    def _allocate(self) -> int:
        self._next_id += 1
        return self._next_id

    async def _send(self, text: str) -> None:
        ws = self._ws
        if ws is None or ws.closed or self.closed.is_set():
            raise NotConnected(f"{self.conn} is not open")
        self._capture.ws_frame("send", self.socket, self.conn, text)
        try:
            await ws.send_str(text)
        except (ConnectionError, RuntimeError) as exc:
            raise NotConnected(f"{self.conn} closed before sending: {exc}") from None
        self.last_sent_at = self._clock.monotonic()

    async def _response(self, request_id: int, endpoint: str, start: int) -> Response:
        found = await self.wait_for(
            lambda m: isinstance(m, Response) and m.request_id == request_id, self._timeout_s, start=start
        )
        if found is None:
            if self.closed.is_set():
                raise ConnectionLost(f"{self.conn} closed before answering {endpoint}")
            raise RequestTimeout(endpoint, self._timeout_s)
        assert isinstance(found.message, Response)
        return found.message

    async def _wait_event(self, event: asyncio.Event, what: str) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await event.wait()
        except TimeoutError:
            raise RequestTimeout(what, self._timeout_s) from None

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                text: str = msg.data
                at = self._clock.monotonic()
                self._capture.ws_frame("recv", self.socket, self.conn, text)
                frame = decode_frame(text)
                if isinstance(frame, MessagesFrame):
                    self.received.extend(Received(at, message) for message in frame.messages)
                elif isinstance(frame, OpenFrame):
                    self._opened.set()
                elif isinstance(frame, CloseFrame):
                    self.close_frame = frame
                self._arrived.set()
        finally:
            self._mark_closed()

    async def _heartbeats(self) -> None:
        while True:
            await self._clock.sleep(self._heartbeat_s)
            try:
                await self._send(HEARTBEAT)
            except NotConnected:
                return
