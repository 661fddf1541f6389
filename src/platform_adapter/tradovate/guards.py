"""The Tradovate half of the intent gate: known account and symbol, the tick grid, the fat-finger limits.

Prices are compared with exact decimal arithmetic: a float price is taken as the decimal its `repr` shows
(the shortest text that reads back as the same float, which is what OE's JSON carries), the tick size as
Tradovate sent it. The limits are the operator's, per instrument (`max_order_qty`, `max_position`,
`price_band_pct`; ADR 0010): fat-finger guards, not risk policy (spec 9 leaves risk gating to OE/R). What they
compare against comes from the forwarded facts (`ObservedState`). Kill, flatten and cancel are never held
back by a limit: they only reduce exposure.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from platform_adapter.core.ports import Rejection
from platform_adapter.mic import AckReason, CancelReplace, Flatten, Intent, OrderAction, SubmitOrder
from platform_adapter.tradovate.contracts import Instrument, ReferenceData
from platform_adapter.tradovate.observed import ObservedState

EXACT_STEPS: Final = 2**53
"""A price more ticks than this from zero cannot be told apart from its neighbours as a float."""


class IntentGuards:
    """Checks an intent that passed the core gate against Tradovate reference data and the operator's limits."""

    def __init__(self, reference: ReferenceData, observed: ObservedState) -> None:
        self._reference = reference
        self._observed = observed

    def check(self, intent: Intent) -> Rejection | None:
        """None when the intent may be sent; else why not, naming the field."""
        if intent.account_id not in self._reference.accounts:
            known = sorted(self._reference.accounts)
            return Rejection(
                AckReason.UNKNOWN_ACCOUNT, f"account {intent.account_id} is not one of {known}", "account_id"
            )
        symbol = intent.symbol if isinstance(intent, SubmitOrder | Flatten) else None
        if symbol is not None and symbol not in self._reference.instruments:
            known_symbols = sorted(self._reference.instruments)
            return Rejection(
                AckReason.UNKNOWN_SYMBOL, f"symbol {symbol!r} is not configured ({known_symbols})", "symbol"
            )
        if isinstance(intent, SubmitOrder):
            instrument = self._reference.instruments[intent.symbol]
            rejection = self._order(instrument, intent) or self._position(instrument, intent)
            if rejection is None:
                self._observed.expect_order(intent.intent_id, instrument.contract_id)
            return rejection
        if isinstance(intent, CancelReplace):
            contract_id = self._observed.order_contract(intent.order_id)
            if contract_id is None:
                return Rejection(
                    AckReason.UNKNOWN_ORDER,
                    f"order {intent.order_id} is not in the facts the PA has forwarded: its instrument, and so its "
                    "tick size and limits, are unknown",
                    "order_id",
                )
            ordered = self._reference.by_contract.get(contract_id)
            if ordered is None:
                return Rejection(
                    AckReason.UNKNOWN_SYMBOL,
                    f"order {intent.order_id} is on contract {contract_id}, which is not a configured instrument",
                    "order_id",
                )
            return self._order(ordered, intent)
        return None

    def _order(self, instrument: Instrument, intent: SubmitOrder | CancelReplace) -> Rejection | None:
        limits = instrument.settings
        if intent.qty > limits.max_order_qty:
            return Rejection(
                AckReason.QTY_LIMIT,
                f"qty {intent.qty} is above max_order_qty {limits.max_order_qty} of {instrument.symbol}",
                "qty",
            )
        for name in ("price", "stop_price"):
            value: float | None = getattr(intent, name)
            if value is None:
                continue
            price = Fraction(repr(value))
            rejection = self._on_grid(instrument, name, value, price) or self._in_band(instrument, name, value, price)
            if rejection is not None:
                return rejection
        return None

    def _on_grid(self, instrument: Instrument, name: str, value: float, price: Fraction) -> Rejection | None:
        tick = instrument.tick_size
        if not tick or tick <= 0:  # Tradovate sent no tick size: the platform checks the grid itself
            return None
        steps = price / Fraction(repr(tick))
        if steps > EXACT_STEPS:
            return Rejection(
                AckReason.INVALID_PRICE,
                f"{name} {value} is too large for {instrument.symbol}: beyond 2^53 ticks of {tick}",
                name,
            )
        if steps.denominator != 1:
            return Rejection(
                AckReason.OFF_TICK_GRID,
                f"{name} {value} is not a multiple of the tick size {tick} of {instrument.symbol}",
                name,
            )
        return None

    def _in_band(self, instrument: Instrument, name: str, value: float, price: Fraction) -> Rejection | None:
        band_pct = instrument.settings.price_band_pct
        if band_pct is None:
            return None
        last = self._observed.last_trade(instrument.contract_id)
        if last is None:
            return Rejection(
                AckReason.PRICE_BAND,
                f"no trade of {instrument.symbol} seen since the PA started: {name} {value} cannot be checked "
                f"against price_band_pct {band_pct}",
                name,
            )
        deviation = abs(price - last) / last * 100
        if deviation > Fraction(repr(band_pct)):
            return Rejection(
                AckReason.PRICE_BAND,
                f"{name} {value} is {float(deviation):.2f}% from the last trade {float(last)} of {instrument.symbol} "
                f"(price_band_pct {band_pct})",
                name,
            )
        return None

    def _position(self, instrument: Instrument, intent: SubmitOrder) -> Rejection | None:
        limit = instrument.settings.max_position
        if limit is None:
            return None
        net = self._observed.net_position(intent.account_id, instrument.contract_id)
        after = net + (intent.qty if intent.action is OrderAction.BUY else -intent.qty)
        if abs(after) > limit and abs(after) > abs(net):  # an order that reduces exposure always passes
            return Rejection(
                AckReason.POSITION_LIMIT,
                f"{intent.action.value} {intent.qty} would take the net position in {instrument.symbol} from {net} "
                f"to {after}, beyond max_position {limit}",
                "qty",
            )
        return None
