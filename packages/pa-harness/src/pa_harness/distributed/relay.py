"""JetStream relays between the reference modules' own processes (harness only, never the PA's path).

U publishes its EventStream rows for Paper, and Paper the rows it relays for OE, each on a stream of its
own: `RecordPublisher` takes rows from an in-process queue and publishes each until acked (with a dedupe
id, in order); `RecordFollower` reads a stream from its first message into a queue.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.streams import ensure_stream, pull_batches
from platform_adapter.transport.nats.subjects import MSG_ID_HEADER

_log = get_logger("pa.nats.relay")

T = TypeVar("T")


def record_stream_config(name: str, subject_prefix: str) -> StreamConfig:
    """A file-backed stream for one module's records."""
    return StreamConfig(name=name, subjects=[f"{subject_prefix}.>"], storage=StorageType.FILE, duplicate_window=600.0)


class RecordPublisher(Generic[T]):
    """Publishes every record from `source` on `subject`, one at a time, retrying until each is acked."""

    def __init__(
        self,
        js: Any,
        stream: StreamConfig,
        subject: str,
        source: asyncio.Queue[T],
        msg_id: Callable[[T], str],
        *,
        retry_s: float = 0.5,
    ) -> None:
        self._js = js
        self._stream = stream
        self._subject = subject
        self._source = source
        self._msg_id = msg_id
        self._retry_s = retry_s
        self.published = 0

    async def run(self) -> None:
        """Create the stream if needed, then publish until cancelled."""
        await ensure_stream(self._js, self._stream)
        while True:
            record = await self._source.get()
            data = msgspec.json.encode(record)
            headers = {MSG_ID_HEADER: self._msg_id(record)}
            while True:
                try:
                    await self._js.publish(self._subject, data, headers=headers)
                    break
                except NatsError as exc:  # keep the order: retry this record before any later one
                    _log.warning("relay_publish_failed", subject=self._subject, error=repr(exc))
                    await asyncio.sleep(self._retry_s)
            self.published += 1


class RecordFollower(Generic[T]):
    """Reads `subject` of `stream` from its first message into `queue` as `record_type`, repeats left out."""

    # A durable pull consumer of its own (`<reader>-<random>`, removed by the server after 5 idle minutes),
    # so the follower resumes where it was after a nats-server restart. `seq_of` numbers the records: one
    # whose number is not above the last one passed on is a re-publication (its publisher restarted and
    # sent its backlog again).

    def __init__(
        self,
        js: Any,
        stream: str,
        subject: str,
        record_type: type[T],
        seq_of: Callable[[T], int],
        *,
        reader: str,
        stream_wait_s: float | None = None,
        fetch_timeout_s: float = 1.0,
    ) -> None:
        self._js = js
        self._stream = stream
        self._subject = subject
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(record_type)
        self._seq_of = seq_of
        self._durable = f"{reader}-{uuid.uuid4().hex[:8]}"
        self._stream_wait_s = stream_wait_s
        self._fetch_timeout_s = fetch_timeout_s
        self.queue: asyncio.Queue[T] = asyncio.Queue()
        self.received = 0
        self.repeats = 0
        self._last = 0

    async def run(self) -> None:
        """Follow until cancelled (waits for the stream's owner to create it)."""
        config = ConsumerConfig(
            durable_name=self._durable,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=self._subject,
            inactive_threshold=300.0,
        )
        batches = pull_batches(
            self._js,
            self._stream,
            config,
            batch=100,
            fetch_timeout_s=self._fetch_timeout_s,
            stream_wait_s=self._stream_wait_s,
        )
        async for messages in batches:
            for msg in messages:
                self._take(self._decoder.decode(msg.data))
            try:
                await messages[-1].ack()
            except NatsError as exc:  # re-delivered later; the seq check drops the repeats
                _log.warning("relay_ack_failed", subject=self._subject, error=repr(exc))

    def _take(self, record: T) -> None:
        self.received += 1
        seq = self._seq_of(record)
        if seq <= self._last:
            self.repeats += 1
            return
        self._last = seq
        self.queue.put_nowait(record)
