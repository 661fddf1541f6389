"""`NatsFactConsumer`: U's side of the facts stream: the durable pull consumer `u`, in stream order.

U binds to the durable `pa_admin` provisioned in the PA account and reaches it through the PA's exports
(`js` is the PA's JetStream API as U's account imports it: `imported_jetstream(nc)`); U can neither create nor
change it. Every message is checked before U sees it: a FactEnvelope, on the subject the PA publishes that
envelope on, with the dedupe id the PA gives it. Only the PA account can write the stream; the check is what keeps
anything else that got there (a foreign fill carrying the PA's ids) out of U's store, loudly.

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

from platform_adapter.mic import FactEnvelope
from platform_adapter.mic.codec import DecodeError, decode_envelope
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.streams import pull_batches
from platform_adapter.transport.nats.subjects import (
    FACT_STREAM,
    MSG_ID_HEADER,
    U_FACT_CONSUMER,
    fact_mismatch,
)

_log = get_logger("pa.nats.fact_consumer")

AcceptBatch = Callable[[Sequence[FactEnvelope]], None]


class FactDecodeError(RuntimeError):
    """A message on the facts stream is not a FactEnvelope; it stays unacknowledged for a person to look at."""

    def __init__(self, stream_seq: int, subject: str, error: str) -> None:
        super().__init__(f"facts stream message {stream_seq} on {subject} is not a FactEnvelope: {error}")
        self.stream_seq = stream_seq
        self.subject = subject


class ForeignFactError(RuntimeError):
    """A message on the facts stream is not a fact as the PA publishes it; unacknowledged, nothing after it taken."""

    def __init__(self, stream_seq: int, subject: str, problem: str) -> None:
        super().__init__(f"facts stream message {stream_seq} is not the PA's fact: {problem}")
        self.stream_seq = stream_seq
        self.subject = subject
        self.problem = problem


def _checked(msg: Any) -> FactEnvelope:
    """The envelope `msg` carries; FactDecodeError / ForeignFactError when U must not take it."""
    try:
        envelope = decode_envelope(msg.data)
    except DecodeError as exc:
        seq = msg.metadata.sequence.stream
        _log.error("fact_undecodable", stream_seq=seq, subject=msg.subject, error=str(exc))
        raise FactDecodeError(seq, msg.subject, str(exc)) from exc
    problem = fact_mismatch(msg.subject, (msg.headers or {}).get(MSG_ID_HEADER), envelope)
    if problem is not None:
        seq = msg.metadata.sequence.stream
        _log.error("fact_foreign", stream_seq=seq, subject=msg.subject, problem=problem)
        raise ForeignFactError(seq, msg.subject, problem)
    return envelope


class NatsFactConsumer:
    """Pulls facts in stream order, hands each batch to `accept_batch`, then acks it; `run` until cancelled."""

    def __init__(
        self,
        js: Any,
        accept_batch: AcceptBatch,
        *,
        durable: str = U_FACT_CONSUMER,
        stream: str = FACT_STREAM,
        batch: int = 500,
        fetch_timeout_s: float = 1.0,
        consumer_wait_s: float | None = None,
    ) -> None:
        self._js = js
        self._accept_batch = accept_batch
        self._durable = durable
        self._stream = stream
        self._batch = batch  # at most the durable's max_ack_pending (1000) is delivered unacked
        self._fetch_timeout_s = fetch_timeout_s
        self._consumer_wait_s = consumer_wait_s
        self.consumed = 0
        self.batches = 0
        self.last_stream_seq = 0
        self._progress = asyncio.Condition()

    async def run(self) -> None:
        """Consume until cancelled (waits for `pa_admin` to provision the durable first)."""
        batches = pull_batches(
            self._js,
            self._stream,
            self._durable,
            batch=self._batch,
            fetch_timeout_s=self._fetch_timeout_s,
            consumer_wait_s=self._consumer_wait_s,
        )
        _log.info("facts_consuming", stream=self._stream, durable=self._durable)
        async for messages in batches:
            await self._take(messages)

    async def _take(self, messages: Sequence[Any]) -> None:
        envelopes: list[FactEnvelope] = []
        refused: FactDecodeError | ForeignFactError | None = None
        for msg in messages:
            try:
                envelopes.append(_checked(msg))
            except (FactDecodeError, ForeignFactError) as exc:
                refused = exc
                break
        if envelopes:  # the facts before a refused message are U's; the refused one and the rest stay unacked
            self._accept_batch(envelopes)
            await self._ack(messages[len(envelopes) - 1], len(envelopes))
        if refused is not None:
            raise refused

    async def _ack(self, last: Any, count: int) -> None:
        try:
            await last.ack_sync(timeout=self._fetch_timeout_s)
        except NatsError as exc:  # not acked: JetStream re-delivers after ack_wait, and U spots the repeats
            _log.warning("facts_ack_failed", stream_seq=last.metadata.sequence.stream, error=repr(exc))
        self.consumed += count
        self.batches += 1
        self.last_stream_seq = last.metadata.sequence.stream
        async with self._progress:
            self._progress.notify_all()

    async def wait_consumed(self, count: int) -> None:
        """Return once at least `count` facts were handed to U (bound it with a timeout)."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.consumed >= count)
