"""`NatsFactSink`: the PA's FactSink on JetStream. A batch is delivered only when the stream acked all of it.

Each fact is published with `Nats-Msg-Id: <run id>-<delivery_seq>` (a retry never stores it twice) and two
expectations, the **order guard**: `Nats-Expected-Last-Msg-Id: <id of the fact before it>` and
`Nats-Expected-Last-Sequence: <the stream sequence that fact was, or will be, stored at>`, with up to `window`
publishes awaiting their acks. The stream stores a fact only right after its predecessor: once one fact is refused
(stream full, server gone), every later fact in flight is refused too, so a retry can never store a later fact
before an earlier one; and no fact is ever stored after a message that is not the PA's, whatever id it carries.

The sink never takes a message id alone as proof that a fact is stored: the stream's tail, and the message a
`duplicate` ack points at, count as the PA's fact only if subject and content are the fact's own, and a tail that
claims a fact of this run not yet published is no fact of the PA's. Only the PA account can write the stream
(docs/transport-nats.md §8); these checks keep a foreign message that did get there from making the sink skip
real facts (the dedupe-id pre-emption the prototype study showed). A foreign message latches the sink: every
later `deliver` raises `foreign_message` (the PA stays degraded with `halt_required`) until an operator has looked
at the stream and restarted the PA.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nats.errors import ConnectionClosedError, MaxPayloadError, OutboundBufferLimitError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from platform_adapter.mic import FactEnvelope
from platform_adapter.mic.codec import DecodeError, decode_envelope, encode
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.cancellation import raise_if_cancelling
from platform_adapter.transport.nats.publisher import AckedPublisher, NoStream, PubAck, PublishRefused
from platform_adapter.transport.nats.subjects import (
    EXPECTED_LAST_MSG_ID_HEADER,
    FACT_STREAM,
    MSG_ID_HEADER,
    U_FACT_CONSUMER,
    fact_mismatch,
    fact_msg_id,
    fact_subject,
)

_log = get_logger("pa.nats.facts")

_ERR_STREAM_STORE_FAILED = 10077  # "maximum messages exceeded" / "maximum bytes exceeded" under discard=new
_ERR_ORDER_GUARD = {10070, 10071, 10164}  # wrong last msg id; wrong last sequence (with and without the number)
EXPECTED_LAST_SEQUENCE_HEADER = "Nats-Expected-Last-Sequence"


class DeliveryFailure(StrEnum):
    """Why JetStream did not confirm a fact."""

    STREAM_FULL = "stream_full"  # discard=new refused it: the stream is at a limit
    ACK_TIMEOUT = "ack_timeout"  # no ack in time: server down or slow; the fact may or may not be stored
    STREAM_UNAVAILABLE = "stream_unavailable"  # no stream answers (missing stream, JetStream down)
    NOT_CONNECTED = "not_connected"  # the client is closed or its reconnect buffer is full
    ORDER_GUARD = "order_guard"  # the stream's last fact is not the one expected: re-read the tail, retry
    FOREIGN_MESSAGE = "foreign_message"  # a message with one of the PA's ids is not the PA's fact: an operator looks
    REFUSED = "refused"  # any other refusal (too large, permissions, ...)


class FactDeliveryError(Exception):
    """JetStream did not confirm the whole batch; the outbox keeps it and retries (no duplicate, no reorder)."""

    def __init__(self, failure: DeliveryFailure, detail: str, *, msg_id: str | None = None, acked: int = 0) -> None:
        where = f" at {msg_id}" if msg_id else ""
        super().__init__(f"{failure.value}{where}: {detail} ({acked} of the batch acked)")
        self.failure = failure
        self.detail = detail
        self.msg_id = msg_id
        self.acked = acked


@dataclass
class SinkCounters:
    """What the sink has done since it started."""

    published: int = 0  # publishes sent, retries included
    acked: int = 0  # facts newly stored
    duplicates: int = 0  # retries the stream recognised as already stored
    failures: int = 0  # delivers that raised
    tail_reads: int = 0
    last_stream_seq: int = 0


@dataclass(frozen=True)
class _Stored:
    """What one stored fact is: its id, subject and bytes (to compare a duplicate or the stream's tail with).

    The bytes themselves, not a digest: they are alive anyway until the publish is flushed, at most a window of
    them is held, and a SHA-256 per fact was 3-4% of the PA's CPU in bursts (docs/performance.md).
    """

    msg_id: str
    subject: str
    data: bytes

    @classmethod
    def of(cls, msg_id: str, subject: str, data: bytes) -> _Stored:
        return cls(msg_id, subject, data)


@dataclass
class _InFlight:
    fact: _Stored
    deadline: float
    future: asyncio.Future[PubAck]

    @property
    def msg_id(self) -> str:
        return self.fact.msg_id


class NatsFactSink:
    """FactSink: publishes facts to the facts stream with dedupe ids, an order guard and a bounded window."""

    def __init__(
        self,
        nc: Any,
        *,
        run_id: str | None = None,
        stream: str = FACT_STREAM,
        window: int = 256,
        ack_timeout_s: float = 5.0,
        on_ack: Callable[[str, PubAck], None] | None = None,
        reader_durable: str | None = U_FACT_CONSUMER,
    ) -> None:
        self._js = nc.jetstream(timeout=ack_timeout_s)
        self._on_ack = on_ack  # an observer of each stored fact (metrics, tests); must not block
        self._publisher = AckedPublisher(nc)
        self.run_id = run_id or uuid.uuid4().hex[:16]  # used when an envelope carries no run id of its own
        self._stream = stream
        self._window = window
        self._ack_timeout_s = ack_timeout_s
        self._tail: _Stored | None = None  # the last message the stream is known to hold
        self._last_seq = 0  # the stream's last sequence: the order guard's base
        self._tail_known = False
        self._published: dict[str, int] = {}  # per run id, the highest delivery_seq this sink has published
        self._reader_durable = reader_durable  # U's durable: a duplicate of a fact U acked may be gone already
        self._foreign: FactDeliveryError | None = None  # the log holds a message that is not the PA's
        self._lock = asyncio.Lock()
        self.counters = SinkCounters()

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        """Publish the batch in order; return once every fact is acked, else raise FactDeliveryError."""
        async with self._lock:
            try:
                if self._foreign is not None:
                    raise FactDeliveryError(
                        DeliveryFailure.FOREIGN_MESSAGE, self._foreign.detail, msg_id=self._foreign.msg_id
                    )
                await self._deliver(batch)
            except FactDeliveryError as exc:
                if exc.failure is DeliveryFailure.FOREIGN_MESSAGE and self._foreign is None:
                    self._foreign = exc
                    _log.error("fact_stream_foreign_message", stream=self._stream, msg_id=exc.msg_id, detail=exc.detail)
                raise_if_cancelling()  # the PA is stopping and nats-py lost the request: not a delivery failure
                self.counters.failures += 1
                _log.warning("fact_publish_failed", failure=exc.failure.value, msg_id=exc.msg_id, detail=exc.detail)
                raise
        raise_if_cancelling()

    async def _deliver(self, batch: Sequence[FactEnvelope]) -> None:
        if not self._tail_known:
            await self._read_tail()
        ids = [fact_msg_id(envelope, self.run_id) for envelope in batch]
        # Facts up to the stream's tail are stored already (a fact is stored only after its predecessor):
        # the outbox re-sends a batch whose head an earlier, failed attempt got acked.
        start = self._stored_prefix(batch, ids)
        loop = asyncio.get_running_loop()
        inflight: deque[_InFlight] = deque()
        failure: FactDeliveryError | None = None
        failed: _InFlight | None = None  # the fact whose ack failed, when the failure came from an ack
        expected = self._tail.msg_id if self._tail is not None else None
        expected_seq = self._last_seq
        try:
            for envelope, msg_id in zip(batch[start:], ids[start:], strict=True):
                if len(inflight) >= self._window:
                    failed = inflight.popleft()
                    failure = await self._settle(failed)
                    if failure is not None:
                        break
                headers = {MSG_ID_HEADER: msg_id, EXPECTED_LAST_SEQUENCE_HEADER: str(expected_seq)}
                if expected is not None:
                    headers[EXPECTED_LAST_MSG_ID_HEADER] = expected
                subject, data = fact_subject(envelope), encode(envelope)
                run = envelope.run_id or self.run_id
                self._published[run] = max(self._published.get(run, 0), envelope.delivery_seq)
                try:
                    future = await self._publisher.publish(subject, data, headers)
                except (ConnectionClosedError, OutboundBufferLimitError) as exc:
                    failure = FactDeliveryError(DeliveryFailure.NOT_CONNECTED, _describe(exc), msg_id=msg_id)
                    break
                except MaxPayloadError as exc:
                    failure = FactDeliveryError(DeliveryFailure.REFUSED, _describe(exc), msg_id=msg_id)
                    break
                self.counters.published += 1
                inflight.append(_InFlight(_Stored.of(msg_id, subject, data), loop.time() + self._ack_timeout_s, future))
                expected = msg_id
                expected_seq += 1  # where this fact is stored, if it is: nothing else writes the stream
            while inflight and failure is None:
                failed = inflight.popleft()
                failure = await self._settle(failed)
            if failure is not None:
                failure = await self._settle_after_failure(inflight, failed) or failure
                raise FactDeliveryError(
                    failure.failure, failure.detail, msg_id=failure.msg_id, acked=self._acked_in(ids[start:])
                )
        finally:
            for entry in inflight:
                entry.future.cancel()  # frees its slot in the client's window; a late ack is then ignored

    def _stored_prefix(self, batch: Sequence[FactEnvelope], ids: Sequence[str]) -> int:
        """How many facts at the head of `batch` the stream holds already: up to the tail, if the tail is ours."""
        if self._tail is None or self._tail.msg_id not in ids:
            return 0
        at = ids.index(self._tail.msg_id)
        envelope = batch[at]
        if _Stored.of(self._tail.msg_id, fact_subject(envelope), encode(envelope)) != self._tail:
            raise FactDeliveryError(
                DeliveryFailure.FOREIGN_MESSAGE,
                f"the stream's last message carries this fact's id but is not this fact (subject "
                f"{self._tail.subject!r}): nothing is skipped, an operator must look at {self._stream}",
                msg_id=self._tail.msg_id,
            )
        return at + 1

    async def _settle(self, entry: _InFlight) -> FactDeliveryError | None:
        """Wait for one ack until its deadline; None when the fact is stored."""
        remaining = entry.deadline - asyncio.get_running_loop().time()
        if not entry.future.done():
            await asyncio.wait((entry.future,), timeout=max(0.0, remaining))
        if not entry.future.done():
            return FactDeliveryError(
                DeliveryFailure.ACK_TIMEOUT, f"no publish ack within {self._ack_timeout_s}s", msg_id=entry.msg_id
            )
        if entry.future.cancelled():
            return FactDeliveryError(DeliveryFailure.NOT_CONNECTED, "publish cancelled", msg_id=entry.msg_id)
        exc = entry.future.exception()
        if exc is not None:
            return self._classify(exc, entry.msg_id)
        ack = entry.future.result()
        if ack.duplicate:
            foreign = await self._check_duplicate(entry.fact, ack)
            if foreign is not None:
                return foreign
        self._record_ack(entry.fact, ack)
        return None

    async def _check_duplicate(self, fact: _Stored, ack: PubAck) -> FactDeliveryError | None:
        """A `duplicate` ack says a message with this id is stored at `ack.seq`: None if it is this fact."""
        # A retry after a lost ack is the only honest duplicate; anything else with the PA's id is foreign, and
        # taking the ack would make the PA believe a fact delivered that U will never see.
        return await self._check_stored(fact, ack.seq, "acked as a duplicate of")

    async def _check_stored(self, fact: _Stored, seq: int, what: str) -> FactDeliveryError | None:
        """None if the stream holds `fact` at `seq` (or held it until U acknowledged it); else why not."""
        try:
            stored = await self._js.get_msg(self._stream, seq=seq)
        except NotFoundError:
            if await self._consumed_by_reader(seq):
                # Under interest retention U's ack removes a fact at once; U checks each fact before acking it,
                # so a foreign one would have stopped U, not been acked.
                return None
            return FactDeliveryError(
                DeliveryFailure.FOREIGN_MESSAGE,
                f"{what} seq {seq}, which {self._stream} no longer holds and U never acknowledged: the fact is not "
                "stored",
                msg_id=fact.msg_id,
            )
        except (NatsTimeoutError, NoStreamResponseError, ConnectionClosedError) as exc:
            return FactDeliveryError(
                DeliveryFailure.STREAM_UNAVAILABLE, f"checking seq {seq}: {_describe(exc)}", msg_id=fact.msg_id
            )
        if _Stored.of(fact.msg_id, stored.subject, stored.data or b"") == fact:
            return None
        return FactDeliveryError(
            DeliveryFailure.FOREIGN_MESSAGE,
            f"{what} seq {seq}, which holds another message (subject {stored.subject!r}): the fact is not stored; "
            f"an operator must look at {self._stream}",
            msg_id=fact.msg_id,
        )

    async def _consumed_by_reader(self, seq: int) -> bool:
        """True when U's durable has acknowledged the stream up to `seq`."""
        if self._reader_durable is None:
            return False
        try:
            info = await self._js.consumer_info(self._stream, self._reader_durable)
        except (NatsTimeoutError, NotFoundError, NoStreamResponseError, ConnectionClosedError) as exc:
            _log.warning("fact_reader_unknown", seq=seq, error=_describe(exc))
            return False
        return info.ack_floor is not None and info.ack_floor.stream_seq >= seq

    async def _settle_after_failure(
        self, inflight: deque[_InFlight], failed: _InFlight | None
    ) -> FactDeliveryError | None:
        """Collect the acks still coming for facts sent after the failed one (each bounded by its deadline).

        A later fact is stored only right after a message with the failed fact's id, at the sequence the failed
        fact was meant for: the failed fact itself when only its ack was lost, or a foreign message that took its
        place. The first later ack tells which (FOREIGN_MESSAGE, returned, for the latter).
        """
        unconfirmed = failed.fact if failed is not None else None
        while inflight:
            entry = inflight.popleft()
            remaining = entry.deadline - asyncio.get_running_loop().time()
            if not entry.future.done() and remaining > 0:
                await asyncio.wait((entry.future,), timeout=remaining)
            if entry.future.done() and not entry.future.cancelled() and entry.future.exception() is None:
                ack = entry.future.result()
                if ack.duplicate:
                    foreign = await self._check_duplicate(entry.fact, ack)
                elif unconfirmed is not None:
                    foreign = await self._check_stored(unconfirmed, ack.seq - 1, "a later fact was stored after")
                else:
                    foreign = None
                if foreign is not None:
                    return foreign
                unconfirmed = None
                self._record_ack(entry.fact, ack)
            elif not entry.future.done():
                entry.future.cancel()
        return None

    def _record_ack(self, fact: _Stored, ack: PubAck) -> None:
        self._tail = fact
        self._last_seq = max(self._last_seq, ack.seq)
        if ack.duplicate:
            self.counters.duplicates += 1
        else:
            self.counters.acked += 1
        self.counters.last_stream_seq = ack.seq
        if self._on_ack is not None:
            self._on_ack(fact.msg_id, ack)

    def _acked_in(self, ids: Sequence[str]) -> int:
        tail = self._tail.msg_id if self._tail is not None else None
        return ids.index(tail) + 1 if tail in ids else 0

    def _classify(self, exc: BaseException, msg_id: str) -> FactDeliveryError:
        if isinstance(exc, PublishRefused):
            if exc.err_code == _ERR_STREAM_STORE_FAILED:
                return FactDeliveryError(DeliveryFailure.STREAM_FULL, str(exc), msg_id=msg_id)
            if exc.err_code in _ERR_ORDER_GUARD:
                self._tail_known = False  # re-read the stream's tail before the retry
                return FactDeliveryError(DeliveryFailure.ORDER_GUARD, str(exc), msg_id=msg_id)
            return FactDeliveryError(DeliveryFailure.REFUSED, str(exc), msg_id=msg_id)
        if isinstance(exc, NoStream):
            return FactDeliveryError(
                DeliveryFailure.STREAM_UNAVAILABLE, f"no stream answers on {self._stream}'s subjects", msg_id=msg_id
            )
        return FactDeliveryError(DeliveryFailure.REFUSED, _describe(exc), msg_id=msg_id)

    async def _read_tail(self) -> None:
        """Learn the stream's last message and sequence, so the first publish carries the order guard too."""
        self.counters.tail_reads += 1
        try:
            info = await self._js.stream_info(self._stream)
            tail: _Stored | None = None
            if info.state.messages:
                last = await self._js.get_msg(self._stream, seq=info.state.last_seq)
                msg_id = self._own_fact_id(info.state.last_seq, last.subject, last.headers, last.data or b"")
                tail = _Stored.of(msg_id, last.subject, last.data or b"")
        except NotFoundError as exc:
            raise FactDeliveryError(DeliveryFailure.STREAM_UNAVAILABLE, _describe(exc)) from exc
        except (NatsTimeoutError, NoStreamResponseError) as exc:
            raise FactDeliveryError(
                DeliveryFailure.STREAM_UNAVAILABLE, f"reading the stream tail: {_describe(exc)}"
            ) from exc
        except (ConnectionClosedError, OutboundBufferLimitError) as exc:
            raise FactDeliveryError(DeliveryFailure.NOT_CONNECTED, _describe(exc)) from exc
        if tail is not None or info.state.last_seq != self._last_seq:
            self._tail = tail  # else the stream is empty and unchanged: its last fact is the one this sink knows
        self._last_seq = info.state.last_seq  # also when interest retention emptied the stream
        self._tail_known = True
        _log.info("fact_stream_tail", stream=self._stream, tail=tail.msg_id if tail else None, seq=self._last_seq)

    def _own_fact_id(self, seq: int, subject: str, headers: dict[str, str] | None, data: bytes) -> str:
        """The id of the stream's last message; FactDeliveryError(FOREIGN_MESSAGE) unless it is a fact of the PA's."""
        # The next fact will be stored right after it (the order guard names it): a foreign tail is never built on.
        msg_id = (headers or {}).get(MSG_ID_HEADER)
        try:
            envelope = decode_envelope(data)
        except DecodeError as exc:
            problem: str | None = f"not a FactEnvelope ({exc})"
        else:
            problem = fact_mismatch(subject, msg_id, envelope)
            published = self._published.get(envelope.run_id or self.run_id)
            if problem is None and published is not None and envelope.delivery_seq > published:
                problem = f"it claims fact {envelope.delivery_seq} of this run, which the PA has not published yet"
        if problem is not None:
            raise FactDeliveryError(
                DeliveryFailure.FOREIGN_MESSAGE,
                f"the stream's last message (seq {seq}) is not a fact of the PA's: {problem}; nothing is published "
                "after it until an operator has looked at it",
                msg_id=msg_id,
            )
        assert msg_id is not None  # fact_mismatch found one
        return msg_id


def _describe(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        return f"{exc.description} (code {exc.code}, err_code {exc.err_code})"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
