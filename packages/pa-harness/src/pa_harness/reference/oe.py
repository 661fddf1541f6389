"""Reference OE: sends intents to the PA as "OE" and learns their outcomes only from facts relayed by Paper.

Every intent and its receipt-ack are recorded in `oe_intents`; outcomes come from the EventStream rows
Paper relays (see `outcomes`). Health signals drive `halted`: while the PA requires a halt, OE refuses
intents that could add exposure and still sends cancels, flattens and kills.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Protocol, TypeVar

import msgspec

from pa_harness.reference.outcomes import IntentOutcome, OutcomeTracker
from pa_harness.reference.records import EventRecord
from pa_harness.reference.store import open_db
from platform_adapter.core.clock import Clock, SystemClock
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import (
    Cancel,
    CancelReplace,
    Flatten,
    HealthSignal,
    Intent,
    Kill,
    OrderAction,
    OrderType,
    ReceiptAck,
    ResetKill,
    SubmitOrder,
    TimeInForce,
)
from platform_adapter.telemetry import get_logger

_log = get_logger("pa_harness.reference.oe")

_T = TypeVar("_T")
_RISK_REDUCING = (Cancel, Flatten, Kill, ResetKill)  # sent even while halted: they never add exposure


class IntentCaller(Protocol):
    """Anything OE can send an intent through (InProcIntentChannel, a NATS requester)."""

    async def call(self, intent: Intent, sender: str) -> ReceiptAck:
        """Send one intent as `sender`; the PA's receipt-ack."""
        ...


class TradingHalted(RuntimeError):
    """OE refused to send a risk-adding intent: the PA's last health signal requires a halt."""

    def __init__(self, signal: HealthSignal) -> None:
        super().__init__(f"trading halted: {signal.state} {[str(r) for r in signal.reasons]} {signal.detail}".strip())
        self.signal = signal


class ReferenceOE:
    """The reference OE: the only module that sends intents to the PA."""

    def __init__(
        self,
        intents: IntentCaller,
        db: sqlite3.Connection | str | Path,
        *,
        events: asyncio.Queue[EventRecord] | None = None,
        health: asyncio.Queue[HealthSignal] | None = None,
        account_id: int | None = None,
        clock: Clock | None = None,
        enforce_halt: bool = True,
        sender: str = OE_IDENTITY,
    ) -> None:
        self._intents = intents
        self._owns_db = not isinstance(db, sqlite3.Connection)
        self._db = db if isinstance(db, sqlite3.Connection) else open_db(db)
        self._events_in = events
        self._health_in = health
        self._account_id = account_id
        self._clock: Clock = clock or SystemClock()
        self._enforce_halt = enforce_halt
        self._sender = sender
        self._cond = asyncio.Condition()
        self._tracker = OutcomeTracker()
        self._health: HealthSignal | None = None
        self._lease_epoch: int | None = None  # the greatest lease epoch among the PA's signals
        self._transitions: list[HealthSignal] = []
        self._integrity_alerts: list[EventRecord] = []
        self.events_seen = 0

    def close(self) -> None:
        """Close the database if OE opened it."""
        if self._owns_db:
            self._db.close()

    async def run(self) -> None:
        """Follow Paper's feed and the PA's health until cancelled."""
        async with asyncio.TaskGroup() as group:
            if self._events_in is not None:
                group.create_task(self._follow(self._events_in, self.apply_event))
            if self._health_in is not None:
                group.create_task(self._follow(self._health_in, self.apply_health))

    async def _follow(self, queue: asyncio.Queue[_T], apply: Callable[[_T], None]) -> None:
        while True:
            apply(await queue.get())
            async with self._cond:
                self._cond.notify_all()

    async def send(self, intent: Intent) -> ReceiptAck:
        """Record and send one intent as OE; returns the receipt-ack (which is not an outcome)."""
        if (
            self._enforce_halt
            and self._health is not None
            and self._health.halt_required
            and not isinstance(intent, _RISK_REDUCING)
        ):
            raise TradingHalted(self._health)
        sent_ts = self._clock.now_ns()
        if intent.sent_ts is None:
            intent = msgspec.structs.replace(intent, sent_ts=sent_ts)
        with self._db:
            # OR IGNORE: re-sending an intent_id (an idempotency test) keeps the first send on record.
            self._db.execute(
                "INSERT OR IGNORE INTO oe_intents (intent_id, type, body, sent_ts) VALUES (?, ?, ?, ?)",
                (
                    intent.intent_id,
                    str(type(intent).__struct_config__.tag),
                    msgspec.json.encode(intent).decode(),
                    sent_ts,
                ),
            )
        self._tracker.register(intent)
        try:
            ack = await self._intents.call(intent, self._sender)
        except Exception as exc:
            self._record_ack(intent.intent_id, "error", repr(exc))
            raise
        self._record_ack(intent.intent_id, str(ack.status), msgspec.json.encode(ack).decode())
        self._tracker.on_ack(ack)
        async with self._cond:
            self._cond.notify_all()
        return ack

    def _record_ack(self, intent_id: str, status: str, body: str) -> None:
        with self._db:
            self._db.execute(
                "UPDATE oe_intents SET ack_status = ?, ack_body = ?, ack_ts = ?"
                " WHERE intent_id = ? AND ack_status IS NULL",
                (status, body, self._clock.now_ns(), intent_id),
            )

    def _account(self, account_id: int | None) -> int:
        chosen = account_id if account_id is not None else self._account_id
        if chosen is None:
            raise ValueError("no account_id given and ReferenceOE has no default account_id")
        return chosen

    @staticmethod
    def new_intent_id() -> str:
        """A fresh intent id (uuid4 hex)."""
        return uuid.uuid4().hex

    async def submit_market(
        self, account_id: int, symbol: str, action: OrderAction | str, qty: int, *, account_spec: str | None = None
    ) -> ReceiptAck:
        """Submit a market order."""
        return await self.send(
            SubmitOrder(
                intent_id=self.new_intent_id(),
                account_id=account_id,
                symbol=symbol,
                action=OrderAction(action),
                qty=qty,
                order_type=OrderType.MARKET,
                account_spec=account_spec,
            )
        )

    async def submit_limit(
        self,
        account_id: int,
        symbol: str,
        action: OrderAction | str,
        qty: int,
        price: float,
        *,
        time_in_force: TimeInForce = TimeInForce.DAY,
        account_spec: str | None = None,
    ) -> ReceiptAck:
        """Submit a limit order."""
        return await self.send(
            SubmitOrder(
                intent_id=self.new_intent_id(),
                account_id=account_id,
                symbol=symbol,
                action=OrderAction(action),
                qty=qty,
                order_type=OrderType.LIMIT,
                price=price,
                time_in_force=time_in_force,
                account_spec=account_spec,
            )
        )

    async def cancel_replace(
        self,
        order_id: int,
        qty: int,
        order_type: OrderType,
        *,
        price: float | None = None,
        stop_price: float | None = None,
        account_id: int | None = None,
    ) -> ReceiptAck:
        """Modify a working order."""
        return await self.send(
            CancelReplace(
                intent_id=self.new_intent_id(),
                account_id=self._account(account_id),
                order_id=order_id,
                qty=qty,
                order_type=order_type,
                price=price,
                stop_price=stop_price,
            )
        )

    async def cancel(self, order_id: int, *, account_id: int | None = None) -> ReceiptAck:
        """Cancel a working order."""
        return await self.send(
            Cancel(intent_id=self.new_intent_id(), account_id=self._account(account_id), order_id=order_id)
        )

    async def flatten(self, symbol: str | None = None, *, account_id: int | None = None) -> ReceiptAck:
        """Liquidate one symbol's position, or every position when `symbol` is None."""
        return await self.send(
            Flatten(intent_id=self.new_intent_id(), account_id=self._account(account_id), symbol=symbol)
        )

    async def kill(self, reason: str = "", *, account_id: int | None = None) -> ReceiptAck:
        """Cancel everything, liquidate everything, and latch submits off at the PA."""
        return await self.send(
            Kill(intent_id=self.new_intent_id(), account_id=self._account(account_id), reason=reason)
        )

    async def reset_kill(self, reason: str = "", *, account_id: int | None = None) -> ReceiptAck:
        """Release the PA's kill latch."""
        return await self.send(
            ResetKill(intent_id=self.new_intent_id(), account_id=self._account(account_id), reason=reason)
        )

    def apply_event(self, record: EventRecord) -> None:
        """Take one EventStream row relayed by Paper."""
        self.events_seen += 1
        if record.event_type == "delivery_hole":
            self._integrity_alerts.append(record)
            _log.error("facts_lost_between_pa_and_u", event_seq=record.seq, payload=record.payload)
            return
        self._tracker.apply(record)

    def apply_health(self, signal: HealthSignal) -> None:
        """Take one health signal; a change of state, halt or reasons is recorded as a transition.

        A signal from a lease epoch below the greatest seen is a deposed PA instance's late word: ignored (the
        instance with the greatest epoch is the active one, ADR 0012). A signal without an epoch (no lease, or
        OE's own fail-closed PA_DOWN) is always taken.
        """
        epoch = signal.lease_epoch
        if epoch is not None:
            if self._lease_epoch is not None and epoch < self._lease_epoch:
                _log.warning("pa_health_from_deposed_instance", lease_epoch=epoch, current=self._lease_epoch)
                return
            self._lease_epoch = epoch
        previous = self._health
        self._health = signal
        key = (signal.state, signal.halt_required, signal.reasons)
        if previous is not None and (previous.state, previous.halt_required, previous.reasons) == key:
            return
        self._transitions.append(signal)
        _log.info("pa_health", state=str(signal.state), halt_required=signal.halt_required, seq=signal.seq)
        with self._db:
            self._db.execute(
                "INSERT INTO oe_health (signal_seq, state, halt_required, reasons, detail, since, ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    signal.seq,
                    str(signal.state),
                    int(signal.halt_required),
                    ",".join(signal.reasons),
                    signal.detail,
                    signal.since,
                    signal.ts,
                ),
            )

    @property
    def halted(self) -> bool:
        """True while the PA's last health signal requires a trading halt."""
        return self._health is not None and self._health.halt_required

    @property
    def health(self) -> HealthSignal | None:
        """The PA's last health signal."""
        return self._health

    def health_transitions(self) -> list[HealthSignal]:
        """Every health signal that changed state, halt or reasons, in arrival order."""
        return list(self._transitions)

    def integrity_alerts(self) -> list[EventRecord]:
        """U's `delivery_hole` rows: facts lost between the PA and U."""
        return list(self._integrity_alerts)

    def outcome(self, intent_id: str) -> IntentOutcome:
        """What OE knows of one intent it sent (KeyError if it never sent it)."""
        return self._tracker.get(intent_id)

    def outcomes(self) -> list[IntentOutcome]:
        """Every intent sent, in send order."""
        return self._tracker.all()

    async def wait_outcome(self, intent_id: str, statuses: Collection[str], timeout: float) -> IntentOutcome:  # noqa: ASYNC109 - one bound per wait, as callers asked
        """Wait until facts put the intent in one of `statuses`; TimeoutError after `timeout` seconds."""
        outcome = self._tracker.get(intent_id)
        try:
            await self.wait_until(lambda: outcome.status in statuses, timeout)
        except TimeoutError as exc:
            raise TimeoutError(
                f"intent {intent_id}: status {outcome.status!r}, not in {sorted(statuses)} after {timeout}s"
            ) from exc
        return outcome

    async def wait_health(self, predicate: Callable[[HealthSignal], bool], timeout: float) -> HealthSignal:  # noqa: ASYNC109 - one bound per wait, as callers asked
        """Wait until the last health signal satisfies `predicate`; TimeoutError after `timeout` seconds."""
        await self.wait_until(lambda: self._health is not None and predicate(self._health), timeout)
        assert self._health is not None
        return self._health

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109 - one bound per wait, as callers asked
        """Wait on OE's condition until `predicate()` holds; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout), self._cond:
            await self._cond.wait_for(predicate)
