"""Intent outcomes learned from facts: which platform orders an intent owns, and their latest status.

A receipt-ack says whether the PA took a request; it is never an outcome (spec 3.2). The tracker links an
intent to platform orders by the ids the ack and the facts carry (ack order ids, response `orderId`,
`correlation_id`, a command's `clOrdId`), and takes order statuses only from facts: executionReport /
order / commandReport `ordStatus`, fills against the order quantity, and a placement response's
`failureReason`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from pa_harness.reference.records import EventRecord
from platform_adapter.mic import Cancel, CancelReplace, Intent, ReceiptAck, SubmitOrder

TERMINAL_STATUSES = frozenset({"Filled", "Canceled", "Rejected", "Expired", "Completed"})
# Snapshot arrays in the order that lets each one link to the ones before it (commands carry clOrdId).
_SNAPSHOT_ARRAYS = (
    ("commands", "command"),
    ("orderVersions", "orderVersion"),
    ("orders", "order"),
    ("commandReports", "commandReport"),
    ("executionReports", "executionReport"),
    ("fills", "fill"),
)


@dataclass(frozen=True, slots=True)
class OutcomeStep:
    """One fact that moved (or was checked against) an intent's outcome."""

    event_seq: int
    entity_type: str  # executionReport | order | fill | commandReport | response
    order_id: int | None
    status: str | None
    detail: str = ""


@dataclass
class IntentOutcome:
    """What OE knows of one intent: its acks, its platform ids, and the latest order status from facts."""

    intent: Intent
    acks: list[ReceiptAck] = field(default_factory=list)
    status: str | None = None
    order_ids: set[int] = field(default_factory=set)
    order_status: dict[int, str] = field(default_factory=dict)
    command_ids: set[int] = field(default_factory=set)
    command_status: str | None = None
    filled_qty: float = 0.0
    steps: list[OutcomeStep] = field(default_factory=list)

    @property
    def intent_id(self) -> str:
        """The intent's id."""
        return self.intent.intent_id

    @property
    def ack(self) -> ReceiptAck | None:
        """The first receipt-ack (a repeated send gets the same one back)."""
        return self.acks[0] if self.acks else None


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _entities(value: Any) -> list[dict[str, Any]]:
    """A props `entity` is an object or an array of objects."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


class OutcomeTracker:
    """Per-intent outcomes, updated from acks (ids only) and EventStream rows (statuses)."""

    def __init__(self) -> None:
        self._outcomes: dict[str, IntentOutcome] = {}
        self._intents_by_order: dict[int, set[str]] = {}
        self._order_of_command: dict[int, int] = {}
        self._order_status: dict[int, str] = {}
        self._order_qty: dict[int, float] = {}
        self._order_fills: dict[int, dict[int, float]] = {}

    def register(self, intent: Intent) -> IntentOutcome:
        """Start tracking an intent about to be sent (idempotent per intent_id)."""
        outcome = self._outcomes.setdefault(intent.intent_id, IntentOutcome(intent=intent))
        if isinstance(intent, Cancel | CancelReplace):
            self._link(intent.order_id, outcome)
        return outcome

    def on_ack(self, ack: ReceiptAck) -> None:
        """Record an ack; its ids only say which platform orders to watch, never how they ended."""
        outcome = self._outcomes[ack.intent_id]
        outcome.acks.append(ack)
        for order_id in (ack.platform_order_id, *ack.platform_order_ids):
            if order_id is not None:
                self._link(order_id, outcome)
        if ack.platform_command_id is not None:
            outcome.command_ids.add(ack.platform_command_id)

    def get(self, intent_id: str) -> IntentOutcome:
        """The outcome of one intent (KeyError if never registered)."""
        return self._outcomes[intent_id]

    def all(self) -> list[IntentOutcome]:
        """Every tracked intent, in registration order."""
        return list(self._outcomes.values())

    def apply(self, record: EventRecord) -> None:
        """Take one EventStream row."""
        payload = _as_dict(msgspec.json.decode(record.payload))
        raw = _as_dict(payload.get("raw"))
        correlation_id = payload.get("correlation_id")
        intent = self._outcomes.get(correlation_id) if isinstance(correlation_id, str) else None
        stream = payload.get("stream")
        if stream == "props":
            body = _as_dict(raw.get("d"))
            entity_type = body.get("entityType")
            if isinstance(entity_type, str):
                for entity in _entities(body.get("entity")):
                    self._apply_entity(record.seq, entity_type, entity, intent)
        elif stream == "response" and intent is not None:
            self._apply_response(record.seq, raw, intent)
        elif stream == "sync_snapshot":
            # A snapshot belongs to no single intent: it updates orders already linked, or commands by clOrdId.
            snapshot = _as_dict(raw.get("d"))
            for key, entity_type in _SNAPSHOT_ARRAYS:
                for entity in _entities(snapshot.get(key, [])):
                    self._apply_entity(record.seq, entity_type, entity, None)

    def _apply_response(self, seq: int, raw: dict[str, Any], outcome: IntentOutcome) -> None:
        body = _as_dict(raw.get("d"))
        order_id = _as_int(body.get("orderId"))
        if order_id is not None:
            self._link(order_id, outcome)
        command_id = _as_int(body.get("commandId"))
        if command_id is not None:
            outcome.command_ids.add(command_id)
        failure = body.get("failureReason")
        if isinstance(failure, str) and failure != "Success":
            # The platform's own answer, arriving as a fact: the request was refused.
            outcome.status = "Rejected"
            outcome.steps.append(OutcomeStep(seq, "response", order_id, "Rejected", str(body.get("failureText", ""))))
        else:
            outcome.steps.append(OutcomeStep(seq, "response", order_id, None, f"s={raw.get('s')}"))

    def _apply_entity(
        self, seq: int, entity_type: str, entity: dict[str, Any], correlated: IntentOutcome | None
    ) -> None:
        entity_id = _as_int(entity.get("id"))
        order_id = entity_id if entity_type == "order" else _as_int(entity.get("orderId"))
        if entity_type == "command":
            clordid = entity.get("clOrdId")
            if correlated is None and isinstance(clordid, str):
                correlated = self._outcomes.get(clordid)  # the PA sends the intent id as clOrdId
            if entity_id is not None and order_id is not None:
                self._order_of_command[entity_id] = order_id
        elif entity_type == "commandReport":
            command_id = _as_int(entity.get("commandId"))
            order_id = None if command_id is None else self._order_of_command.get(command_id)
        if order_id is None:
            return
        if correlated is not None:
            self._link(order_id, correlated)
        if entity_type == "orderVersion" and isinstance(entity.get("orderQty"), int | float):
            self._order_qty[order_id] = float(entity["orderQty"])  # a modify changes the quantity to fill
        if entity_type in ("command", "commandReport"):
            self._apply_command(entity_type, entity_id, order_id, entity.get("commandStatus"))
        if entity_type in ("order", "executionReport", "commandReport") and isinstance(entity.get("ordStatus"), str):
            self._set_order_status(seq, entity_type, order_id, entity["ordStatus"])
        elif entity_type == "fill":
            self._apply_fill(seq, order_id, entity)

    def _apply_command(self, entity_type: str, entity_id: int | None, order_id: int, status: Any) -> None:
        for intent_id in self._intents_by_order.get(order_id, ()):
            outcome = self._outcomes[intent_id]
            if entity_type == "command" and entity_id is not None:
                outcome.command_ids.add(entity_id)
            if isinstance(status, str):
                outcome.command_status = status

    def _apply_fill(self, seq: int, order_id: int, fill: dict[str, Any]) -> None:
        fill_id = _as_int(fill.get("id"))
        qty = fill.get("qty")
        if fill_id is None or isinstance(qty, bool) or not isinstance(qty, int | float):
            return
        fills = self._order_fills.setdefault(order_id, {})
        if fill.get("active") is False:
            fills.pop(fill_id, None)  # a busted fill no longer counts
        else:
            fills[fill_id] = float(qty)
        filled = sum(fills.values())
        for intent_id in self._intents_by_order.get(order_id, ()):
            outcome = self._outcomes[intent_id]
            outcome.filled_qty = sum(sum(self._order_fills.get(o, {}).values()) for o in outcome.order_ids)
        target = self._order_qty.get(order_id)
        if target is None:
            # Without the order quantity a fill cannot say whether the order is done; ordStatus facts will.
            self._set_order_status(seq, "fill", order_id, None, detail=f"filled {filled:g}")
        else:
            status = "Filled" if filled >= target else "PartiallyFilled"
            self._set_order_status(seq, "fill", order_id, status, detail=f"filled {filled:g} of {target:g}")

    def _set_order_status(
        self, seq: int, entity_type: str, order_id: int, status: str | None, *, detail: str = ""
    ) -> None:
        current = self._order_status.get(order_id)
        # A late non-terminal report (e.g. Working after Filled) is kept as a step but does not undo the end.
        applied = status
        if status is not None and current in TERMINAL_STATUSES and status not in TERMINAL_STATUSES:
            applied, detail = None, f"{detail} (after {current}: not applied)".strip()
        if applied is not None:
            self._order_status[order_id] = applied
        for intent_id in sorted(self._intents_by_order.get(order_id, ())):
            outcome = self._outcomes[intent_id]
            outcome.steps.append(OutcomeStep(seq, entity_type, order_id, status, detail))
            if applied is not None:
                outcome.order_status[order_id] = applied
                outcome.status = applied

    def _link(self, order_id: int, outcome: IntentOutcome) -> None:
        if order_id in outcome.order_ids:
            return
        outcome.order_ids.add(order_id)
        self._intents_by_order.setdefault(order_id, set()).add(outcome.intent_id)
        if isinstance(outcome.intent, SubmitOrder):
            self._order_qty.setdefault(order_id, float(outcome.intent.qty))
