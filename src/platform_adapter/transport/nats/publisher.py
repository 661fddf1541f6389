"""`AckedPublisher`: pipelined JetStream publishes whose acks and refusals come back on one inbox.

nats-py 2.16's own `publish_async` never completes a future the server refused (`APIError.from_error`
raises inside its reply handler: nats-io/nats.py#985), so a full stream would look like a silent ack
timeout. This publisher parses each reply itself and fails the future with the server's error.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

import msgspec

from platform_adapter.transport.nats.subjects import MSG_ID_HEADER

_NO_RESPONDERS = "503"


@dataclass(frozen=True)
class PubAck:
    """The stream's receipt of one message: where it is stored, or that it was stored already."""

    stream: str
    seq: int
    duplicate: bool


class _ApiError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _Reply(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _ApiError | None = None


_reply_decoder = msgspec.json.Decoder(_Reply)


class PublishRefused(Exception):
    """The stream answered with an error (`err_code` is JetStream's, e.g. 10077 for a full stream)."""

    def __init__(self, code: int, err_code: int, description: str) -> None:
        super().__init__(f"{description} (code {code}, err_code {err_code})")
        self.code = code
        self.err_code = err_code
        self.description = description


class NoStream(Exception):
    """No stream listens on the subject (or JetStream is not running): NATS answered "no responders"."""


class AckedPublisher:
    """Publishes with a reply inbox per message and resolves each returned future from the stream's reply."""

    def __init__(self, nc: Any) -> None:
        self._nc = nc
        self._base = ""
        self._subscription: Any = None
        self._pending: dict[str, asyncio.Future[PubAck]] = {}
        self._tokens = itertools.count(1)

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> asyncio.Future[PubAck]:
        """Send one message; the future resolves to its PubAck or fails with PublishRefused / NoStream."""
        if self._subscription is None:
            self._base = self._nc.new_inbox()
            self._subscription = await self._nc.subscribe(f"{self._base}.*", cb=self._on_reply)
        token = str(next(self._tokens))
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        future.add_done_callback(lambda _: self._pending.pop(token, None))
        try:
            await self._nc.publish(subject, payload, reply=f"{self._base}.{token}", headers=headers)
        except BaseException:
            future.cancel()
            raise
        return future

    async def _on_reply(self, msg: Any) -> None:
        future = self._pending.pop(msg.subject[len(self._base) + 1 :], None)
        if future is None or future.done():
            return  # the publisher gave up on it (timed out): the retry will learn the truth
        if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
            future.set_exception(NoStream(msg.headers.get(MSG_ID_HEADER, "")))
            return
        try:
            reply = _reply_decoder.decode(msg.data)
        except msgspec.DecodeError as exc:
            future.set_exception(PublishRefused(0, 0, f"unreadable publish ack: {exc}"))
            return
        if reply.error is not None:
            future.set_exception(PublishRefused(reply.error.code, reply.error.err_code, reply.error.description))
        elif not reply.stream or reply.seq <= 0:
            future.set_exception(PublishRefused(0, 0, f"publish ack without a stream sequence: {msg.data!r}"))
        else:
            future.set_result(PubAck(reply.stream, reply.seq, reply.duplicate))
