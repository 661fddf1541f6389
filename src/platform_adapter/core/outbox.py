"""The fact outbox: the bounded, fail-closed buffer between the platform sockets and U.

Two lanes. Facts are never shed: above the high watermark the PA reports PA_DEGRADED with
`consumer_backpressure` and `halt_required`; at capacity `has_room` turns false and the platform readers
stop reading their sockets (TCP then pushes back on Tradovate); back under the low watermark the
condition clears. Telemetry is optional: its lane is small, is shed first (oldest first when full, and
entirely while facts are above the high watermark), and every shed record is counted and summarized.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.ports import FactSink
from platform_adapter.core.settings import OutboxSettings
from platform_adapter.mic import FactEnvelope, HealthReason, HealthState
from platform_adapter.telemetry import get_logger

_log = get_logger("pa.outbox")
_BACKPRESSURE_KEY = "outbox.backpressure"
_SINK_KEY = "outbox.sink"


class TelemetrySink(Protocol):
    """Where optional telemetry records go (logs, a telemetry subject)."""

    async def emit(self, records: Sequence[dict[str, Any]]) -> None:
        """Emit a batch of telemetry records."""
        ...


class LogTelemetrySink:
    """Telemetry to the structured log."""

    async def emit(self, records: Sequence[dict[str, Any]]) -> None:
        """Log each record at debug level."""
        for record in records:
            _log.debug("telemetry", record=record)


@dataclass
class OutboxCounters:
    """What went through the outbox; `received == delivered + in_outbox` always holds for facts."""

    received: int = 0
    delivered: int = 0
    telemetry_received: int = 0
    telemetry_delivered: int = 0
    telemetry_shed: int = 0
    sink_failures: int = 0
    high_watermark_crossings: int = 0
    reader_pauses: int = 0
    peak_depth: int = 0
    escalation_depth: int | None = None  # depth at the last high-watermark crossing (always < capacity)
    by_kind: dict[str, int] = field(default_factory=dict)


class Outbox:
    """Bounded fact queue with watermarks, a telemetry lane, and a delivery pump to the `FactSink`."""

    def __init__(
        self,
        settings: OutboxSettings,
        sink: FactSink,
        health: HealthMonitor,
        clock: Clock,
        *,
        telemetry_sink: TelemetrySink | None = None,
        batch_max: int = 512,
        retry_delay_s: float = 0.2,
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._health = health
        self._clock = clock
        self._telemetry_sink = telemetry_sink or LogTelemetrySink()
        self._batch_max = batch_max
        self._retry_delay_s = retry_delay_s
        self._facts: deque[FactEnvelope] = deque()
        self._telemetry: deque[dict[str, Any]] = deque()
        self.next_delivery_seq: Callable[[], int] = itertools.count(1).__next__
        """Reserve the next delivery sequence number (the counter's own `__next__`: one builtin call per fact)."""
        self._capacity = settings.capacity
        self._high = max(1, int(settings.capacity * settings.high_watermark))
        self._low = int(settings.capacity * settings.low_watermark)
        self._backpressure = False
        self._shed_since_summary = 0
        self._work = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self.counters = OutboxCounters()

    # -- the platform side (FactWriter) -------------------------------------------------------------

    def put(self, envelope: FactEnvelope) -> None:
        """Queue one fact. Never drops and never blocks; watch `has_room` between frames."""
        facts = self._facts
        facts.append(envelope)
        counters = self.counters
        counters.received += 1
        # FactKind is a StrEnum: the member is its own key (`.value` costs an enum descriptor call per fact).
        by_kind = counters.by_kind
        kind = envelope.kind
        by_kind[kind] = by_kind.get(kind, 0) + 1
        depth = len(facts)
        if depth > counters.peak_depth:
            counters.peak_depth = depth
        if depth >= self._high:
            if not self._backpressure:
                self._enter_backpressure(depth)
            if depth >= self._capacity and self._room.is_set():
                self._room.clear()
                counters.reader_pauses += 1
        if depth == 1:  # the queue was empty: the pump may be waiting, and `drained` no longer holds
            self._drained.clear()
            self._work.set()

    @property
    def has_room(self) -> bool:
        """False at capacity: readers must stop reading their sockets until `wait_for_room` returns."""
        return self._room.is_set()

    async def wait_for_room(self) -> None:
        """Wait until the outbox is back under capacity."""
        await self._room.wait()

    # -- telemetry --------------------------------------------------------------------------------

    def put_telemetry(self, record: dict[str, Any]) -> bool:
        """Queue an optional telemetry record; returns False if it was shed."""
        self.counters.telemetry_received += 1
        if self._backpressure:
            self._shed(1)
            return False
        if len(self._telemetry) >= self._settings.telemetry_capacity:
            self._telemetry.popleft()
            self._shed(1)
        self._telemetry.append(record)
        self._work.set()
        return True

    def _shed(self, count: int) -> None:
        self.counters.telemetry_shed += count
        self._shed_since_summary += count

    # -- state --------------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Facts waiting for delivery."""
        return len(self._facts)

    @property
    def capacity(self) -> int:
        """The configured capacity."""
        return self._capacity

    @property
    def watermarks(self) -> tuple[int, int]:
        """(low, high) in facts."""
        return (self._low, self._high)

    @property
    def in_backpressure(self) -> bool:
        """True between crossing the high watermark and falling under the low one."""
        return self._backpressure

    async def drained(self) -> None:
        """Wait until every queued fact has been delivered."""
        await self._drained.wait()

    def _enter_backpressure(self, depth: int) -> None:
        self._backpressure = True
        self.counters.high_watermark_crossings += 1
        self.counters.escalation_depth = depth
        shed = len(self._telemetry)
        self._telemetry.clear()
        self._shed(shed)
        self._health.raise_condition(
            _BACKPRESSURE_KEY,
            HealthReason.CONSUMER_BACKPRESSURE,
            HealthState.DEGRADED,
            halt=True,
            detail=(
                f"U is not keeping up: {depth} facts waiting (high watermark {self._high}, capacity "
                f"{self._capacity}); telemetry is being shed, facts are kept; halt trading until it drains"
            ),
        )
        _log.warning("outbox_backpressure", depth=depth, high=self._high, capacity=self._capacity)

    def _after_delivery(self) -> None:
        depth = len(self._facts)
        if not self._room.is_set() and depth < self._capacity:
            self._room.set()
        if self._backpressure and depth <= self._low:
            self._backpressure = False
            self._health.clear(_BACKPRESSURE_KEY)
            _log.info("outbox_recovered", depth=depth, telemetry_shed=self._shed_since_summary)
            if self._shed_since_summary:
                self._telemetry.append({"event": "telemetry_shed", "count": self._shed_since_summary})
                self._shed_since_summary = 0
        if depth == 0:
            self._drained.set()

    # -- the pump -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver facts (first) and telemetry (when no fact waits) until cancelled. Never drops a fact."""
        while True:
            if not self._facts and not self._telemetry:
                self._work.clear()
                await self._work.wait()
                continue
            if self._facts:
                await self._deliver_facts()
            else:
                await self._deliver_telemetry()

    async def _deliver_facts(self) -> None:
        batch = list(itertools.islice(self._facts, 0, self._batch_max))
        try:
            await self._sink.deliver(batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the transport refused: keep the batch, escalate, retry
            self.counters.sink_failures += 1
            self._health.raise_condition(
                _SINK_KEY,
                HealthReason.CONSUMER_BACKPRESSURE,
                HealthState.DEGRADED,
                halt=True,
                detail=f"fact transport refused delivery ({type(exc).__name__}: {exc}); facts are kept and retried",
            )
            _log.warning("fact_sink_failed", error=f"{type(exc).__name__}: {exc}", depth=len(self._facts))
            await self._clock.sleep(self._retry_delay_s)
            return
        for _ in batch:
            self._facts.popleft()
        self.counters.delivered += len(batch)
        self._health.clear(_SINK_KEY)
        self._after_delivery()

    async def _deliver_telemetry(self) -> None:
        batch = list(self._telemetry)
        self._telemetry.clear()
        try:
            await self._telemetry_sink.emit(batch)
        except asyncio.CancelledError:
            raise
        except Exception:  # telemetry is optional: count it as shed and move on
            self._shed(len(batch))
            return
        self.counters.telemetry_delivered += len(batch)
