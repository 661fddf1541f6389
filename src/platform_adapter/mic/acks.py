"""`ReceiptAck`: the PA's synchronous answer to an intent (spec 2.1, 3.2).

A receipt-ack is not a fact of execution: it says whether the request was accepted for processing,
failed immediately, or has an outcome the PA cannot know. Outcomes reach OE only via U -> Paper -> OE.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from platform_adapter.mic.envelope import MIC_VERSION


class AckStatus(StrEnum):
    """Accepted for processing, failed immediately, or outcome unknown (never guessed)."""

    ACCEPTED = "accepted"
    FAILED = "failed"
    UNKNOWN = "unknown"


class AckReason(StrEnum):
    """Why an ack is `failed` or `unknown` (null when accepted)."""

    # failed: refused by the PA before anything reached the platform
    MALFORMED_INTENT = "malformed_intent"
    NOT_FROM_OE = "not_from_oe"
    MODE_NOT_LIVE = "mode_not_live"
    PA_DOWN = "pa_down"
    KILL_LATCHED = "kill_latched"
    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_SYMBOL = "unknown_symbol"
    UNKNOWN_ORDER = "unknown_order"
    INVALID_QTY = "invalid_qty"
    INVALID_PRICE = "invalid_price"  # not finite, not positive, or beyond the exactly representable tick grid
    MISSING_PRICE = "missing_price"
    UNEXPECTED_PRICE = "unexpected_price"
    OFF_TICK_GRID = "off_tick_grid"
    # failed: an operator-configured fat-finger limit of the instrument (ADR 0010)
    QTY_LIMIT = "qty_limit"  # qty above `max_order_qty`
    POSITION_LIMIT = "position_limit"  # the net position would pass `max_position`
    PRICE_BAND = "price_band"  # a price outside `price_band_pct` of the last trade, or no trade seen yet
    ORDER_OUTCOME_UNKNOWN = "order_outcome_unknown"  # an earlier mutation of this order is unresolved
    INTENT_ID_REUSED = "intent_id_reused"  # same intent_id, different content
    INTERNAL_ERROR = "internal_error"  # a fault in the PA before anything was sent
    NOT_LEADER = "not_leader"  # this PA instance does not hold the account's lease (a standby, or deposed)
    SHUTTING_DOWN = "shutting_down"  # the PA is stopping: it takes no new intent
    # failed: the platform said no (failure_reason / failure_text carry its words)
    PLATFORM_REJECTED = "platform_rejected"
    # unknown: the request may or may not have taken effect
    TIMEOUT = "timeout"
    DISCONNECTED = "disconnected"
    RATE_LIMITED = "rate_limited"
    PENALTY = "penalty"
    PLATFORM_ERROR = "platform_error"  # a non-2xx status whose effect is unknown
    INTERRUPTED = "interrupted"  # the PA stopped (crash, failover) while the intent was in flight


class ReceiptAck(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to one intent call."""

    intent_id: str
    status: AckStatus
    received_ts: int  # UTC ns when the PA took the intent
    acked_ts: int  # UTC ns when the PA answered
    reason: AckReason | None = None
    detail: str = ""  # a sentence a person can act on
    field: str | None = None  # the intent field a validation failure is about
    platform_order_id: int | None = None  # `orderId` returned by order/placeorder or liquidateposition
    platform_command_id: int | None = None  # `commandId` returned by modifyorder / cancelorder
    platform_order_ids: tuple[int, ...] = ()  # flatten / kill: every orderId the platform returned
    failure_reason: str | None = None  # Tradovate `failureReason`, as sent
    failure_text: str | None = None  # Tradovate `failureText`, as sent
    duplicate: bool = False  # this intent_id was seen before; this is the first ack, repeated
    lease_epoch: int | None = None  # of the PA tenure that answered (a duplicate: that executed it) (ADR 0012)
    v: int = MIC_VERSION
