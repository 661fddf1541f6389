"""Intents: the only commands the PA accepts, and only from OE (spec 3.1, 4.3).

Every intent carries `intent_id`, OE's idempotency key: the PA sends it to Tradovate as `clOrdId`,
and a repeated `intent_id` is answered with the first receipt-ack and never sent again.
Structs do not validate on construction; the PA's intent gate does, with a typed reason.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from platform_adapter.mic.envelope import MIC_VERSION


class OrderAction(StrEnum):
    """Tradovate `action`."""

    BUY = "Buy"
    SELL = "Sell"


class OrderType(StrEnum):
    """The Tradovate `orderType` values the PA MVP executes."""

    MARKET = "Market"
    LIMIT = "Limit"
    STOP = "Stop"
    STOP_LIMIT = "StopLimit"


class TimeInForce(StrEnum):
    """Tradovate `timeInForce` values the PA MVP executes."""

    DAY = "Day"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class _IntentBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    intent_id: str
    account_id: int
    sent_ts: int | None = None  # OE's send time, UTC ns (informational)
    v: int = MIC_VERSION


class SubmitOrder(_IntentBase, frozen=True, kw_only=True, tag="submit_order"):
    """Place an order: becomes the spec 3.1 placement body (`isAutomated` is always true)."""

    symbol: str
    action: OrderAction
    qty: int
    order_type: OrderType
    price: float | None = None  # Limit and StopLimit
    stop_price: float | None = None  # Stop and StopLimit
    time_in_force: TimeInForce = TimeInForce.DAY
    account_spec: str | None = None  # defaults to the authenticated user's name
    text: str | None = None


class CancelReplace(_IntentBase, frozen=True, kw_only=True, tag="cancel_replace"):
    """Modify a working order (`order/modifyorder`)."""

    order_id: int
    qty: int
    order_type: OrderType
    price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce | None = None


class Cancel(_IntentBase, frozen=True, kw_only=True, tag="cancel"):
    """Cancel a working order (`order/cancelorder`)."""

    order_id: int


class Flatten(_IntentBase, frozen=True, kw_only=True, tag="flatten"):
    """Liquidate one contract's position (and its working orders), or every position when `symbol` is null."""

    symbol: str | None = None


class Kill(_IntentBase, frozen=True, kw_only=True, tag="kill"):
    """Cancel every working order, liquidate every position, then refuse submits until `ResetKill`."""

    reason: str = ""


class ResetKill(_IntentBase, frozen=True, kw_only=True, tag="reset_kill"):
    """Release the kill latch set by `Kill`."""

    reason: str = ""


Intent = SubmitOrder | CancelReplace | Cancel | Flatten | Kill | ResetKill
