"""A minimal Tradovate market-data server that blasts the corpus, run in its own process.

It speaks just enough of the wire for a PA (or a raw client) to get going: `o` on connect, a 200 to
`authorize` with any token, a 200 to every `md/*` request (`md/getChart` answers realtime/historical ids
1/2, 3/4, ... as Tradovate does), and `h` every 2.5 s while idle. Then `POST /blast` streams `a[...]` frames
of the corpus (cycled) at the most recent socket of a route, as fast as the socket takes them or paced
at a given message rate (every 0.5 ms, what is due: `Pacer`), and answers with what it sent.

Usage (the benchmark starts it): `python -m pa_harness.bench.wire_server --seed N`; it prints
`PORT <port>` on its first stdout line and serves on 127.0.0.1 until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Final

import msgspec
from aiohttp import WSMsgType, web

from .corpus import build_corpus
from .loop import loop_factory

HEARTBEAT_S: Final = 2.5
PACE_TICK_S: Final = 0.0005
ROUTES: Final = ("pa", "raw")


class Pacer:
    """Wakes the loop every `tick_s` from a thread sleeping in between.

    The loop's own timers cannot pace below a millisecond: uvloop rounds `asyncio.sleep(0.0005)` to no wait at
    all, so a paced sender that sleeps on the loop spins a whole core (251 k wake-ups a second, 83% CPU),
    leaving none of the machine's two cores to absorb other work while latency is measured; the stdlib loop
    rounds it up to ~1.2 ms. `time.sleep` in a thread keeps the 0.5 ms pace, and the loop sleeps in between.
    """

    def __init__(self, tick_s: float) -> None:
        self._tick_s = tick_s
        self._loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wire-pacer", daemon=True)

    def __enter__(self) -> Pacer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            time.sleep(self._tick_s)
            self._loop.call_soon_threadsafe(self._woken.set)

    async def tick(self) -> None:
        """Return at the next tick."""
        self._woken.clear()
        await self._woken.wait()


class WireServer:
    """The server state: the corpus frames and the open sockets by route."""

    def __init__(self, seed: int) -> None:
        corpus = build_corpus(seed=seed)
        frames = corpus.message_frames
        self.frames = frames
        items = msgspec.json.Decoder(list[msgspec.Raw])
        self.counts = [len(items.decode(frame[1:])) for frame in frames]
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.last_sent: dict[str, float] = {}

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get("/v1/websocket", self._handler("pa"))
        app.router.add_get("/raw/websocket", self._handler("raw"))
        app.router.add_post("/blast", self._blast)
        return app

    def _handler(self, route: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, route)

        return handle

    async def _serve(self, request: web.Request, route: str) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.sockets[route] = ws
        self.last_sent[route] = time.monotonic()
        await ws.send_str("o")
        heartbeat = asyncio.create_task(self._heartbeat(ws, route))
        chart_ids = itertools.count(1, 2)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT or message.data == "[]":
                    continue
                parts = message.data.split("\n", 3)
                if len(parts) < 2 or not parts[1].isdigit():
                    continue
                endpoint, request_id = parts[0].lower(), int(parts[1])
                reply: dict[str, object] = {"s": 200, "i": request_id}
                if endpoint == "md/getchart":
                    realtime = next(chart_ids)
                    reply["d"] = {"historicalId": realtime + 1, "realtimeId": realtime}
                elif endpoint != "authorize":
                    reply["d"] = {}
                await ws.send_str("a[" + json.dumps(reply, separators=(",", ":")) + "]")
                self.last_sent[route] = time.monotonic()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            if self.sockets.get(route) is ws:
                del self.sockets[route]
        return ws

    async def _heartbeat(self, ws: web.WebSocketResponse, route: str) -> None:
        while not ws.closed:
            await asyncio.sleep(0.5)
            if time.monotonic() - self.last_sent.get(route, 0.0) >= HEARTBEAT_S:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str("h")
                self.last_sent[route] = time.monotonic()

    async def _blast(self, request: web.Request) -> web.Response:
        route = request.query.get("route", "pa")
        target = int(request.query.get("messages", "100000"))
        rate = float(request.query.get("rate", "0"))  # messages per second; 0 = as fast as the socket takes
        ws = self.sockets.get(route)
        if ws is None:
            return web.json_response({"error": f"no socket on route {route!r}"}, status=409)
        started = time.perf_counter()
        sent_messages = sent_frames = 0
        frames, counts = self.frames, self.counts
        index = 0
        try:
            with Pacer(PACE_TICK_S) if rate > 0 else contextlib.nullcontext() as pacer:
                while sent_messages < target:
                    if pacer is not None:
                        due = rate * (time.perf_counter() - started)
                        if sent_messages >= due:
                            await pacer.tick()
                            continue
                    await ws.send_str(frames[index])
                    sent_messages += counts[index]
                    sent_frames += 1
                    self.last_sent[route] = time.monotonic()
                    index = (index + 1) % len(frames)
        except (ConnectionError, RuntimeError) as exc:
            return web.json_response({"error": f"socket closed: {exc}", "messages": sent_messages}, status=410)
        seconds = time.perf_counter() - started
        return web.json_response({"messages": sent_messages, "frames": sent_frames, "seconds": seconds})


async def _main(seed: int) -> None:
    server = WireServer(seed)
    runner = web.AppRunner(server.app(), handle_signals=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=20251125)
    args = parser.parse_args(argv)
    with asyncio.Runner(loop_factory=loop_factory()) as runner, contextlib.suppress(KeyboardInterrupt):
        runner.run(_main(args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
