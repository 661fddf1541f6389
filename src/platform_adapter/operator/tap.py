"""`FactTap`: what the operator view sees of the facts the PA forwarded, without slowing the hot path.

The tap sits between the outbox pump and the transport (it wraps the `FactSink`), so it sees exactly the
facts U accepted, after acceptance, in order. Per fact it does one set lookup on the stream and, for the
few streams the view shows, one dict store of the envelope (no payload is parsed here: the view decodes
only the last envelope of each contract, when it renders). Gap facts and correlated facts are rare and
kept in small bounded collections. Per batch it reads the clock once, for the delivery-lag histogram.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from platform_adapter.core.clock import Clock
from platform_adapter.core.ports import FactSink
from platform_adapter.mic import FactEnvelope, FactKind, Stream

LAST_VALUE_STREAMS = frozenset({Stream.QUOTE, Stream.CHART_BAR, Stream.CHART_TICK, Stream.DOM})


class FactTap:
    """Remembers the last forwarded fact per (symbol, stream), recent gap facts, and facts per intent."""

    def __init__(self, *, gaps: int = 20, intents: int = 200) -> None:
        self.last: dict[tuple[str, Stream], FactEnvelope] = {}
        self.gaps: deque[FactEnvelope] = deque(maxlen=gaps)
        self.facts_by_intent: dict[str, int] = {}
        self.backfill_by_stream: dict[str, int] = {}
        self.delivered = 0
        self.batches = 0
        self.observe_lag: Callable[[float], None] | None = None  # seconds from socket read to transport accept
        self._intents_max = intents

    def wrap(self, sink: FactSink, clock: Clock) -> FactSink:
        """A `FactSink` that delivers to `sink` and, once it accepted a batch, shows the batch to this tap."""
        return TappedFactSink(sink, self, clock)

    def observe(self, batch: Sequence[FactEnvelope], now_ns: int) -> None:
        """Take note of a batch the transport accepted."""
        last = self.last
        watched = LAST_VALUE_STREAMS
        for envelope in batch:
            stream = envelope.stream
            if stream in watched and envelope.symbol is not None and envelope.kind is FactKind.MARKET:
                last[(envelope.symbol, stream)] = envelope
            elif envelope.kind is FactKind.GAP:
                self.gaps.append(envelope)
            if envelope.correlation_id is not None:
                self._count_intent(envelope.correlation_id)
            if envelope.backfill:
                self.backfill_by_stream[stream] = self.backfill_by_stream.get(stream, 0) + 1
        self.delivered += len(batch)
        self.batches += 1
        if batch and self.observe_lag is not None:
            self.observe_lag(max(0, now_ns - batch[0].recv_ts) / 1e9)

    def _count_intent(self, intent_id: str) -> None:
        counts = self.facts_by_intent
        if intent_id not in counts and len(counts) >= self._intents_max:
            del counts[next(iter(counts))]  # forget the oldest intent: the view shows recent ones only
        counts[intent_id] = counts.get(intent_id, 0) + 1


class TappedFactSink:
    """The `FactSink` wrapper that feeds a `FactTap`; errors from the transport pass through untouched."""

    def __init__(self, sink: FactSink, tap: FactTap, clock: Clock) -> None:
        self._sink = sink
        self._tap = tap
        self._clock = clock

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        """Deliver the batch; only an accepted batch reaches the tap."""
        await self._sink.deliver(batch)
        self._tap.observe(batch, self._clock.now_ns())
