"""The Tradovate half of the intent gate: tick grid in exact decimals, the instrument's fat-finger limits, and
what they compare against, read from the forwarded facts without changing them (issue 15, ADR 0010)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec
import pytest

from platform_adapter.config import InstrumentSettings
from platform_adapter.core.ports import Rejection
from platform_adapter.mic import (
    AckReason,
    CancelReplace,
    FactEnvelope,
    FactKind,
    FactMode,
    Flatten,
    Kill,
    OrderAction,
    OrderType,
    Stream,
    SubmitOrder,
)
from platform_adapter.tradovate.contracts import Instrument, ReferenceData
from platform_adapter.tradovate.guards import IntentGuards
from platform_adapter.tradovate.observed import FactObserver, ObservedState
from platform_adapter.tradovate.protocol import Account

from ..core.fakes import ListWriter

ACCOUNT = 701234
ES, NQ, ZN = 3570918, 3570919, 3570920
_seq = itertools.count(1)


def reference(**limits: Any) -> ReferenceData:
    instruments = {
        "ESZ6": Instrument("ESZ6", ES, 0.25, InstrumentSettings(symbol="ESZ6", **limits)),
        "NQZ6": Instrument("NQZ6", NQ, 0.25, InstrumentSettings(symbol="NQZ6")),
        "ZNZ6": Instrument("ZNZ6", ZN, 0.015625, InstrumentSettings(symbol="ZNZ6")),
    }
    return ReferenceData(
        instruments, {i.contract_id: i for i in instruments.values()}, {ACCOUNT: Account(id=ACCOUNT, name="DEMO")}
    )


def guards(**limits: Any) -> tuple[IntentGuards, ObservedState]:
    observed = ObservedState()
    observed.watch_trades({ES, NQ, ZN})
    return IntentGuards(reference(**limits), observed), observed


def fact(
    stream: Stream, payload: Any, *, contract_id: int | None = None, correlation_id: str | None = None
) -> FactEnvelope:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
    return FactEnvelope(
        kind=FactKind.MARKET if stream is Stream.QUOTE else FactKind.PLATFORM_EVENT,
        stream=stream,
        mode=FactMode.LIVE,
        recv_ts=1,
        connection="md" if stream is Stream.QUOTE else "trading",
        connection_id="x-1",
        epoch=1,
        delivery_seq=next(_seq),
        payload=msgspec.Raw(raw),
        contract_id=contract_id,
        correlation_id=correlation_id,
    )


def quote(contract_id: int, trade: float | None, **entries: Any) -> FactEnvelope:
    if trade is not None:
        entries["Trade"] = {"price": trade, "size": 1}
    body = {
        "e": "md",
        "d": {"quotes": [{"timestamp": "2026-12-04T14:00:00.000Z", "contractId": contract_id, "entries": entries}]},
    }
    return fact(Stream.QUOTE, body, contract_id=contract_id)


def position(net: int, contract_id: int = ES, event: str = "Updated") -> FactEnvelope:
    entity = {"id": 1, "accountId": ACCOUNT, "contractId": contract_id, "netPos": net}
    return fact(Stream.PROPS, {"e": "props", "d": {"entityType": "position", "eventType": event, "entity": entity}})


def order_event(order_id: int, contract_id: int) -> FactEnvelope:
    entity = {"id": order_id, "accountId": ACCOUNT, "contractId": contract_id, "action": "Buy", "ordStatus": "Working"}
    return fact(Stream.PROPS, {"e": "props", "d": {"entityType": "order", "eventType": "Created", "entity": entity}})


def submit(**fields: Any) -> SubmitOrder:
    values: dict[str, Any] = {
        "intent_id": "i-1",
        "account_id": ACCOUNT,
        "symbol": "ESZ6",
        "action": OrderAction.BUY,
        "qty": 1,
        "order_type": OrderType.LIMIT,
        "price": 6000.25,
    }
    values.update(fields)
    return SubmitOrder(**values)


def modify(order_id: int = 55, **fields: Any) -> CancelReplace:
    values: dict[str, Any] = {
        "intent_id": "m-1",
        "account_id": ACCOUNT,
        "order_id": order_id,
        "qty": 1,
        "order_type": OrderType.LIMIT,
        "price": 6000.25,
    }
    values.update(fields)
    return CancelReplace(**values)


def reason(rejection: Rejection | None) -> tuple[AckReason | None, str | None]:
    return (rejection.reason, rejection.field) if rejection else (None, None)


# -- tick grid, exactly ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("price", [6000.25, 6000.0, 6000, 0.25, 5999.75])
def test_a_price_on_the_tick_grid_passes(price: float) -> None:
    check, _ = guards()
    assert check.check(submit(price=price)) is None


@pytest.mark.parametrize("price", [1e-7, 6000.1, 6000.2500000001, 0.1, 6000.25 + 1e-9])
def test_a_price_off_the_tick_grid_fails_in_exact_decimals(price: float) -> None:
    check, _ = guards()
    assert reason(check.check(submit(price=price))) == (AckReason.OFF_TICK_GRID, "price")


def test_the_issue_s_1e_7_limit_price_is_off_the_grid() -> None:
    check, _ = guards()
    rejection = check.check(submit(price=1e-7))
    assert rejection is not None
    assert "1e-07 is not a multiple of the tick size 0.25" in rejection.detail


@pytest.mark.parametrize("price", [1e308, 1.7976931348623157e308, 2.0**60])
def test_a_price_beyond_the_exact_float_grid_is_invalid(price: float) -> None:
    check, _ = guards()
    assert reason(check.check(submit(price=price))) == (AckReason.INVALID_PRICE, "price")


def test_binary_fraction_ticks_are_exact_too() -> None:
    check, _ = guards()
    assert check.check(submit(symbol="ZNZ6", price=112.515625)) is None  # 112 + 33/64
    assert reason(check.check(submit(symbol="ZNZ6", price=112.51))) == (AckReason.OFF_TICK_GRID, "price")


def test_the_stop_price_is_checked_like_the_price() -> None:
    check, _ = guards()
    intent = submit(order_type=OrderType.STOP, price=None, stop_price=6000.3)
    assert reason(check.check(intent)) == (AckReason.OFF_TICK_GRID, "stop_price")


# -- max qty per order --------------------------------------------------------------------------------------------


def test_qty_above_the_instrument_s_max_order_qty_fails() -> None:
    check, _ = guards(max_order_qty=10)
    assert check.check(submit(qty=10)) is None
    rejection = check.check(submit(qty=11))
    assert reason(rejection) == (AckReason.QTY_LIMIT, "qty")
    assert rejection is not None
    assert "max_order_qty 10 of ESZ6" in rejection.detail


def test_the_default_max_order_qty_is_100() -> None:
    check, _ = guards()
    assert check.check(submit(qty=100)) is None
    assert reason(check.check(submit(qty=101))) == (AckReason.QTY_LIMIT, "qty")


# -- price band around the last trade -----------------------------------------------------------------------------


def test_with_a_band_and_no_trade_seen_a_priced_order_fails_closed() -> None:
    check, _ = guards(price_band_pct=5)
    rejection = check.check(submit())
    assert reason(rejection) == (AckReason.PRICE_BAND, "price")
    assert rejection is not None
    assert "no trade of ESZ6 seen" in rejection.detail
    assert check.check(submit(order_type=OrderType.MARKET, price=None)) is None  # a market order has no price


def test_a_price_outside_the_band_around_the_last_trade_fails() -> None:
    check, observed = guards(price_band_pct=5)
    observed.observe(quote(ES, 6000.0))
    assert check.check(submit(price=6300.0)) is None  # exactly 5%
    assert check.check(submit(price=5700.0)) is None
    assert reason(check.check(submit(price=6300.25))) == (AckReason.PRICE_BAND, "price")
    assert reason(check.check(submit(price=1000.0))) == (AckReason.PRICE_BAND, "price")


def test_the_band_follows_the_latest_trade_and_a_quote_without_a_trade_keeps_it() -> None:
    check, observed = guards(price_band_pct=1)
    observed.observe(quote(ES, 6000.0))
    observed.observe(quote(ES, 7000.0))
    observed.observe(quote(ES, None, Bid={"price": 1.0, "size": 1}))
    assert check.check(submit(price=7000.0)) is None
    assert reason(check.check(submit(price=6000.0))) == (AckReason.PRICE_BAND, "price")
    observed.observe(
        fact(
            Stream.QUOTE,
            {"e": "md", "d": {"quotes": [{"contractId": ES, "entries": {"Trade": {"size": 3}}}]}},
            contract_id=ES,
        )
    )
    assert observed.last_trade(ES) == 7000  # a `Trade` entry without a price changes nothing


def test_a_quote_event_for_several_contracts_is_read_per_contract() -> None:
    _, observed = guards()
    body = {
        "e": "md",
        "d": {
            "quotes": [
                {"contractId": ES, "entries": {"Trade": {"price": 6000.5, "size": 1}}},
                {"contractId": NQ, "entries": {"Trade": {"price": 21000.25, "size": 2}}},
            ]
        },
    }
    observed.observe(fact(Stream.QUOTE, body))
    assert (observed.last_trade(ES), observed.last_trade(NQ)) == (6000.5, 21000.25)


# -- max position -------------------------------------------------------------------------------------------------


def test_a_submit_that_would_pass_max_position_fails_and_one_that_reduces_it_passes() -> None:
    check, observed = guards(max_position=5)
    assert check.check(submit(qty=5)) is None  # flat: 0 -> 5
    observed.observe(position(4))
    rejection = check.check(submit(qty=2))
    assert reason(rejection) == (AckReason.POSITION_LIMIT, "qty")
    assert rejection is not None
    assert "from 4 to 6" in rejection.detail
    assert check.check(submit(qty=1)) is None
    observed.observe(position(7))  # already beyond (e.g. the limit was lowered): reducing is always allowed
    assert check.check(submit(action=OrderAction.SELL, qty=2)) is None
    assert reason(check.check(submit(action=OrderAction.SELL, qty=15))) == (AckReason.POSITION_LIMIT, "qty")


def test_positions_come_from_the_sync_snapshot_and_a_deleted_position_is_flat() -> None:
    check, observed = guards(max_position=5)
    snapshot = {
        "s": 200,
        "i": 3,
        "d": {
            "users": [{"id": 1}],
            "positions": [{"id": 9, "accountId": ACCOUNT, "contractId": ES, "netPos": -5}],
            "orders": [{"id": 77, "accountId": ACCOUNT, "contractId": NQ, "ordStatus": "Working"}],
        },
    }
    observed.observe(fact(Stream.SYNC_SNAPSHOT, snapshot))
    assert observed.net_position(ACCOUNT, ES) == -5
    assert observed.order_contract(77) == NQ
    assert reason(check.check(submit(action=OrderAction.SELL, qty=1))) == (AckReason.POSITION_LIMIT, "qty")
    observed.observe(position(-5, event="Deleted"))
    assert observed.net_position(ACCOUNT, ES) == 0


# -- cancel-replace ------------------------------------------------------------------------------------------------


def test_a_modify_of_an_order_the_facts_never_showed_fails_as_unknown_order() -> None:
    check, _ = guards()
    assert reason(check.check(modify())) == (AckReason.UNKNOWN_ORDER, "order_id")


def test_a_modify_is_checked_against_its_order_s_instrument() -> None:
    check, observed = guards(max_order_qty=3)
    observed.observe(order_event(55, ES))
    assert check.check(modify(qty=3)) is None
    assert reason(check.check(modify(qty=4))) == (AckReason.QTY_LIMIT, "qty")
    assert reason(check.check(modify(price=6000.1))) == (AckReason.OFF_TICK_GRID, "price")
    observed.observe(order_event(56, 999))
    assert reason(check.check(modify(56))) == (AckReason.UNKNOWN_SYMBOL, "order_id")


def test_the_response_to_the_pa_s_own_placement_names_the_order_before_any_props_event() -> None:
    check, observed = guards()
    assert check.check(submit(intent_id="place-1", symbol="NQZ6", price=21000.25)) is None  # about to be sent
    observed.observe(fact(Stream.RESPONSE, {"s": 200, "i": 9, "d": {"orderId": 4242}}, correlation_id="place-1"))
    assert observed.order_contract(4242) == NQ


# -- what is never held back ------------------------------------------------------------------------------------


def test_flatten_and_kill_pass_whatever_the_limits() -> None:
    check, observed = guards(max_order_qty=1, max_position=1, price_band_pct=1)
    observed.observe(position(50))
    assert check.check(Flatten(intent_id="f", account_id=ACCOUNT, symbol="ESZ6")) is None
    assert check.check(Flatten(intent_id="f", account_id=ACCOUNT)) is None
    assert check.check(Kill(intent_id="k", account_id=ACCOUNT)) is None


# -- the observer forwards everything first, unchanged ------------------------------------------------------------


def test_quotes_of_contracts_without_a_price_band_are_not_read() -> None:
    observed = ObservedState()
    observed.watch_trades({NQ})
    observed.observe(quote(ES, 6000.25))
    observed.observe(quote(NQ, 21000.5))
    assert (observed.last_trade(ES), observed.last_trade(NQ)) == (None, 21000.5)


def test_the_observer_forwards_every_fact_unchanged_and_in_order_even_unreadable_ones() -> None:
    writer = ListWriter()
    observed = ObservedState()
    observed.watch_trades({ES})
    observer = FactObserver(writer, observed)
    facts = [
        quote(ES, 6000.25),
        fact(Stream.PROPS, b'{"e":"props","d":{"entityType":"position","entity":[[[[1]]]]}}'),
        fact(Stream.SYNC_SNAPSHOT, b'{"s":200,"d":{"users":'),
        fact(Stream.RESPONSE, b"not json", correlation_id="x"),
        fact(Stream.DOM, {"e": "md", "d": {"doms": []}}),
        position(3),
    ]
    for envelope in facts:
        assert observer.next_delivery_seq() >= 1
        observer.put(envelope)
    assert writer.facts == facts  # the very objects, in order: nothing changed, merged or filtered
    assert observed.unreadable >= 2
    assert observed.net_position(ACCOUNT, ES) == 3
    assert observed.last_trade(ES) == 6000.25
