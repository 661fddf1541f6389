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

import msgspec

from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.intent_checks import intent_id_of, shape_error, show, value_error
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

    def __init__(self, mode: Mode, platform: Platform, health: HealthMonitor, clock: Clock) -> None:
        self._mode = mode
        self._platform = platform
        self._health = health
        self._clock = clock
        self.ledger = IntentLedger()
        self._inflight: dict[str, tuple[bytes, asyncio.Future[ReceiptAck]]] = {}
        self.kill_latched = False
        self.recent: list[tuple[Intent, ReceiptAck]] = []

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
        fingerprint = msgspec.json.encode(msgspec.structs.replace(intent, sent_ts=None))
        recorded = self.ledger.first_ack(intent.intent_id)
        if recorded is not None:
            return self._repeat(intent, recorded[0], recorded[1], fingerprint, received_ts)
        inflight = self._inflight.get(intent.intent_id)
        if inflight is not None:
            first = await asyncio.shield(inflight[1])
            return self._repeat(intent, inflight[0], first, fingerprint, received_ts)
        future: asyncio.Future[ReceiptAck] = asyncio.get_running_loop().create_future()
        self._inflight[intent.intent_id] = (fingerprint, future)
        try:
            ack = await self._decide(intent, received_ts)
        except Exception as exc:  # `Platform.execute` broke its never-raise contract: it may have sent the request
            _log.exception("intent_execution_error", intent_id=intent.intent_id)
            ack = self._ack(
                intent,
                received_ts,
                AckStatus.UNKNOWN,
                AckReason.PLATFORM_ERROR,
                f"internal error while executing ({type(exc).__name__}): the request may have been sent",
            )
        finally:
            self._inflight.pop(intent.intent_id, None)
        self.ledger.record(fingerprint, ack, _order_id_of(intent))
        future.set_result(ack)
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
            )
        )
        return ack

    async def _decide(self, intent: Intent, received_ts: int) -> ReceiptAck:
        try:
            rejection = self._gate(intent)
        except Exception as exc:  # a fault in a check: nothing was sent, so the answer is `failed`, not `unknown`
            _log.exception("intent_gate_error", intent_id=intent.intent_id)
            rejection = Rejection(
                AckReason.INTERNAL_ERROR,
                f"internal error while checking the intent ({type(exc).__name__}); nothing was sent",
            )
        if rejection is not None:
            return self._failed(intent, received_ts, rejection)
        if isinstance(intent, ResetKill):
            self.kill_latched = False
            _log.warning("kill_latch_reset", intent_id=intent.intent_id, reason=intent.reason)
            return self._ack(intent, received_ts, AckStatus.ACCEPTED, None, "kill latch released")
        if isinstance(intent, Kill):
            self.kill_latched = True  # before sending: no submit may slip in while the kill runs
            _log.warning("kill_latched", intent_id=intent.intent_id, reason=intent.reason)
        return await self._platform.execute(intent, received_ts)

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
        self, intent: Intent, first_fp: bytes, first: ReceiptAck, fingerprint: bytes, received_ts: int
    ) -> ReceiptAck:
        if first_fp != fingerprint:
            return self._failed(
                intent,
                received_ts,
                Rejection(AckReason.INTENT_ID_REUSED, "this intent_id was used for a different intent", "intent_id"),
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
        )


def _order_id_of(intent: Intent) -> int | None:
    if isinstance(intent, CancelReplace | Cancel):
        return intent.order_id
    return None
