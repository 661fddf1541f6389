"""The intent ledger: each intent id's first ack (idempotency), and the latch of unknown outcomes."""

from __future__ import annotations

from dataclasses import dataclass

from platform_adapter.mic import AckStatus, ReceiptAck
from platform_adapter.telemetry import get_logger

_log = get_logger("pa.ledger")


@dataclass
class _Unknown:
    intent_id: str
    order_id: int | None


class IntentLedger:
    """Idempotency store and unknown-outcome latch for one PA run."""

    def __init__(self) -> None:
        self._acks: dict[str, tuple[bytes, ReceiptAck]] = {}
        self._unknown: dict[str, _Unknown] = {}
        self._latched_orders: dict[int, str] = {}
        # Facts can show an intent's command before its request times out: remember them, so the `unknown`
        # ack recorded afterwards is resolved at once instead of latching forever.
        self._seen_early: dict[str, str] = {}
        self.resolved: list[tuple[str, str]] = []  # (intent_id, detail), for the status view and tests

    def first_ack(self, intent_id: str) -> tuple[bytes, ReceiptAck] | None:
        """The recorded (fingerprint, ack) of an intent id, if any."""
        return self._acks.get(intent_id)

    def record(self, fingerprint: bytes, ack: ReceiptAck, order_id: int | None) -> None:
        """Record the first ack of an intent; latch the order when the outcome is unknown."""
        self._acks[ack.intent_id] = (fingerprint, ack)
        early = self._seen_early.pop(ack.intent_id, None)
        if ack.status is AckStatus.UNKNOWN:
            self._unknown[ack.intent_id] = _Unknown(ack.intent_id, order_id)
            if order_id is not None:
                self._latched_orders[order_id] = ack.intent_id
            if early is not None:
                self.resolve(ack.intent_id, detail=early)

    def latched_by(self, order_id: int) -> str | None:
        """The unresolved intent that latches mutations of `order_id`, if any."""
        return self._latched_orders.get(order_id)

    def resolve(self, intent_id: str, *, order_id: int | None = None, detail: str = "") -> bool:
        """Mark an unknown intent resolved by platform facts; True if it was unresolved."""
        entry = self._unknown.pop(intent_id, None)
        if entry is None:
            if intent_id not in self._acks:  # still in flight: its ack may yet be `unknown`
                self._seen_early[intent_id] = detail or "seen in facts before the ack"
            return False
        if entry.order_id is not None:
            self._latched_orders.pop(entry.order_id, None)
        self.resolved.append((intent_id, detail))
        _log.info("intent_resolved", intent_id=intent_id, order_id=order_id, detail=detail)
        return True

    def unresolved(self) -> dict[str, int | None]:
        """Unresolved intent ids, with the order each concerns (None for a submit)."""
        return {k: v.order_id for k, v in self._unknown.items()}
