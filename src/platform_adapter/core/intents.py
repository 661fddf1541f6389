"""The intent gate: only OE, only in LIVE, validated, idempotent, kill-latched, unknown-outcome-latched.

Every call gets exactly one ReceiptAck and never an exception, whatever the caller passed. A refused intent
reaches no platform. An intent that is not well-formed (`intent_checks.shape_error`) is answered `failed`
naming the field and takes no intent id. A repeated `intent_id` gets the first ack back (marked `duplicate`)
and is never sent again; while the first call is still in flight the repeat waits for it. An `unknown`
outcome latches further mutations of the same order until platform facts resolve it (`IntentLedger.resolve`,
called by the platform side). `unknown` is answered only when the platform may have received the request.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Callable

import msgspec

from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.intent_checks import intent_id_of, shape_error, show, value_error
from platform_adapter.core.intent_store import LedgerEntry
from platform_adapter.core.ledger import IntentLedger
from platform_adapter.core.ports import OE_IDENTITY, Platform, Rejection
from platform_adapter.core.settings import Mode
from platform_adapter.mic import (
    AckReason,
    AckStatus,
    Cancel,
    CancelReplace,
    HealthState,
    Intent,
    Kill,
    ReceiptAck,
    ResetKill,
    SubmitOrder,
)
from platform_adapter.telemetry import get_logger

_log = get_logger("pa.intents")


class IntentService:
    """Answers each OE call with a ReceiptAck; the only way an intent reaches the platform."""

    def __init__(
        self, mode: Mode, platform: Platform, health: HealthMonitor, clock: Clock, ledger: IntentLedger | None = None
    ) -> None:
        self._mode = mode
        self._platform = platform
        self._health = health
        self._clock = clock
        self.ledger = ledger or IntentLedger()
        self._inflight: dict[str, tuple[str, asyncio.Future[ReceiptAck]]] = {}
        self.kill_latched = False
        self.recent: list[tuple[Intent, ReceiptAck]] = []
        self.run_id = ""
        self.lease_epoch: int | None = None  # stamped on every ack of this tenure (fencing)
        # Why this instance takes no intent right now (a standby, deposed, stopping); None while it serves.
        self.refusal: Rejection | None = None
        # Whether this instance's lease cannot have lapsed (None: no lease), asked before anything is sent.
        self.lease_valid: Callable[[], bool] | None = None

    @property
    def in_flight(self) -> int:
        """Intents being executed right now."""
        return len(self._inflight)

    async def idle(self) -> None:
        """Wait until no intent is being executed."""
        while self._inflight:
            await asyncio.gather(*(future for _, future in self._inflight.values()), return_exceptions=True)

    def serve_as(self, lease_epoch: int | None, run_id: str) -> None:
        """Take intents again, as the holder of lease `lease_epoch`."""
        self.lease_epoch, self.run_id, self.refusal = lease_epoch, run_id, None

    def refuse(self, reason: AckReason, detail: str) -> None:
        """Answer every new intent `failed` with `reason` (nothing is sent); those in flight finish."""
        self.refusal = Rejection(reason, detail)

    async def handle(self, intent: Intent, sender: str) -> ReceiptAck:
        """Gate, execute and answer one intent call."""
        received_ts = self._clock.now_ns()
        if sender != OE_IDENTITY:
            # Not recorded under the intent id: a forged call must not poison OE's later real intent.
            _log.warning("intent_refused_sender", sender=show(sender), intent_id=intent_id_of(intent))
            return self._failed(
                intent,
                received_ts,
                Rejection(AckReason.NOT_FROM_OE, f"intents are taken from OE only, not {show(sender)}"),
            )
        malformed = shape_error(intent)
        if malformed is not None:
            # Not recorded either: an intent that cannot be read takes no id, and nothing was sent.
            _log.warning(
                "intent_malformed", intent_id=intent_id_of(intent), field=malformed.field, detail=malformed.detail
            )
            return self._failed(intent, received_ts, malformed)
        if self.refusal is not None:
            # Not recorded: the instance that holds the lease (or this one, once back) must be free to take it.
            return self._failed(intent, received_ts, self.refusal)
        fingerprint = _fingerprint(intent)
        inflight = self._inflight.get(intent.intent_id)
        if inflight is not None:
            first = await asyncio.shield(inflight[1])
            return self._repeat(intent, inflight[0], first, fingerprint, received_ts)
        future: asyncio.Future[ReceiptAck] = asyncio.get_running_loop().create_future()
        self._inflight[intent.intent_id] = (fingerprint, future)
        try:
            ack = await self._answer(intent, fingerprint, received_ts)
        finally:
            self._inflight.pop(intent.intent_id, None)
        if not future.done():
            future.set_result(ack)
        if not ack.duplicate:  # the operator view counts each intent's ack once
            self.recent.append((intent, ack))
            del self.recent[:-100]
        # Logged just after the ack is returned, not before it: a structured log line costs 30-150 us, which
        # OE would otherwise wait for on every intent (docs/performance.md, command path).
        asyncio.get_running_loop().call_soon(
            functools.partial(
                _log.info,
                "intent_acked",
                intent_id=intent.intent_id,
                type=type(intent).__name__,
                status=ack.status.value,
                reason=ack.reason.value if ack.reason else None,
                order_id=ack.platform_order_id,
                command_id=ack.platform_command_id,
                duplicate=ack.duplicate,
            )
        )
        return ack

    async def _answer(self, intent: Intent, fingerprint: str, received_ts: int) -> ReceiptAck:
        """The ledger first (a repeat is answered from it), then the gate, then the platform."""
        # A new id costs the store one write (the claim below), not a read and a write: an id this instance has
        # not seen lately is looked up in the store only by the claim, which hands back the kept entry when there
        # is one. A reset_kill is looked up first: a repeat of an old one must not release a later kill's latch.
        try:
            kept = await self.ledger.lookup(intent.intent_id, cached_only=not isinstance(intent, ResetKill))
        except Exception as exc:  # the store cannot be read: sending could place the intent twice
            return self._store_failed(intent, received_ts, exc)
        if kept is not None:
            return self._taken(intent, kept, fingerprint, received_ts)
        entry = LedgerEntry(
            intent_id=intent.intent_id,
            fingerprint=fingerprint,
            received_ts=received_ts,
            run_id=self.run_id,
            lease_epoch=self.lease_epoch,
            order_id=_order_id_of(intent),
        )
        try:
            known = self._platform.known_outcome(intent, received_ts)
        except Exception:  # a fault in a lookup must not stop the intent: the ledger's claim still guards it
            _log.exception("known_outcome_error", intent_id=intent.intent_id)
            known = None
        if known is not None:  # Tradovate shows this id already (the ledger lost it): never sent again
            _log.warning("intent_known_to_platform", intent_id=intent.intent_id, order_id=known.platform_order_id)
            return await self._close(entry, intent, known, claimed=False)
        try:
            rejection = self._gate(intent)
        except Exception as exc:  # a fault in a check: nothing was sent, so the answer is `failed`, not `unknown`
            _log.exception("intent_gate_error", intent_id=intent.intent_id)
            rejection = Rejection(
                AckReason.INTERNAL_ERROR,
                f"internal error while checking the intent ({type(exc).__name__}); nothing was sent",
            )
        if rejection is not None:
            return await self._close(entry, intent, self._failed(intent, received_ts, rejection), claimed=False)
        if isinstance(intent, ResetKill):
            self.kill_latched = False
            _log.warning("kill_latch_reset", intent_id=intent.intent_id, reason=intent.reason)
            accepted = self._ack(intent, received_ts, AckStatus.ACCEPTED, None, "kill latch released")
            return await self._close(entry, intent, accepted, claimed=False)
        if self.lease_valid is not None and not self.lease_valid():
            # Not renewed for so long that the lease may have lapsed (this process was paused or cut off): a standby
            # may hold it now. Nothing is sent, nothing recorded; the renewal under way tells which is the case.
            _log.warning("intent_refused_lease_unconfirmed", intent_id=intent.intent_id)
            return self._failed(
                intent,
                received_ts,
                Rejection(AckReason.NOT_LEADER, "this PA instance cannot confirm it still holds the account's lease"),
            )
        try:  # durably claimed before anything is sent: a crash from here on leaves it in flight, i.e. `unknown`
            first = await self.ledger.claim(entry)
        except Exception as exc:
            return self._store_failed(intent, received_ts, exc)
        if first is not None:  # another instance claimed it between the lookup and here: it is theirs to send
            return self._taken(intent, first, fingerprint, received_ts)
        if isinstance(intent, Kill):
            self.kill_latched = True  # before sending: no submit may slip in while the kill runs
            _log.warning("kill_latched", intent_id=intent.intent_id, reason=intent.reason)
        try:
            ack = await self._platform.execute(intent, received_ts)
        except Exception as exc:  # `Platform.execute` broke its never-raise contract: it may have sent the request
            _log.exception("intent_execution_error", intent_id=intent.intent_id)
            ack = self._ack(
                intent,
                received_ts,
                AckStatus.UNKNOWN,
                AckReason.PLATFORM_ERROR,
                f"internal error while executing ({type(exc).__name__}): the request may have been sent",
            )
        return await self._close(entry, intent, ack, claimed=True)

    async def _close(self, entry: LedgerEntry, intent: Intent, ack: ReceiptAck, *, claimed: bool) -> ReceiptAck:
        """Write the first ack durably, then return it (stamped with this tenure's lease epoch)."""
        if self.lease_epoch is not None:
            ack = msgspec.structs.replace(ack, lease_epoch=self.lease_epoch)
        entry = msgspec.structs.replace(entry, ack=ack)
        try:
            if claimed:
                await self.ledger.record(entry)
            else:
                first = await self.ledger.claim(entry)  # the id and its ack in one write
                if first is not None:  # the id was taken before: its first answer, not this one
                    return self._taken(intent, first, entry.fingerprint, ack.received_ts)
        except Exception:  # the ack is still the truth; after a restart the entry reads as in flight (`unknown`)
            _log.exception("ledger_write_failed", intent_id=entry.intent_id, status=ack.status.value)
        return ack

    def _taken(self, intent: Intent, kept: LedgerEntry, fingerprint: str, received_ts: int) -> ReceiptAck:
        """The answer for an id the ledger already holds: its first ack, or `unknown` while another sends it."""
        if kept.fingerprint != fingerprint:
            return self._failed(intent, received_ts, _ID_REUSED)
        if kept.ack is None:  # claimed by another instance that is executing it right now
            return self._ack(
                intent,
                received_ts,
                AckStatus.UNKNOWN,
                AckReason.INTERRUPTED,
                "this intent_id is in flight in another PA instance; its facts will resolve it",
            )
        return self._repeat(intent, kept.fingerprint, kept.ack, fingerprint, received_ts, kept)

    def _store_failed(self, intent: Intent, received_ts: int, exc: Exception) -> ReceiptAck:
        _log.error("ledger_unavailable", intent_id=intent_id_of(intent), error=f"{type(exc).__name__}: {exc}")
        return self._failed(
            intent,
            received_ts,
            Rejection(
                AckReason.INTERNAL_ERROR,
                f"the intent ledger is unavailable ({type(exc).__name__}): nothing was sent, so it cannot be sent twice",
            ),
        )

    def _gate(self, intent: Intent) -> Rejection | None:
        if self._mode is not Mode.LIVE:
            return Rejection(
                AckReason.MODE_NOT_LIVE,
                f"the PA is in {self._mode.value} mode: it accepts intents only in LIVE (SIM is market ingress only)",
            )
        if isinstance(intent, ResetKill):
            return None
        if self.kill_latched and isinstance(intent, SubmitOrder | CancelReplace):
            return Rejection(AckReason.KILL_LATCHED, "the kill latch is set: send a reset_kill intent to trade again")
        if self._health.state is HealthState.DOWN and not isinstance(intent, Kill):
            return Rejection(AckReason.PA_DOWN, f"the PA is PA_DOWN ({self._health.current.detail or 'no detail'})")
        local = value_error(intent)
        if local is not None:
            return local
        order_id = _order_id_of(intent)
        if order_id is not None:
            latched_by = self.ledger.latched_by(order_id)
            if latched_by is not None:
                return Rejection(
                    AckReason.ORDER_OUTCOME_UNKNOWN,
                    f"order {order_id} has an unresolved earlier intent {latched_by}; wait for its facts",
                    "order_id",
                )
        return self._platform.validate(intent)

    def _repeat(
        self,
        intent: Intent,
        first_fp: str,
        first: ReceiptAck,
        fingerprint: str,
        received_ts: int,
        kept: LedgerEntry | None = None,
    ) -> ReceiptAck:
        if first_fp != fingerprint:
            return self._failed(intent, received_ts, _ID_REUSED)
        if kept is not None and kept.resolved and kept.resolution:
            # The first ack was `unknown`; platform facts have since said what happened.
            return msgspec.structs.replace(
                first, duplicate=True, detail=f"{first.detail} [resolved: {kept.resolution}]"
            )
        return msgspec.structs.replace(first, duplicate=True)

    def _failed(self, intent: Intent, received_ts: int, rejection: Rejection) -> ReceiptAck:
        return self._ack(intent, received_ts, AckStatus.FAILED, rejection.reason, rejection.detail, rejection.field)

    def _ack(
        self,
        intent: Intent,
        received_ts: int,
        status: AckStatus,
        reason: AckReason | None,
        detail: str,
        field: str | None = None,
    ) -> ReceiptAck:
        return ReceiptAck(
            intent_id=intent_id_of(intent),
            status=status,
            received_ts=received_ts,
            acked_ts=self._clock.now_ns(),
            reason=reason,
            detail=detail,
            field=field,
            lease_epoch=self.lease_epoch,
        )


_ID_REUSED = Rejection(AckReason.INTENT_ID_REUSED, "this intent_id was used for a different intent", "intent_id")


def _fingerprint(intent: Intent) -> str:
    """What makes two calls with one intent_id the same intent: its content, OE's send time left out."""
    return hashlib.sha256(msgspec.json.encode(msgspec.structs.replace(intent, sent_ts=None))).hexdigest()


def _order_id_of(intent: Intent) -> int | None:
    if isinstance(intent, CancelReplace | Cancel):
        return intent.order_id
    return None
