"""`NatsFactSink`: the PA's FactSink on JetStream. A batch is delivered only when the stream acked all of it.

Each fact is published with `Nats-Msg-Id: <run id>-<delivery_seq>` (a retry never stores it twice) and
`Nats-Expected-Last-Msg-Id: <id of the fact before it>` (the stream stores a fact only right after its
predecessor), with up to `window` publishes awaiting their acks. The expectation is what keeps the stream
in the PA's order under pipelining: once one fact is refused (stream full, server gone), every later fact
in flight is refused too, so a retry can never store a later fact before an earlier one.
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
from platform_adapter.mic.codec import encode
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.cancellation import raise_if_cancelling
from platform_adapter.transport.nats.publisher import AckedPublisher, NoStream, PubAck, PublishRefused
from platform_adapter.transport.nats.subjects import (
    EXPECTED_LAST_MSG_ID_HEADER,
    FACT_STREAM,
    MSG_ID_HEADER,
    fact_msg_id,
    fact_subject,
)

_log = get_logger("pa.nats.facts")

_ERR_STREAM_STORE_FAILED = 10077  # "maximum messages exceeded" / "maximum bytes exceeded" under discard=new
_ERR_WRONG_LAST_MSG_ID = 10070


class DeliveryFailure(StrEnum):
    """Why JetStream did not confirm a fact."""

    STREAM_FULL = "stream_full"  # discard=new refused it: the stream is at a limit
    ACK_TIMEOUT = "ack_timeout"  # no ack in time: server down or slow; the fact may or may not be stored
    STREAM_UNAVAILABLE = "stream_unavailable"  # no stream answers (missing stream, JetStream down)
    NOT_CONNECTED = "not_connected"  # the client is closed or its reconnect buffer is full
    ORDER_GUARD = "order_guard"  # the stream's last fact is not the one expected: re-read the tail, retry
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


@dataclass
class _InFlight:
    msg_id: str
    deadline: float
    future: asyncio.Future[PubAck]


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
    ) -> None:
        self._js = nc.jetstream(timeout=ack_timeout_s)
        self._on_ack = on_ack  # an observer of each stored fact (metrics, tests); must not block
        self._publisher = AckedPublisher(nc)
        self.run_id = run_id or uuid.uuid4().hex[:16]  # used when an envelope carries no run id of its own
        self._stream = stream
        self._window = window
        self._ack_timeout_s = ack_timeout_s
        self._tail: str | None = None  # message id of the last fact the stream is known to hold
        self._tail_known = False
        self._lock = asyncio.Lock()
        self.counters = SinkCounters()

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        """Publish the batch in order; return once every fact is acked, else raise FactDeliveryError."""
        async with self._lock:
            try:
                await self._deliver(batch)
            except FactDeliveryError as exc:
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
        start = ids.index(self._tail) + 1 if self._tail in ids else 0
        loop = asyncio.get_running_loop()
        inflight: deque[_InFlight] = deque()
        failure: FactDeliveryError | None = None
        expected = self._tail
        try:
            for envelope, msg_id in zip(batch[start:], ids[start:], strict=True):
                if len(inflight) >= self._window:
                    failure = await self._settle(inflight.popleft())
                    if failure is not None:
                        break
                headers = {MSG_ID_HEADER: msg_id}
                if expected is not None:
                    headers[EXPECTED_LAST_MSG_ID_HEADER] = expected
                try:
                    future = await self._publisher.publish(fact_subject(envelope), encode(envelope), headers)
                except (ConnectionClosedError, OutboundBufferLimitError) as exc:
                    failure = FactDeliveryError(DeliveryFailure.NOT_CONNECTED, _describe(exc), msg_id=msg_id)
                    break
                except MaxPayloadError as exc:
                    failure = FactDeliveryError(DeliveryFailure.REFUSED, _describe(exc), msg_id=msg_id)
                    break
                self.counters.published += 1
                inflight.append(_InFlight(msg_id, loop.time() + self._ack_timeout_s, future))
                expected = msg_id
            while inflight and failure is None:
                failure = await self._settle(inflight.popleft())
            if failure is not None:
                await self._settle_after_failure(inflight)
                raise FactDeliveryError(
                    failure.failure, failure.detail, msg_id=failure.msg_id, acked=self._acked_in(ids[start:])
                )
        finally:
            for entry in inflight:
                entry.future.cancel()  # frees its slot in the client's window; a late ack is then ignored

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
        self._record_ack(entry.msg_id, entry.future.result())
        return None

    async def _settle_after_failure(self, inflight: deque[_InFlight]) -> None:
        """Collect the acks still coming for facts sent after the failed one (each bounded by its deadline)."""
        while inflight:
            entry = inflight.popleft()
            remaining = entry.deadline - asyncio.get_running_loop().time()
            if not entry.future.done() and remaining > 0:
                await asyncio.wait((entry.future,), timeout=remaining)
            if entry.future.done() and not entry.future.cancelled() and entry.future.exception() is None:
                # Only possible when the "failed" fact was stored after all (its ack was lost): the order
                # guard admits a fact only after its predecessor, so the tail moves past both.
                self._record_ack(entry.msg_id, entry.future.result())
            elif not entry.future.done():
                entry.future.cancel()

    def _record_ack(self, msg_id: str, ack: PubAck) -> None:
        self._tail = msg_id
        if ack.duplicate:
            self.counters.duplicates += 1
        else:
            self.counters.acked += 1
        self.counters.last_stream_seq = ack.seq
        if self._on_ack is not None:
            self._on_ack(msg_id, ack)

    def _acked_in(self, ids: Sequence[str]) -> int:
        return ids.index(self._tail) + 1 if self._tail in ids else 0

    def _classify(self, exc: BaseException, msg_id: str) -> FactDeliveryError:
        if isinstance(exc, PublishRefused):
            if exc.err_code == _ERR_STREAM_STORE_FAILED:
                return FactDeliveryError(DeliveryFailure.STREAM_FULL, str(exc), msg_id=msg_id)
            if exc.err_code == _ERR_WRONG_LAST_MSG_ID:
                self._tail_known = False  # re-read the stream's tail before the retry
                return FactDeliveryError(DeliveryFailure.ORDER_GUARD, str(exc), msg_id=msg_id)
            return FactDeliveryError(DeliveryFailure.REFUSED, str(exc), msg_id=msg_id)
        if isinstance(exc, NoStream):
            return FactDeliveryError(
                DeliveryFailure.STREAM_UNAVAILABLE, f"no stream answers on {self._stream}'s subjects", msg_id=msg_id
            )
        return FactDeliveryError(DeliveryFailure.REFUSED, _describe(exc), msg_id=msg_id)

    async def _read_tail(self) -> None:
        """Learn the message id of the stream's last fact, so the first publish carries the order guard too."""
        self.counters.tail_reads += 1
        try:
            info = await self._js.stream_info(self._stream)
            tail: str | None = None
            if info.state.messages:
                last = await self._js.get_msg(self._stream, seq=info.state.last_seq)
                tail = (last.headers or {}).get(MSG_ID_HEADER)
        except NotFoundError as exc:
            raise FactDeliveryError(DeliveryFailure.STREAM_UNAVAILABLE, _describe(exc)) from exc
        except (NatsTimeoutError, NoStreamResponseError) as exc:
            raise FactDeliveryError(
                DeliveryFailure.STREAM_UNAVAILABLE, f"reading the stream tail: {_describe(exc)}"
            ) from exc
        except (ConnectionClosedError, OutboundBufferLimitError) as exc:
            raise FactDeliveryError(DeliveryFailure.NOT_CONNECTED, _describe(exc)) from exc
        self._tail = tail
        self._tail_known = True
        _log.info("fact_stream_tail", stream=self._stream, tail=tail)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        return f"{exc.description} (code {exc.code}, err_code {exc.err_code})"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
