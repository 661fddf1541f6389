"""A deliberately tiny raw Tradovate socket client for tests: hand-written request strings, `json` parsing.

It shares no code with the PA's codec on purpose: the tests must see the bytes the simulator sends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

Message = dict[str, Any]


class RawSocket:
    """One client socket; reads whole frames and the messages inside `a[...]` frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, timeout: float = 3.0) -> None:
        self.ws = ws
        self.timeout = timeout
        self.frames: list[str] = []
        self._buffer: list[Message] = []

    async def frame(self, within: float | None = None) -> str:
        """The next text frame, exactly as received."""
        message = await self.ws.receive(timeout=within or self.timeout)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket closed: {message.type!r} {message.data!r} {message.extra!r}")
        text: str = message.data
        self.frames.append(text)
        return text

    async def send(self, text: str) -> None:
        """Send a text frame verbatim."""
        await self.ws.send_str(text)

    async def message(self, within: float | None = None) -> Message:
        """The next message from `a[...]` frames, skipping `h` heartbeats."""
        while not self._buffer:
            text = await self.frame(within)
            if text == "h":
                continue
            if not text.startswith("a"):
                raise AssertionError(f"expected an a-frame, got {text!r}")
            self._buffer.extend(json.loads(text[1:]))
        return self._buffer.pop(0)

    async def until(self, predicate: Callable[[Message], bool], within: float | None = None) -> Message:
        """Read messages until one matches; the others are dropped."""
        async with asyncio.timeout(within or self.timeout):
            while True:
                candidate = await self.message()
                if predicate(candidate):
                    return candidate

    async def response(self, request_id: int) -> Message:
        """The response to one request id."""
        return await self.until(lambda m: m.get("i") == request_id and "s" in m)

    async def request(self, endpoint: str, request_id: int, query: str = "", body: str = "") -> Message:
        """Send `endpoint\\nid\\nquery\\nbody` and wait for its response."""
        await self.send(f"{endpoint}\n{request_id}\n{query}\n{body}")
        return await self.response(request_id)

    async def authorize(self, token: str, request_id: int = 0) -> Message:
        """Read `o`, send `authorize`, return the ack."""
        assert await self.frame() == "o"
        await self.send(f"authorize\n{request_id}\n\n{token}")
        return await self.response(request_id)

    async def closed(self, within: float | None = None) -> tuple[list[str], int | None]:
        """Read until the socket closes; returns the remaining frames and the WebSocket close code."""
        rest: list[str] = []
        async with asyncio.timeout(within or self.timeout):
            while True:
                message = await self.ws.receive()
                if message.type == aiohttp.WSMsgType.TEXT:
                    rest.append(message.data)
                    continue
                if message.type == aiohttp.WSMsgType.CLOSE:
                    # The code the server sent (the client's own close_code may read 1006 afterwards).
                    return rest, int(message.data)
                if message.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return rest, self.ws.close_code


def ws_request(endpoint: str, request_id: int, query: str = "", body: str = "") -> str:
    """A request frame as text."""
    return f"{endpoint}\n{request_id}\n{query}\n{body}"
