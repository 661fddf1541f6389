"""U's EventStream writer: canonical rows with `seq` monotonic and contiguous per (mode, source) (spec 5.2)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from typing import Any

import msgspec

from pa_harness.reference.platform_time import platform_ts_to_ns
from pa_harness.reference.records import EVENT_SOURCE_U, EventRecord
from platform_adapter.mic import FactEnvelope, FactKind, Stream


class _PropsBody(msgspec.Struct):
    entityType: str  # noqa: N815 - Tradovate's field name
    eventType: str  # noqa: N815 - Tradovate's field name


class _PropsMessage(msgspec.Struct):
    d: _PropsBody


_props_decoder = msgspec.json.Decoder(_PropsMessage)


def event_type_of(envelope: FactEnvelope) -> str:
    """The EventStream `event_type` of a fact: `props.<entityType>.<eventType>`, `gap`, or the stream name."""
    if envelope.kind == FactKind.GAP:
        return "gap"
    if envelope.kind == FactKind.UNDECODABLE:
        return "undecodable"
    if envelope.stream == Stream.PROPS:
        try:
            body = _props_decoder.decode(envelope.payload).d
        except msgspec.DecodeError:
            return "props"  # still written: the raw message is in the payload for whoever can read it
        return f"props.{body.entityType}.{body.eventType}"
    return str(envelope.stream)


def _raw_json(envelope: FactEnvelope) -> tuple[msgspec.Raw | str, bool]:
    """The envelope payload to embed: verbatim when it is JSON, else as a JSON string (flagged)."""
    try:
        msgspec.json.decode(envelope.payload)
    except msgspec.DecodeError:
        return bytes(envelope.payload).decode("utf-8", "replace"), False
    return envelope.payload, True


class EventStreamWriter:
    """Writes EventStream rows, keeps them in memory by mode, and fans them out to subscribers."""

    def __init__(self, db: sqlite3.Connection, source: str = EVENT_SOURCE_U) -> None:
        self._db = db
        self._source = source
        self._records: dict[str, list[EventRecord]] = {}
        self._subscribers: list[tuple[str, asyncio.Queue[EventRecord]]] = []
        rows = db.execute(
            "SELECT event_id, event_ts, mode, source, event_type, payload, seq FROM event_stream"
            " WHERE source = ? ORDER BY mode, seq",
            (source,),
        )
        for row in rows:
            self._records.setdefault(row["mode"], []).append(EventRecord(**dict(row)))

    def write_fact(self, envelope: FactEnvelope) -> EventRecord:
        """Write one platform_event / gap / undecodable fact as an EventStream row."""
        platform_ns = platform_ts_to_ns(envelope.platform_ts)
        # event_ts is the platform's time when it sent one (props entities, timestamped responses),
        # else U's best knowledge of when it happened: the PA's recv_ts. The payload says which.
        event_ts = platform_ns if platform_ns is not None else envelope.recv_ts
        raw, raw_is_json = _raw_json(envelope)
        payload: dict[str, Any] = {
            "platform": envelope.source,
            "kind": str(envelope.kind),
            "stream": str(envelope.stream),
            "correlation_id": envelope.correlation_id,
            "request_id": envelope.request_id,
            "account_id": envelope.account_id,
            "platform_ts": envelope.platform_ts,
            "recv_ts": envelope.recv_ts,
            "event_ts_from": "platform_ts" if platform_ns is not None else "recv_ts",
            "delivery_seq": envelope.delivery_seq,
            "raw": raw,
        }
        if not raw_is_json:
            payload["raw_is_text"] = True
        return self.write(str(envelope.mode), event_type_of(envelope), event_ts, payload)

    def write(self, mode: str, event_type: str, event_ts: int, payload: dict[str, Any]) -> EventRecord:
        """Append one row with the next seq of (mode, source); the caller commits."""
        records = self._records.setdefault(mode, [])
        record = EventRecord(
            event_id=uuid.uuid4().hex,
            event_ts=event_ts,
            mode=mode,
            source=self._source,
            event_type=event_type,
            payload=msgspec.json.encode(payload).decode(),
            seq=len(records) + 1,
        )
        self._db.execute(
            "INSERT INTO event_stream (event_id, event_ts, mode, source, event_type, payload, seq)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.event_id, record.event_ts, mode, self._source, event_type, record.payload, record.seq),
        )
        records.append(record)
        for wanted_mode, queue in self._subscribers:
            if wanted_mode == mode:
                queue.put_nowait(record)
        return record

    def records(self, mode: str) -> list[EventRecord]:
        """Every row of `mode`, in seq order."""
        return list(self._records.get(mode, ()))

    def subscribe(self, mode: str, from_seq: int = 1) -> asyncio.Queue[EventRecord]:
        """A queue of every row of `mode` from `from_seq` on: the backlog first, then each new row."""
        queue: asyncio.Queue[EventRecord] = asyncio.Queue()  # unbounded: a harness, rows are small
        for record in self._records.get(mode, ())[max(0, from_seq - 1) :]:
            queue.put_nowait(record)
        self._subscribers.append((mode, queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EventRecord]) -> None:
        """Stop feeding `queue`."""
        self._subscribers = [(m, q) for m, q in self._subscribers if q is not queue]
