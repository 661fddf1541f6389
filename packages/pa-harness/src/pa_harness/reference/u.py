"""Reference U: logs every fact, writes the LIVE EventStream and the BarStream, keeps ticks raw, checks delivery.

U is the sole BarStream writer and the LIVE EventStream writer (spec 0.2). It reads the PA's facts from
a queue (`run`) or from any transport (`accept`, `deliver`), and reports a hole in `delivery_seq` loudly:
an ERROR log line, a `delivery_holes` row, a counter, and a `delivery_hole` EventStream row for OE.

Fencing (ADR 0012): a fact whose `lease_epoch` is below the greatest U has seen was written by a deposed PA
tenure (late). U flags it (`fenced` in its log, a counter, one ERROR line per deposed tenure) and keeps it out of
the current run's `delivery_seq` bookkeeping, so it can neither open a false hole nor restart the numbering. It
does not refuse it: it is still a message Tradovate sent, and dropping it could lose a fact.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from pa_harness.reference.bar_stream import BarStreamWriter
from pa_harness.reference.event_stream import EventStreamWriter
from pa_harness.reference.records import LIVE, BarRecord, DeliveryHole, EventRecord, FormingBar
from pa_harness.reference.store import open_db
from platform_adapter.mic import SOURCE_TRADOVATE, FactEnvelope, FactKind, FactMode, PacketLabel, Stream
from platform_adapter.telemetry import get_logger

_log = get_logger("pa_harness.reference.u")

_CHART_STREAMS = frozenset({Stream.CHART_BAR, Stream.CHART_TICK, Stream.CHART_EOH, Stream.CHART})
_EVENT_KINDS = frozenset({FactKind.PLATFORM_EVENT, FactKind.GAP, FactKind.UNDECODABLE})


@dataclass(frozen=True, slots=True)
class UCounters:
    """What U has seen since it started."""

    facts: int  # envelopes received, redeliveries included
    by_kind_stream: dict[tuple[str, str], int] = field(default_factory=dict)
    redeliveries: int = 0  # same delivery_seq, same content: logged, not processed again
    late: int = 0  # a delivery_seq inside an earlier hole, arriving after it was reported
    holes: int = 0
    missing: int = 0  # envelopes never received, summed over holes
    resets: int = 0  # delivery_seq started over (a new PA run)
    fenced: int = 0  # facts from a deposed PA tenure (lease_epoch below the greatest seen), kept and flagged
    events_written: int = 0
    sim_events_not_written: int = 0  # SIM platform events are Paper's to write (spec 0.2)
    bars_written: int = 0
    forming_updates: int = 0
    bar_duplicates: int = 0
    bar_revisions: int = 0
    bars_malformed: int = 0
    bars_unattributed: int = 0
    tick_packets: int = 0
    eoh_markers: int = 0
    charts_unreadable: int = 0

    def received(self, kind: str, stream: str | None = None) -> int:
        """Envelopes received of `kind` (and `stream`, when given)."""
        return sum(n for (k, s), n in self.by_kind_stream.items() if k == kind and stream in (None, s))


def _labelled(envelope: FactEnvelope, labels: tuple[PacketLabel, ...], index: int) -> FactEnvelope:
    """The envelope as one packet of it is labelled (the PA labels each packet when they differ, ADR 0014)."""
    if index >= len(labels):
        return msgspec.structs.replace(envelope, symbol=None, contract_id=None, timeframe=None, historical=None)
    label = labels[index]
    return msgspec.structs.replace(
        envelope,
        symbol=label.symbol,
        contract_id=label.contract_id,
        timeframe=label.timeframe,
        historical=label.historical,
        backfill=label.backfill,
    )


def _scalar(value: Any) -> int | float | str | None:
    """A JSON value SQLite can bind: scalars as they are, anything else as JSON text."""
    if value is None or isinstance(value, int | float | str):
        return value
    return msgspec.json.encode(value).decode()


class ReferenceU:
    """The reference U: one instance per database; not the PA (the PA never imports it)."""

    def __init__(self, db: sqlite3.Connection | str | Path, *, batch_max: int = 500) -> None:
        self._owns_db = not isinstance(db, sqlite3.Connection)
        self._db = db if isinstance(db, sqlite3.Connection) else open_db(db)
        self._batch_max = batch_max
        self._events = EventStreamWriter(self._db)
        self._bars = BarStreamWriter(self._db)
        self._by_kind_stream: Counter[tuple[str, str]] = Counter()
        self._n: Counter[str] = Counter()
        self._holes: list[DeliveryHole] = []
        self._changed = asyncio.Event()
        self._consuming = asyncio.Event()
        self._consuming.set()
        # Continue the numbering a previous U left in this database: a restarted U is not a hole.
        last = self._db.execute(
            "SELECT segment, delivery_seq, run_id FROM facts WHERE redelivery = 0 AND fenced = 0"
            " ORDER BY fact_id DESC LIMIT 1"
        ).fetchone()
        self._segment: int = last["segment"] if last else 1
        self._expected: int = last["delivery_seq"] + 1 if last else 1
        self._run_id: str = last["run_id"] if last else ""
        self._lease_epoch: int | None = self._db.execute("SELECT MAX(lease_epoch) FROM facts").fetchone()[0]
        self._fenced_tenures: set[tuple[str, int]] = set()

    @property
    def db(self) -> sqlite3.Connection:
        """The connection U writes through."""
        return self._db

    def close(self) -> None:
        """Close the database if U opened it."""
        if self._owns_db:
            self._db.close()

    async def run(self, queue: asyncio.Queue[FactEnvelope]) -> None:
        """Consume the PA's fact queue until cancelled, committing a transaction per drained batch."""
        while True:
            await self._consuming.wait()
            batch = [await queue.get()]
            while len(batch) < self._batch_max and not queue.empty():
                batch.append(queue.get_nowait())
            self.accept_batch(batch)
            for _ in batch:
                queue.task_done()

    def stall(self) -> None:
        """Stop consuming (a slow or blocked U, for backpressure tests); the queue then fills up."""
        self._consuming.clear()

    def resume(self) -> None:
        """Consume again after `stall`."""
        self._consuming.set()

    @property
    def stalled(self) -> bool:
        """True between `stall` and `resume`."""
        return not self._consuming.is_set()

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        """FactSink: take a batch directly from the PA's outbox."""
        self.accept_batch(batch)

    def accept(self, envelope: FactEnvelope) -> None:
        """Take one envelope from any transport."""
        self.accept_batch((envelope,))

    def accept_batch(self, envelopes: Iterable[FactEnvelope]) -> None:
        """Take envelopes in delivery order, in one transaction."""
        with self._db:
            for envelope in envelopes:
                self._ingest(envelope)
        self._changed.set()
        self._changed = asyncio.Event()

    def _ingest(self, envelope: FactEnvelope) -> None:
        self._n["facts"] += 1
        self._by_kind_stream[(str(envelope.kind), str(envelope.stream))] += 1
        epoch = envelope.lease_epoch
        if epoch is not None:
            if self._lease_epoch is not None and epoch < self._lease_epoch:
                self._fenced(envelope, epoch)
                return
            self._lease_epoch = epoch
        seq = envelope.delivery_seq
        reset_from: tuple[int, int] | None = None
        if envelope.run_id and self._run_id and envelope.run_id != self._run_id:
            # Another PA run took over (a restart, a failover): its numbering starts afresh.
            reset_from = (self._segment, self._expected - 1)
            self._segment += 1
            self._expected = 1
        elif seq < self._expected:
            prior = self._db.execute(
                "SELECT recv_ts, connection_id, payload FROM facts"
                " WHERE segment = ? AND delivery_seq = ? AND redelivery = 0 AND fenced = 0 LIMIT 1",
                (self._segment, seq),
            ).fetchone()
            if prior is None:
                # A number inside a hole already reported: process it, keep the hole on record.
                self._n["late"] += 1
                _log.warning("delivery_late", delivery_seq=seq, expected=self._expected)
                self._route(envelope, self._log_fact(envelope, redelivery=False))
                return
            if (prior["recv_ts"], prior["connection_id"], prior["payload"]) == (
                envelope.recv_ts,
                envelope.connection_id,
                bytes(envelope.payload).decode("utf-8", "replace"),
            ):
                # The PA's outbox retries a batch it could not confirm: same fact again, logged, not reprocessed.
                self._n["redeliveries"] += 1
                self._log_fact(envelope, redelivery=True)
                return
            reset_from = (self._segment, self._expected - 1)
            self._segment += 1
            self._expected = 1
        hole = (self._expected, seq) if seq > self._expected else None
        self._expected = seq + 1
        self._run_id = envelope.run_id or self._run_id
        fact_id = self._log_fact(envelope, redelivery=False)
        if reset_from is not None:
            self._record_reset(envelope, fact_id, *reset_from)
        if hole is not None:
            self._record_hole(envelope, fact_id, *hole)
        self._route(envelope, fact_id)

    def _fenced(self, envelope: FactEnvelope, epoch: int) -> None:
        """A deposed tenure's late write: kept and flagged, outside the current run's delivery_seq bookkeeping."""
        # Taken before (fenced or, before the next tenure's first fact, as current): a redelivery, not a new fact.
        prior = self._db.execute(
            "SELECT 1 FROM facts WHERE run_id = ? AND lease_epoch = ? AND delivery_seq = ? AND redelivery = 0 LIMIT 1",
            (envelope.run_id, epoch, envelope.delivery_seq),
        ).fetchone()
        if prior is not None:
            self._n["redeliveries"] += 1
            self._log_fact(envelope, redelivery=True, fenced=True)
            return
        self._n["fenced"] += 1
        if (envelope.run_id, epoch) not in self._fenced_tenures:
            self._fenced_tenures.add((envelope.run_id, epoch))
            _log.error(
                "fact_from_deposed_pa",
                detail="a PA tenure that lost the lease wrote this fact late; kept and flagged (fenced)",
                run_id=envelope.run_id,
                lease_epoch=epoch,
                current_lease_epoch=self._lease_epoch,
                delivery_seq=envelope.delivery_seq,
            )
        self._route(envelope, self._log_fact(envelope, redelivery=False, fenced=True))

    def _log_fact(self, envelope: FactEnvelope, *, redelivery: bool, fenced: bool = False) -> int:
        cursor = self._db.execute(
            "INSERT INTO facts (segment, delivery_seq, redelivery, kind, stream, mode, source, recv_ts, connection,"
            " connection_id, epoch, platform_ts, platform_seq, contract_id, symbol, account_id, correlation_id,"
            " request_id, timeframe, historical, backfill, packets, v, payload, run_id, lease_epoch, fenced)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self._segment,
                envelope.delivery_seq,
                int(redelivery),
                str(envelope.kind),
                str(envelope.stream),
                str(envelope.mode),
                envelope.source,
                envelope.recv_ts,
                envelope.connection,
                envelope.connection_id,
                envelope.epoch,
                envelope.platform_ts,
                envelope.platform_seq,
                envelope.contract_id,
                envelope.symbol,
                envelope.account_id,
                envelope.correlation_id,
                envelope.request_id,
                envelope.timeframe,
                None if envelope.historical is None else int(envelope.historical),
                int(envelope.backfill),
                None if envelope.packets is None else msgspec.json.encode(envelope.packets).decode(),
                envelope.v,
                bytes(envelope.payload).decode("utf-8", "replace"),
                envelope.run_id,
                envelope.lease_epoch,
                int(fenced),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _record_reset(self, envelope: FactEnvelope, fact_id: int, old_segment: int, last: int) -> None:
        self._n["resets"] += 1
        _log.info("delivery_seq_restarted", old_segment=old_segment, last=last, got=envelope.delivery_seq)
        self._db.execute(
            "INSERT INTO delivery_resets (old_segment, last_delivery_seq, got_delivery_seq, fact_id)"
            " VALUES (?, ?, ?, ?)",
            (old_segment, last, envelope.delivery_seq, fact_id),
        )

    def _record_hole(self, envelope: FactEnvelope, fact_id: int, expected: int, got: int) -> None:
        hole = DeliveryHole(
            segment=self._segment, expected=expected, got=got, missing=got - expected, recv_ts=envelope.recv_ts
        )
        self._holes.append(hole)
        self._n["holes"] += 1
        self._n["missing"] += hole.missing
        _log.error(
            "delivery_hole",
            detail="facts were lost between the PA and U; canonical capture is incomplete",
            segment=hole.segment,
            expected=expected,
            got=got,
            missing=hole.missing,
        )
        self._db.execute(
            "INSERT INTO delivery_holes (segment, expected_delivery_seq, got_delivery_seq, missing, fact_id, recv_ts)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (hole.segment, expected, got, hole.missing, fact_id, envelope.recv_ts),
        )
        if envelope.mode == FactMode.LIVE:
            payload = {
                "platform": envelope.source,
                "stream": "delivery",
                "segment": hole.segment,
                "expected_delivery_seq": expected,
                "got_delivery_seq": got,
                "missing": hole.missing,
                "recv_ts": envelope.recv_ts,
            }
            self._events.write(LIVE, "delivery_hole", envelope.recv_ts, payload)
            self._n["events_written"] += 1

    def _route(self, envelope: FactEnvelope, fact_id: int) -> None:
        if envelope.kind in _EVENT_KINDS:
            if envelope.mode == FactMode.LIVE:
                self._events.write_fact(envelope)
                self._n["events_written"] += 1
            else:
                self._n["sim_events_not_written"] += 1
        elif envelope.kind == FactKind.MARKET and envelope.stream in _CHART_STREAMS:
            self._accept_chart(envelope, fact_id)
        # Quotes, DOM and histograms stay in the facts log: BarStream comes from platform bars only.

    def _accept_chart(self, envelope: FactEnvelope, fact_id: int) -> None:
        try:
            message = msgspec.json.decode(envelope.payload)
        except msgspec.DecodeError:
            self._n["charts_unreadable"] += 1
            return
        body = message.get("d") if isinstance(message, dict) else None
        charts = body.get("charts") if isinstance(body, dict) else None
        if not isinstance(charts, list):
            self._n["charts_unreadable"] += 1
            return
        labels = envelope.packets
        for index, chart in enumerate(charts):
            # Packets of several subscriptions (or history and live) in one message carry their own labels.
            packet = envelope if labels is None else _labelled(envelope, labels, index)
            if not isinstance(chart, dict):
                self._n["charts_unreadable"] += 1
            elif chart.get("eoh") is True:
                self._n["eoh_markers"] += 1
            elif "tks" in chart:
                self._store_ticks(packet, chart, fact_id)
            elif "bars" in chart:
                self._bars.accept_chart(packet, chart, fact_id)
            else:
                self._n["charts_unreadable"] += 1

    def _store_ticks(self, envelope: FactEnvelope, chart: dict[str, Any], fact_id: int) -> None:
        self._db.execute(
            "INSERT INTO ticks (fact_id, mode, source, symbol, contract_id, timeframe, subscription_id, td, s, bp, bt,"
            " ts, tks, historical, backfill, recv_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fact_id,
                str(envelope.mode),
                envelope.source,
                envelope.symbol,
                envelope.contract_id,
                envelope.timeframe,
                _scalar(chart.get("id")),
                _scalar(chart.get("td")),
                _scalar(chart.get("s")),
                _scalar(chart.get("bp")),
                _scalar(chart.get("bt")),
                _scalar(chart.get("ts")),
                msgspec.json.encode(chart.get("tks")).decode(),
                None if envelope.historical is None else int(envelope.historical),
                int(envelope.backfill),
                envelope.recv_ts,
            ),
        )
        self._n["tick_packets"] += 1

    @property
    def counters(self) -> UCounters:
        """A snapshot of U's counters."""
        n, bars = self._n, self._bars
        return UCounters(
            facts=n["facts"],
            by_kind_stream=dict(self._by_kind_stream),
            redeliveries=n["redeliveries"],
            late=n["late"],
            holes=n["holes"],
            missing=n["missing"],
            resets=n["resets"],
            fenced=n["fenced"],
            events_written=n["events_written"],
            sim_events_not_written=n["sim_events_not_written"],
            bars_written=bars.written,
            forming_updates=bars.forming_updates,
            bar_duplicates=bars.duplicates,
            bar_revisions=bars.revisions,
            bars_malformed=bars.malformed,
            bars_unattributed=bars.unattributed,
            tick_packets=n["tick_packets"],
            eoh_markers=n["eoh_markers"],
            charts_unreadable=n["charts_unreadable"],
        )

    def bars(self, symbol: str, timeframe: str, *, mode: str = LIVE, source: str = SOURCE_TRADOVATE) -> list[BarRecord]:
        """BarStream rows of one series, in write (seq) order."""
        return self._bars.bars(symbol, timeframe, mode, source)

    def forming_bar(
        self, symbol: str, timeframe: str, *, mode: str = LIVE, source: str = SOURCE_TRADOVATE
    ) -> FormingBar | None:
        """The latest version of the bar still forming in a series."""
        return self._bars.forming(symbol, timeframe, mode, source)

    def events(self, mode: str = LIVE) -> list[EventRecord]:
        """EventStream rows U wrote for `mode`, in seq order."""
        return self._events.records(mode)

    def subscribe_events(self, mode: str = LIVE, from_seq: int = 1) -> asyncio.Queue[EventRecord]:
        """A queue of EventStream rows from `from_seq` on (backlog first), for Paper."""
        return self._events.subscribe(mode, from_seq)

    def unsubscribe_events(self, queue: asyncio.Queue[EventRecord]) -> None:
        """Stop feeding a queue from `subscribe_events`."""
        self._events.unsubscribe(queue)

    def delivery_holes(self) -> list[DeliveryHole]:
        """Holes in delivery_seq seen since U started."""
        return list(self._holes)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds, re-checking after every accepted batch (bound it with a timeout)."""
        while not predicate():
            await self._changed.wait()
