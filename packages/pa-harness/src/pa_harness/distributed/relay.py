"""JetStream relays between the reference modules' own processes (harness only, never the PA's path).

U publishes its EventStream rows for Paper, and Paper the rows it relays for OE, each on a stream of its
own account that the account's setup identity provisioned (`pa nats provision` as `u_admin` / `paper_admin`):
`RecordPublisher` takes rows from an in-process queue and publishes each until acked (with a dedupe id, in
order); `RecordFollower` reads a stream through the durable its owner provisioned and exported to the reader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec
from nats.errors import Error as NatsError

from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.streams import pull_batches
from platform_adapter.transport.nats.subjects import MSG_ID_HEADER

_log = get_logger("pa.nats.relay")

T = TypeVar("T")


class RecordPublisher(Generic[T]):
    """Publishes every record from `source` on `subject`, one at a time, retrying until each is acked."""

    def __init__(
        self,
        js: Any,
        subject: str,
        source: asyncio.Queue[T],
        msg_id: Callable[[T], str],
        *,
        retry_s: float = 0.5,
    ) -> None:
        self._js = js
        self._subject = subject
        self._source = source
        self._msg_id = msg_id
        self._retry_s = retry_s
        self.published = 0

    async def run(self) -> None:
        """Publish until cancelled (before the stream is provisioned, each publish is retried)."""
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
    """Reads `stream` through durable `durable` into `queue` as `record_type`, repeats left out."""

    # The durable is the stream owner's, provisioned with the stream and exported to this reader only (`js` is
    # the owner's JetStream API as the reader's account imports it), so the follower resumes where it was after
    # a restart. `seq_of` numbers the records: one whose number is not above the last one passed on is a
    # re-publication (its publisher restarted and sent its backlog again).

    def __init__(
        self,
        js: Any,
        stream: str,
        durable: str,
        record_type: type[T],
        seq_of: Callable[[T], int],
        *,
        consumer_wait_s: float | None = None,
        fetch_timeout_s: float = 1.0,
    ) -> None:
        self._js = js
        self._stream = stream
        self._durable = durable
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(record_type)
        self._seq_of = seq_of
        self._consumer_wait_s = consumer_wait_s
        self._fetch_timeout_s = fetch_timeout_s
        self.queue: asyncio.Queue[T] = asyncio.Queue()
        self.received = 0
        self.repeats = 0
        self._last = 0

    async def run(self) -> None:
        """Follow until cancelled (waits for the stream's owner to provision the durable)."""
        batches = pull_batches(
            self._js,
            self._stream,
            self._durable,
            batch=100,
            fetch_timeout_s=self._fetch_timeout_s,
            consumer_wait_s=self._consumer_wait_s,
        )
        async for messages in batches:
            for msg in messages:
                self._take(self._decoder.decode(msg.data))
            try:
                await messages[-1].ack()
            except NatsError as exc:  # re-delivered later; the seq check drops the repeats
                _log.warning("relay_ack_failed", stream=self._stream, durable=self._durable, error=repr(exc))

    def _take(self, record: T) -> None:
        self.received += 1
        seq = self._seq_of(record)
        if seq <= self._last:
            self.repeats += 1
            return
        self._last = seq
        self.queue.put_nowait(record)
