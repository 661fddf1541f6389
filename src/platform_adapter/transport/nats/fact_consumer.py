"""`NatsFactConsumer`: U's side of the facts stream: a durable pull consumer, in stream order.

Each fetched batch is decoded and handed to U (`ReferenceU.accept_batch`, which commits it) and only
then acknowledged, so a crash in between re-delivers the batch rather than losing it; U recognises a
re-delivered `(run_id, delivery_seq)` and does not process it twice. The acknowledgement covers the batch
(`AckPolicy.ALL`: one ack for its last message), which is what keeps consumption at stream speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from platform_adapter.mic import FactEnvelope
from platform_adapter.mic.codec import DecodeError, decode_envelope
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.streams import pull_batches
from platform_adapter.transport.nats.subjects import FACT_STREAM, FACT_SUBJECTS, U_FACT_CONSUMER

_log = get_logger("pa.nats.fact_consumer")

AcceptBatch = Callable[[Sequence[FactEnvelope]], None]


class FactDecodeError(RuntimeError):
    """A message on the facts stream is not a FactEnvelope; it stays unacknowledged for a person to look at."""

    def __init__(self, stream_seq: int, subject: str, error: str) -> None:
        super().__init__(f"facts stream message {stream_seq} on {subject} is not a FactEnvelope: {error}")
        self.stream_seq = stream_seq
        self.subject = subject


class NatsFactConsumer:
    """Pulls facts in stream order, hands each batch to `accept_batch`, then acks it; `run` until cancelled."""

    def __init__(
        self,
        js: Any,
        accept_batch: AcceptBatch,
        *,
        durable: str = U_FACT_CONSUMER,
        stream: str = FACT_STREAM,
        filter_subject: str = FACT_SUBJECTS,
        batch: int = 500,
        fetch_timeout_s: float = 1.0,
        ack_wait_s: float = 30.0,
        stream_wait_s: float | None = None,
    ) -> None:
        self._js = js
        self._accept_batch = accept_batch
        self._durable = durable
        self._stream = stream
        self._filter_subject = filter_subject
        self._batch = batch
        self._fetch_timeout_s = fetch_timeout_s
        self._ack_wait_s = ack_wait_s
        self._stream_wait_s = stream_wait_s
        self.consumed = 0
        self.batches = 0
        self.last_stream_seq = 0
        self._progress = asyncio.Condition()

    async def run(self) -> None:
        """Consume until cancelled (waits for the PA to create the stream first)."""
        config = ConsumerConfig(
            durable_name=self._durable,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait_s,
            max_ack_pending=self._batch * 2,
            filter_subject=self._filter_subject,
        )
        batches = pull_batches(
            self._js,
            self._stream,
            config,
            batch=self._batch,
            fetch_timeout_s=self._fetch_timeout_s,
            stream_wait_s=self._stream_wait_s,
        )
        _log.info("facts_consuming", stream=self._stream, durable=self._durable, filter=self._filter_subject)
        async for messages in batches:
            await self._take(messages)

    async def _take(self, messages: Sequence[Any]) -> None:
        envelopes = []
        for msg in messages:
            try:
                envelopes.append(decode_envelope(msg.data))
            except DecodeError as exc:
                raise FactDecodeError(msg.metadata.sequence.stream, msg.subject, str(exc)) from exc
        self._accept_batch(envelopes)
        last = messages[-1]
        try:
            await last.ack_sync(timeout=self._fetch_timeout_s)
        except NatsError as exc:  # not acked: JetStream re-delivers after ack_wait, and U spots the repeats
            _log.warning("facts_ack_failed", stream_seq=last.metadata.sequence.stream, error=repr(exc))
        self.consumed += len(messages)
        self.batches += 1
        self.last_stream_seq = last.metadata.sequence.stream
        async with self._progress:
            self._progress.notify_all()

    async def wait_consumed(self, count: int) -> None:
        """Return once at least `count` facts were handed to U (bound it with a timeout)."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.consumed >= count)
