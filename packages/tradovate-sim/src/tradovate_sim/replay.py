"""`pa sim --replay capture.jsonl`: serve a recorded Tradovate session on loopback.

Each socket connection of a kind gets the next recorded socket of that kind (the n-th market-data
connection replays the n-th recorded one). The recorded server frames are sent in order: a frame that
answers requests waits until the client has sent those requests - matched by endpoint and count, the
recorded `i` rewritten to the live request id - and the others keep their recorded spacing divided by
`speed` (0 = as fast as possible). Every other byte is sent as recorded. So a real session becomes a
regression test: the PA (or any client asking the same things) receives the same messages in order.

Replay choices (not Tradovate behaviour): any token authorizes; a request with no recorded answer gets
`{"s":404,"i":id,"d":"Not in capture: <endpoint>"}` (`authorize` gets `{"s":200,"i":id}`); after its
recorded frames a socket the server did not close stays open with `h` every 2.5 s; REST answers repeat
the last recorded answer of an endpoint once the recorded ones are used up, and token responses get an
`expirationTime` shifted to keep the recorded lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from tradovate_sim.replay_script import (
    ConnectionScript,
    RecordedSession,
    RequestKey,
    RestExchange,
    SocketKind,
    load_session,
    rewrite_ids,
)
from tradovate_sim.wire import (
    CLIENT_HEARTBEAT,
    HEARTBEAT_FRAME,
    OPEN_FRAME,
    WsRequest,
    array_frame,
    dumps,
    format_timestamp,
    parse_request,
    parse_timestamp,
    response_message,
)

IDLE_HEARTBEAT_S = 2.5  # after the recorded frames: `h` like an idle Tradovate socket


@dataclass
class _LiveRequests:
    """The live client's requests on one connection, by (endpoint, ordinal)."""

    ids: dict[RequestKey, tuple[int, float]] = field(default_factory=dict)  # key -> (live id, arrival)
    counts: dict[str, int] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class ReplayServer:
    """Serves one recorded session: REST and trading socket on the main port, market data on its own."""

    def __init__(self, session: RecordedSession, speed: float = 1.0) -> None:
        self.session = session
        self.speed = speed
        self._next = {"md": 0, "trading": 0}
        self._rest_counts: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sockets: set[web.WebSocketResponse] = set()
        self._runners: list[web.AppRunner] = []
        self._ports: dict[str, int] = {}
        self._host = "127.0.0.1"
        self.served: list[dict[str, Any]] = []  # one entry per live connection, for /sim/status

    @classmethod
    def from_file(cls, path: str | Path, speed: float = 1.0) -> ReplayServer:
        """Load a capture file (raises CaptureError when it is not one)."""
        return cls(load_session(path), speed)

    async def start(self, host: str = "127.0.0.1", port: int = 0, md_port: int = 0) -> None:
        """Listen on loopback only."""
        if not _is_loopback(host):
            raise ValueError(f"the replay serves on loopback only, not {host!r}")
        self._host = host
        base = self.session.base_path
        main = web.Application()
        main.router.add_get(f"{base}/websocket", self._handler("trading"))
        main.router.add_get(f"/md{base}/websocket", self._handler("md"))
        main.router.add_get("/sim/status", self._status)
        main.router.add_route("*", f"{base}/{{tail:.*}}", self._rest)
        md = web.Application()
        md.router.add_get(f"{base}/websocket", self._handler("md"))
        for name, app, wanted in (("main", main, port), ("md", md, md_port)):
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, wanted, reuse_address=True)
            await site.start()
            self._runners.append(runner)
            self._ports[name] = site.port

    async def stop(self) -> None:
        """Close every socket and listener."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"Replay stopping")
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> ReplayServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (status under `/sim/status`)."""
        return f"http://{self._host}:{self._ports['main']}"

    @property
    def rest_url(self) -> str:
        """REST base, e.g. `http://127.0.0.1:PORT/v1`."""
        return self.base_url + self.session.base_path

    @property
    def trading_ws_url(self) -> str:
        """Trading socket URL."""
        return f"ws://{self._host}:{self._ports['main']}{self.session.base_path}/websocket"

    @property
    def md_ws_url(self) -> str:
        """Market-data socket URL (its own port)."""
        return f"ws://{self._host}:{self._ports['md']}{self.session.base_path}/websocket"

    def describe(self) -> list[str]:
        """The lines `pa sim --replay` prints."""
        counts = {kind: len(self.session.of_kind(kind)) for kind in ("trading", "md")}
        speed = "as fast as possible" if self.speed <= 0 else f"speed x{self.speed:g}"
        return [
            f"REST            {self.rest_url}",
            f"trading socket  {self.trading_ws_url}",
            f"market data     {self.md_ws_url}",
            f"status          {self.base_url}/sim/status (GET)",
            f"replay          {self.session.path} ({counts['trading']} trading + {counts['md']} market-data "
            f"sockets, {sum(len(v) for v in self.session.rest.values())} REST answers; {speed})",
        ]

    # -- sockets ------------------------------------------------------------------------------------------

    def _handler(self, kind: SocketKind) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve_socket(request, kind)

        return handle

    def _script_for(self, kind: SocketKind) -> ConnectionScript | None:
        scripts = self.session.of_kind(kind)
        index = self._next[kind]
        self._next[kind] += 1
        return scripts[index] if index < len(scripts) else None

    async def _serve_socket(self, request: web.Request, kind: SocketKind) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        self._sockets.add(ws)
        script = self._script_for(kind)
        entry: dict[str, Any] = {"kind": kind, "recorded": script.name if script else None, "sent": 0}
        self.served.append(entry)
        live = _LiveRequests()
        answered = script.answered if script else set()
        await ws.send_str(OPEN_FRAME)
        writer = asyncio.create_task(self._play(ws, script, live, entry), name=f"replay-{kind}-writer")
        self._tasks.add(writer)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT or message.data == CLIENT_HEARTBEAT:
                    continue
                parsed = parse_request(message.data)
                if not isinstance(parsed, WsRequest):
                    continue
                endpoint = parsed.endpoint.lower()
                ordinal = live.counts.get(endpoint, 0)
                live.counts[endpoint] = ordinal + 1
                if (endpoint, ordinal) in answered:
                    live.ids[(endpoint, ordinal)] = (parsed.request_id, asyncio.get_running_loop().time())
                    live.arrived.set()
                elif endpoint == "authorize":
                    await ws.send_str(array_frame([dumps(response_message(parsed.request_id, 200))]))
                else:
                    missing = response_message(parsed.request_id, 404, f"Not in capture: {parsed.endpoint}")
                    await ws.send_str(array_frame([dumps(missing)]))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._tasks.discard(writer)
            self._sockets.discard(ws)
        return ws

    async def _play(
        self, ws: web.WebSocketResponse, script: ConnectionScript | None, live: _LiveRequests, entry: dict[str, Any]
    ) -> None:
        loop = asyncio.get_running_loop()
        previous_sent, previous_recorded = loop.time(), script.opened_ns if script else 0
        for frame in script.frames if script else []:
            due = previous_sent + self._scaled(frame.mono_ns - previous_recorded)
            mapping: dict[int, int] = {}
            if frame.answers:
                arrivals = []
                for answer in frame.answers:
                    while answer.key not in live.ids:
                        live.arrived.clear()
                        await live.arrived.wait()
                    live_id, arrived = live.ids[answer.key]
                    mapping[answer.recorded_id] = live_id
                    arrivals.append(arrived + self._scaled(frame.mono_ns - answer.request_mono_ns))
                due = max(arrivals)  # answer as promptly as recorded, whatever came before
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if ws.closed:
                return
            await ws.send_str(rewrite_ids(frame.text, mapping))
            entry["sent"] += 1
            previous_sent, previous_recorded = loop.time(), frame.mono_ns
        if script is not None and script.close_code is not None:
            await ws.close(code=script.close_code)
            return
        while not ws.closed:
            await asyncio.sleep(IDLE_HEARTBEAT_S)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(HEARTBEAT_FRAME)

    def _scaled(self, recorded_ns: int) -> float:
        return max(0.0, recorded_ns / 1e9 / self.speed) if self.speed > 0 else 0.0

    # -- REST and status ---------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        endpoint = request.match_info.get("tail", "").strip("/")
        key = (request.method.upper(), endpoint.lower())
        exchanges = self.session.rest.get(key)
        if not exchanges:
            return web.Response(status=404, text=f"Not in capture: {endpoint}", content_type="text/plain")
        index = self._rest_counts.get(key, 0)
        self._rest_counts[key] = index + 1
        exchange = exchanges[min(index, len(exchanges) - 1)]
        body = _shift_expiry(exchange) if endpoint.lower().startswith("auth/") else exchange.body
        if not body:
            return web.Response(status=exchange.status)
        content_type = exchange.content_type.split(";")[0].strip() or "application/json"
        return web.Response(status=exchange.status, text=body, content_type=content_type)

    async def _status(self, request: web.Request) -> web.Response:
        status = {
            "replay": str(self.session.path),
            "speed": self.speed,
            "recorded": [{"name": c.name, "kind": c.kind, "frames": len(c.frames)} for c in self.session.connections],
            "served": self.served,
        }
        return web.Response(text=dumps(status), content_type="application/json")


def _shift_expiry(exchange: RestExchange) -> str:
    """A token response with `expirationTime` moved by the time since it was recorded."""
    try:
        data = json.loads(exchange.body)
    except ValueError:
        return exchange.body
    if not isinstance(data, dict) or not isinstance(data.get("expirationTime"), str):
        return exchange.body
    try:
        recorded = parse_timestamp(data["expirationTime"].replace("Z", "+00:00"))
    except ValueError:
        return exchange.body
    shift_ms = round(time.time() * 1000) - exchange.wall_ns // 1_000_000
    data["expirationTime"] = format_timestamp(recorded + shift_ms)
    return dumps(data)


async def serve_replay(
    path: str | Path,
    speed: float,
    port: int,
    md_port: int,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[ReplayServer], None] | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve a capture on loopback until `stop` is set (or forever), printing the URLs once listening."""
    server = ReplayServer.from_file(path, speed)
    await server.start("127.0.0.1", port, md_port)
    try:
        for line in server.describe():
            echo(line)
        if ready is not None:
            ready(server)
        await (stop or asyncio.Event()).wait()
    finally:
        await server.stop()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
