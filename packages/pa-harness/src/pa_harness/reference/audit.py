"""One audit trail per intent: intent -> receipt-ack -> platform ids -> every fact about them, in delivery order.

Read-only over the reference database (`oe_intents` and U's `facts` log), so it can run while the
demo writes. Facts belong to the trail when they carry the intent id as `correlation_id`, when a
command carries it as `clOrdId`, or when they concern an order or command id already in the trail.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from pa_harness.reference.platform_time import ns_to_iso
from pa_harness.reference.store import open_existing

_SNAPSHOT_ARRAYS = {
    "commands": "command",
    "commandReports": "commandReport",
    "orderVersions": "orderVersion",
    "orders": "order",
    "executionReports": "executionReport",
    "fills": "fill",
}


class IntentNotFound(LookupError):
    """No intent with this id was ever sent by OE into this database."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One platform fact (or one entity inside it) in an intent's trail."""

    fact_id: int
    delivery_seq: int
    recv_ts: int
    platform_ts: str | int | None
    stream: str  # response | props | sync_snapshot
    entity_type: str  # response | order | command | commandReport | orderVersion | executionReport | fill
    event_type: str  # Created | Updated | Deleted | snapshot | s=<status>
    entity_id: int | None
    order_id: int | None
    status: str
    detail: str
    correlated: bool  # carried the intent id as correlation_id
    entity: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """Everything the reference database knows about one intent."""

    intent_id: str
    intent_type: str
    intent: dict[str, Any]
    sent_ts: int
    ack_status: str | None
    ack: dict[str, Any] | None
    ack_ts: int | None
    request_ids: tuple[int, ...]  # Tradovate request ids (`i`) of the responses to this intent
    order_ids: tuple[int, ...]
    command_ids: tuple[int, ...]
    entries: tuple[AuditEntry, ...]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _describe(entity_type: str, entity: dict[str, Any], intent_id: str) -> tuple[str, str]:
    """(status, detail) columns for one entity."""
    get = entity.get
    if entity_type == "response":
        failure = get("failureReason")
        return (str(failure) if failure else "ok", _fmt(get("failureText")) or _fmt(get("errorText")))
    if entity_type == "order":
        return (_fmt(get("ordStatus")), _fmt(get("action")))
    if entity_type == "executionReport":
        status = f"{_fmt(get('execType'))}/{_fmt(get('ordStatus'))}"
        fill = f"{_fmt(get('lastQty'))}@{_fmt(get('lastPx'))}" if get("lastQty") is not None else ""
        return (
            status,
            " ".join(x for x in (fill, f"cum {_fmt(get('cumQty'))}" if get("cumQty") is not None else "") if x),
        )
    if entity_type == "fill":
        active = "" if get("active") is not False else " inactive"
        return ("fill", f"{_fmt(get('action'))} {_fmt(get('qty'))}@{_fmt(get('price'))}{active}")
    if entity_type == "command":
        clordid = get("clOrdId")
        shown = "= intent_id" if clordid == intent_id else _fmt(clordid)  # the PA sends the intent id as clOrdId
        return (f"{_fmt(get('commandType'))}/{_fmt(get('commandStatus'))}", f"clOrdId {shown}")
    if entity_type == "commandReport":
        return (_fmt(get("commandStatus")), " ".join(_fmt(x) for x in (get("ordStatus"), get("rejectReason")) if x))
    if entity_type == "orderVersion":
        return ("", f"{_fmt(get('orderType'))} {_fmt(get('orderQty'))} {_fmt(get('price'))}".strip())
    return ("", "")


def _items(row: sqlite3.Row, intent_id: str) -> Iterator[AuditEntry]:
    """The entities one fact carries, as candidate audit entries."""
    message = _dict(msgspec.json.decode(row["payload"]))
    correlated = row["correlation_id"] == intent_id
    common = {
        "fact_id": row["fact_id"],
        "delivery_seq": row["delivery_seq"],
        "recv_ts": row["recv_ts"],
        "platform_ts": row["platform_ts"],
        "stream": row["stream"],
    }
    entities: list[tuple[str, str, Any, bool]] = []
    if row["stream"] == "response":
        entities.append(("response", f"s={message.get('s')}", message.get("d"), correlated))
    elif row["stream"] == "props":
        body = _dict(message.get("d"))
        found = body.get("entity")
        for entity in found if isinstance(found, list) else [found]:
            entities.append((str(body.get("entityType")), str(body.get("eventType")), entity, correlated))
    else:
        # A snapshot is about every order at once: its items join the trail only by id, never by correlation.
        snapshot = _dict(message.get("d"))
        for key, entity_type in _SNAPSHOT_ARRAYS.items():
            found = snapshot.get(key)
            for entity in found if isinstance(found, list) else []:
                entities.append((entity_type, "snapshot", entity, False))
    for entity_type, event_type, value, is_correlated in entities:
        entity = _dict(value) if entity_type != "response" or isinstance(value, dict) else {"d": value}
        order_id = _int(entity.get("id")) if entity_type == "order" else _int(entity.get("orderId"))
        status, detail = _describe(entity_type, entity, intent_id)
        yield AuditEntry(
            **common,
            entity_type=entity_type,
            event_type=event_type,
            entity_id=None if entity_type == "response" else _int(entity.get("id")),
            order_id=order_id,
            status=status,
            detail=detail,
            correlated=is_correlated,
            entity=entity,
        )


def _belongs(entry: AuditEntry, intent_id: str, order_ids: set[int], command_ids: set[int]) -> bool:
    if entry.correlated or (entry.order_id is not None and entry.order_id in order_ids):
        return True
    if entry.entity_type == "command":
        return entry.entity.get("clOrdId") == intent_id or entry.entity_id in command_ids
    return entry.entity_type in ("commandReport", "executionReport") and entry.entity.get("commandId") in command_ids


def audit_trail(db: sqlite3.Connection | str | Path, intent_id: str) -> AuditTrail:
    """The audit trail of one intent; raises IntentNotFound if OE never sent it."""
    connection = db if isinstance(db, sqlite3.Connection) else open_existing(db)
    try:
        return _trail(connection, intent_id)
    finally:
        if connection is not db:
            connection.close()


def _trail(db: sqlite3.Connection, intent_id: str) -> AuditTrail:
    row = db.execute(
        "SELECT intent_id, type, body, sent_ts, ack_status, ack_body, ack_ts FROM oe_intents WHERE intent_id = ?",
        (intent_id,),
    ).fetchone()
    if row is None:
        raise IntentNotFound(f"no intent {intent_id!r} in oe_intents")
    intent = _dict(msgspec.json.decode(row["body"]))
    ack: dict[str, Any] | None = None
    if row["ack_status"] not in (None, "error"):
        ack = _dict(msgspec.json.decode(row["ack_body"]))
    order_ids: set[int] = set()
    command_ids: set[int] = set()
    if ack is not None:
        for order_id in (ack.get("platform_order_id"), *ack.get("platform_order_ids", ())):
            if _int(order_id) is not None:
                order_ids.add(order_id)
        if _int(ack.get("platform_command_id")) is not None:
            command_ids.add(ack["platform_command_id"])
    if _int(intent.get("order_id")) is not None:
        order_ids.add(intent["order_id"])  # a cancel / modify concerns that order from the start
    facts = db.execute(
        "SELECT fact_id, delivery_seq, recv_ts, platform_ts, stream, correlation_id, request_id, payload FROM facts"
        " WHERE kind = 'platform_event' AND redelivery = 0 AND stream IN ('response', 'props', 'sync_snapshot')"
        " ORDER BY fact_id"
    ).fetchall()
    candidates = [entry for fact in facts for entry in _items(fact, intent_id)]
    request_ids = sorted({f["request_id"] for f in facts if f["correlation_id"] == intent_id and f["request_id"]})
    # Ids found in one fact pull in others (a command id leads to its reports): repeat until nothing new.
    while True:
        before = (len(order_ids), len(command_ids))
        for entry in candidates:
            if not _belongs(entry, intent_id, order_ids, command_ids):
                continue
            if entry.order_id is not None:
                order_ids.add(entry.order_id)
            if entry.entity_type == "command" and entry.entity_id is not None:
                command_ids.add(entry.entity_id)
            command_id = _int(entry.entity.get("commandId"))
            if command_id is not None:
                command_ids.add(command_id)
        if (len(order_ids), len(command_ids)) == before:
            break
    entries = tuple(e for e in candidates if _belongs(e, intent_id, order_ids, command_ids))
    return AuditTrail(
        intent_id=intent_id,
        intent_type=row["type"],
        intent=intent,
        sent_ts=row["sent_ts"],
        ack_status=row["ack_status"],
        ack=ack if ack is not None else ({"error": row["ack_body"]} if row["ack_status"] == "error" else None),
        ack_ts=row["ack_ts"],
        request_ids=tuple(request_ids),
        order_ids=tuple(sorted(order_ids)),
        command_ids=tuple(sorted(command_ids)),
        entries=entries,
    )


def render_audit(trail: AuditTrail) -> str:
    """The trail as text: the intent, its ack, its platform ids, then one line per fact in delivery order."""
    body = {k: v for k, v in trail.intent.items() if k not in ("intent_id", "type", "v", "sent_ts") and v is not None}
    lines = [
        f"intent   {trail.intent_id}  {trail.intent_type}  sent {ns_to_iso(trail.sent_ts)}",
        f"         {msgspec.json.encode(body).decode()}",
    ]
    if trail.ack is None:
        lines.append("ack      (none recorded)")
    else:
        ack = trail.ack
        parts = [f"ack      {trail.ack_status}"]
        if trail.ack_ts is not None:
            parts.append(f"at {ns_to_iso(trail.ack_ts)}")
        for key in ("reason", "platform_order_id", "platform_command_id", "failure_reason", "detail", "error"):
            if ack.get(key):
                parts.append(f"{key}={ack[key]}")
        if ack.get("platform_order_ids"):
            parts.append(f"platform_order_ids={list(ack['platform_order_ids'])}")
        lines.append("  ".join(parts))
    lines.append(
        f"platform requests={list(trail.request_ids)}  orderIds={list(trail.order_ids)}"
        f"  commandIds={list(trail.command_ids)}"
    )
    header = ("dseq", "recv_ts", "stream", "entity", "event", "id", "orderId", "status", "detail", "corr")
    rows = [
        (
            str(e.delivery_seq),
            ns_to_iso(e.recv_ts),
            e.stream,
            e.entity_type,
            e.event_type,
            _fmt(e.entity_id),
            _fmt(e.order_id),
            e.status,
            e.detail,
            "yes" if e.correlated else "",
        )
        for e in trail.entries
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines.append("")
    for cells in (header, *rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    if not rows:
        lines.append("(no platform facts for this intent yet)")
    return "\n".join(lines) + "\n"
