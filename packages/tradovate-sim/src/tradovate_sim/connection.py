"""One simulated WebSocket connection: an ordered outbound queue, shaped by injected faults, and its records.

Everything a connection sends goes through one writer task, so faults that act on frames (silence, slow,
duplicate, reorder, co-batch) apply in one place and the recorder sees frames in their true wire order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from tradovate_sim.recorder import FrameType, Recorder
from tradovate_sim.variants import SOCKJS_HEARTBEAT_S, VariantState
from tradovate_sim.wire import (
    HEARTBEAT_FRAME,
    OPEN_FRAME,
    JsonObject,
    array_frame,
    close_frame,
    dumps,
)

SocketKind = Literal["trading", "md"]


@dataclass
class OutboundShaping:
    """Fault state of one connection's outbound stream."""

    silent: bool = False
    drop_while_silent: bool = False
    delay_per_frame_s: float = 0.0
    duplicate_next: int = 0
    reorder_next: int = 0
    co_batch_next: int = 0
    dropped: int = 0


@dataclass
class _Item:
    frame_type: FrameType
    messages: list[JsonObject] = field(default_factory=list)
    raw: str = ""
    close_code: int = 0

    @property
    def has_response(self) -> bool:
        return any("i" in message for message in self.messages)

    @property
    def has_event(self) -> bool:
        return any("e" in message for message in self.messages)


class SimConnection:
    """A server-side Tradovate socket (trading or market data)."""

    def __init__(
        self,
        conn_id: int,
        kind: SocketKind,
        ws: web.WebSocketResponse,
        recorder: Recorder,
        heartbeat_interval_s: float,
        variants: VariantState,
        abort: Callable[[], None],
        *,
        peer: tuple[str, int] | None = None,
    ) -> None:
        self.id = conn_id
        self.kind: SocketKind = kind
        self.peer = peer  # the client's (host, port): which process is on the other end
        self.user_id: int | None = None
        self.token: str | None = None
        self.shaping = OutboundShaping()
        self._ws = ws
        self._recorder = recorder
        self._abort = abort
        self._heartbeat_interval_s = heartbeat_interval_s
        self._variants = variants
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._pending: deque[_Item] = deque()
        self._audible = asyncio.Event()
        self._audible.set()
        self._lock = asyncio.Lock()
        self._deferred: list[JsonObject] | None = None
        self._silence_timer: asyncio.TimerHandle | None = None
        loop = asyncio.get_running_loop()
        self.opened_at = loop.time()
        self.last_sent = self.opened_at
        self.last_received = self.opened_at
        self._last_heartbeat = self.opened_at
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._tasks = [
            asyncio.create_task(self._write_loop(), name=f"sim-conn-{conn_id}-writer"),
            asyncio.create_task(self._heartbeat_loop(), name=f"sim-conn-{conn_id}-heartbeat"),
        ]

    def __repr__(self) -> str:
        return f"SimConnection(id={self.id}, kind={self.kind!r}, user_id={self.user_id})"

    @property
    def authorized(self) -> bool:
        """True once `authorize` succeeded."""
        return self.user_id is not None

    @property
    def is_closing(self) -> bool:
        """True once a close started."""
        return self.close_code is not None or self._ws.closed

    # Outbound: every public send only enqueues; the writer task writes.

    def send_open(self) -> None:
        """Queue the `o` frame."""
        self._enqueue(_Item("o"))

    def send_events(self, messages: Sequence[JsonObject]) -> None:
        """Queue events, one `a[...]` frame each; held back while this connection's own request runs."""
        if self._deferred is not None:
            self._deferred.extend(messages)
            return
        for message in messages:
            self._enqueue(_Item("a", [message]))

    def send_messages(self, messages: Sequence[JsonObject]) -> None:
        """Queue messages (responses and/or events) together in one `a[...]` frame."""
        if messages:
            self._enqueue(_Item("a", list(messages)))

    def send_raw(self, text: str, frame_type: FrameType = "malformed") -> None:
        """Queue a frame verbatim (used to inject malformed frames)."""
        self._enqueue(_Item(frame_type, raw=text))

    def close_when_sent(self, code: int, reason: str) -> None:
        """Close after everything queued so far has been sent (a graceful close after `shutdown`)."""
        self._enqueue(_Item("c", raw=reason, close_code=code))

    @contextlib.contextmanager
    def events_after_response(self) -> Iterator[None]:
        """Hold events raised while handling this connection's request until its response is queued."""
        self._deferred = []
        try:
            yield
        finally:
            deferred, self._deferred = self._deferred, None
            self.send_events(deferred)

    def _enqueue(self, item: _Item) -> None:
        if self.is_closing:
            return
        if self.shaping.silent and self.shaping.drop_while_silent:
            self.shaping.dropped += 1
            return
        self._queue.put_nowait(item)

    def set_silent(self, silent: bool, drop: bool = False, seconds: float | None = None) -> None:
        """Stop (or resume) sending anything, heartbeats included, keeping the socket open."""
        if self._silence_timer is not None:
            self._silence_timer.cancel()
            self._silence_timer = None
        self.shaping.silent = silent
        self.shaping.drop_while_silent = drop and silent
        if silent:
            self._audible.clear()
            if seconds is not None:
                loop = asyncio.get_running_loop()
                self._silence_timer = loop.call_later(seconds, self.set_silent, False)
        else:
            self._audible.set()
            self.last_sent = asyncio.get_running_loop().time()

    async def _next(self) -> _Item:
        if self._pending:
            return self._pending.popleft()
        return await self._queue.get()

    def _drain(self) -> list[_Item]:
        items = list(self._pending)
        self._pending.clear()
        while not self._queue.empty():
            items.append(self._queue.get_nowait())
        return items

    async def _write_loop(self) -> None:
        held: _Item | None = None
        while True:
            item = await self._next()
            await self._audible.wait()
            if item.frame_type == "c":
                if held is not None:
                    await self._write(held)
                await self.close(item.close_code, item.raw)
                return
            shaping = self.shaping
            if item.frame_type == "a" and shaping.co_batch_next and not self._pending:
                item = self._co_batch(item)
            if item.frame_type == "a" and shaping.reorder_next:
                if held is None:
                    held = item
                    continue
                shaping.reorder_next -= 1
                await self._write(item)
                item, held = held, None
            await self._write(item)
            if item.frame_type == "a" and shaping.duplicate_next:
                shaping.duplicate_next -= 1
                await self._write(item)
            if shaping.delay_per_frame_s > 0:
                await asyncio.sleep(shaping.delay_per_frame_s)

    def _co_batch(self, first: _Item) -> _Item:
        rest = self._drain()
        batch = [first, *(item for item in rest if item.frame_type == "a")]
        merged = _Item("a", [message for item in batch for message in item.messages])
        if len(batch) > 1 and merged.has_response and merged.has_event:
            self.shaping.co_batch_next -= 1
            self._pending.extend(item for item in rest if item.frame_type != "a")
            return merged
        self._pending.extend(rest)
        return first

    async def _write(self, item: _Item) -> None:
        if item.frame_type == "a":
            texts = [dumps(message) for message in item.messages]
            await self._send(array_frame(texts), "a", list(zip(texts, item.messages, strict=True)))
        elif item.frame_type == "o":
            await self._send(OPEN_FRAME, "o", [])
        elif item.frame_type == "h":
            await self._send(HEARTBEAT_FRAME, "h", [])
        else:
            await self._send(item.raw, item.frame_type, [])

    async def _send(self, text: str, frame_type: FrameType, messages: list[tuple[str, JsonObject]]) -> None:
        async with self._lock:
            if self.is_closing:
                return
            try:
                await self._ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self._mark_closed(1006)
                return
            self.last_sent = asyncio.get_running_loop().time()
            self._recorder.record_frame(self.id, self.kind, frame_type, text, messages)

    async def _heartbeat_loop(self) -> None:
        # Tradovate sends `h` about every 2.5 s, but only while it has nothing else to send (DOC20 heartbeats.md);
        # the `server_heartbeat` variant also sends it while streaming, or only every 25 s (SockJS, WebSockets.md).
        loop = asyncio.get_running_loop()
        while True:
            mode = self._variants.current.server_heartbeat
            interval = SOCKJS_HEARTBEAT_S if mode == "sockjs_25s" else self._heartbeat_interval_s
            since = self._last_heartbeat if mode == "always" else self.last_sent
            await asyncio.sleep(max(0.0, since + interval - loop.time()))
            now = loop.time()
            if self.shaping.silent:
                await asyncio.sleep(interval)  # nothing goes out while silent; look again later, without spinning
                continue
            if mode == "always":
                if now - self._last_heartbeat >= interval:
                    self._enqueue(_Item("h"))
                    self._last_heartbeat = now
            elif now - self.last_sent >= interval and self._queue.empty() and not self._pending:
                self._enqueue(_Item("h"))
                self.last_sent = now

    async def close(self, code: int = 3000, reason: str = "Go away!", *, abrupt: bool = False) -> None:
        """Send `c[code,"reason"]` and close the WebSocket with the same code; `abrupt` drops TCP instead."""
        if self.is_closing:
            return
        self.close_code = code if not abrupt else 1006
        async with self._lock:
            if abrupt:
                self._abort()
            else:
                text = close_frame(code, reason)
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self._ws.send_str(text)
                    self._recorder.record_frame(self.id, self.kind, "c", text)
        self._stop_tasks()
        if not abrupt:
            with contextlib.suppress(ConnectionError, RuntimeError, asyncio.TimeoutError):
                await asyncio.wait_for(self._ws.close(code=code, message=reason.encode()), timeout=2.0)
        self.closed.set()

    def _mark_closed(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        self._stop_tasks()
        self.closed.set()

    def connection_lost(self) -> None:
        """The client went away (its close or a broken transport)."""
        self._mark_closed(self._ws.close_code or 1006)

    def _stop_tasks(self) -> None:
        if self._silence_timer is not None:
            self._silence_timer.cancel()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()


class ConnectionRegistry:
    """Open connections by id; resolves fault targets (`md`, `trading`, `all`, or a connection id)."""

    def __init__(self) -> None:
        self._connections: dict[int, SimConnection] = {}
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        """A fresh connection id (increasing from 1, so ids are the same across runs)."""
        return next(self._ids)

    def add(self, connection: SimConnection) -> None:
        """Track an open connection."""
        self._connections[connection.id] = connection

    def remove(self, connection: SimConnection) -> None:
        """Forget a closed connection."""
        self._connections.pop(connection.id, None)

    def get(self, conn_id: int) -> SimConnection | None:
        """One open connection."""
        return self._connections.get(conn_id)

    def all(self, kind: SocketKind | None = None) -> list[SimConnection]:
        """Open connections, optionally of one kind, oldest first."""
        return [conn for conn in self._connections.values() if kind is None or conn.kind == kind]

    def matching(self, target: str | int) -> list[SimConnection]:
        """Connections a fault target names."""
        if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
            found = self._connections.get(int(target))
            return [found] if found else []
        if target == "all":
            return self.all()
        if target == "md":
            return self.all("md")
        if target == "trading":
            return self.all("trading")
        raise ValueError(f"unknown target {target!r}: use 'md', 'trading', 'all' or a connection id")
