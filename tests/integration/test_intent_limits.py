"""The complete intent gate end to end, over both transports: nothing absurd reaches Tradovate, and `unknown` is
answered only when a request may have reached it (issue 15: qty 1e30 and 2^64+5 were placed; a limit price of
1e-7 passed the tick check; a price of 1e308 came back `unknown` although nothing was sent)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from platform_adapter.config import InstrumentSettings
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckReason, AckStatus, CancelReplace, OrderAction, OrderType, Stream, SubmitOrder

from .harness import ACCOUNT_ID, Harness, Transport, running
from .harness import market_order as order
from .test_execution import ESZ6_ID, last_price


async def _refused(h: Harness, intent: SubmitOrder | CancelReplace, reason: AckReason, field: str) -> None:
    ack = await h.stack.intents.call(intent, OE_IDENTITY)
    assert (ack.status, ack.reason, ack.field) == (AckStatus.FAILED, reason, field), ack
    assert ack.detail


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        ({"qty": 10**30}, AckReason.INVALID_QTY, "qty"),
        ({"qty": 2**64 + 5}, AckReason.INVALID_QTY, "qty"),
        ({"qty": 101}, AckReason.QTY_LIMIT, "qty"),  # the default max_order_qty
        ({"order_type": OrderType.LIMIT, "price": 1e-7}, AckReason.OFF_TICK_GRID, "price"),
        ({"order_type": OrderType.LIMIT, "price": 1e308}, AckReason.INVALID_PRICE, "price"),
        ({"order_type": OrderType.STOP, "stop_price": 1e308}, AckReason.INVALID_PRICE, "stop_price"),
    ],
)
async def test_an_absurd_order_fails_and_nothing_reaches_tradovate(
    fields: dict[str, Any], reason: AckReason, field: str, transport: Transport
) -> None:
    async with running(transport) as h:
        await h.up()
        await _refused(h, order(f"absurd-{field}", **fields), reason, field)
        assert h.sim.received_requests("order/placeorder") == []


def _guarded(**limits: Any) -> tuple[InstrumentSettings, ...]:
    return (
        InstrumentSettings(symbol="ESZ6", timeframes=("1m",), quotes=True, **limits),
        InstrumentSettings(symbol="NQZ6", quotes=True),
    )


async def _trade_seen(h: Harness) -> None:
    observed = h.stack.platform.observed
    await h.until(lambda: observed.last_trade(ESZ6_ID) is not None, what="a trade in the quote facts")


async def test_a_price_outside_the_configured_band_fails_and_inside_it_is_placed(transport: Transport) -> None:
    async with running(transport, instruments=_guarded(price_band_pct=2.0)) as h:
        await h.up()
        await _trade_seen(h)
        last = h.stack.platform.observed.last_trade(ESZ6_ID)
        assert last is not None
        assert last == last_price(h)  # the price the simulator last printed, taken from the forwarded quote fact
        base = round(float(last) * 4) / 4
        await _refused(
            h, order("far", order_type=OrderType.LIMIT, price=base * 0.9 // 1), AckReason.PRICE_BAND, "price"
        )
        assert h.sim.received_requests("order/placeorder") == []
        ack = await h.stack.intents.call(order("near", order_type=OrderType.LIMIT, price=base - 5.0), OE_IDENTITY)
        assert ack.status is AckStatus.ACCEPTED, ack


async def test_a_submit_that_would_pass_max_position_fails_once_the_fills_show_the_position(
    transport: Transport,
) -> None:
    async with running(transport, instruments=_guarded(max_position=3)) as h:
        await h.up()
        await _refused(h, order("too-many", qty=4), AckReason.POSITION_LIMIT, "qty")
        bought = await h.oe.submit_market(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 2)
        assert bought.status is AckStatus.ACCEPTED
        observed = h.stack.platform.observed
        await h.until(lambda: observed.net_position(ACCOUNT_ID, ESZ6_ID) == 2, what="the position fact")
        await _refused(h, order("one-too-many", qty=2), AckReason.POSITION_LIMIT, "qty")
        sold = await h.stack.intents.call(order("reduce", action=OrderAction.SELL, qty=2), OE_IDENTITY)
        assert sold.status is AckStatus.ACCEPTED
        assert len(h.sim.received_requests("order/placeorder")) == 2  # the buy and the sell, nothing else


async def test_a_modify_is_checked_against_its_order_s_instrument_and_tick(transport: Transport) -> None:
    async with running(transport, instruments=_guarded(max_order_qty=5)) as h:
        await h.up()
        resting = await h.oe.submit_limit(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1, 1000.0)
        assert resting.status is AckStatus.ACCEPTED
        order_id = resting.platform_order_id
        assert order_id is not None

        def modify(intent_id: str, **fields: Any) -> CancelReplace:
            values: dict[str, Any] = {"order_id": order_id, "qty": 2, "order_type": OrderType.LIMIT, "price": 1000.25}
            values.update(fields)
            return CancelReplace(intent_id=intent_id, account_id=ACCOUNT_ID, **values)

        await _refused(h, modify("off-grid", price=1000.1), AckReason.OFF_TICK_GRID, "price")
        await _refused(h, modify("too-big", qty=6), AckReason.QTY_LIMIT, "qty")
        await _refused(h, modify("nowhere", order_id=order_id + 10_000), AckReason.UNKNOWN_ORDER, "order_id")
        assert h.sim.received_requests("order/modifyorder") == []
        ack = await h.stack.intents.call(modify("fine"), OE_IDENTITY)
        assert ack.status is AckStatus.ACCEPTED, ack
        body = json.loads(h.sim.received_requests("order/modifyorder")[0].body)
        assert (body["orderQty"], body["price"]) == (2, 1000.25)


async def test_the_observer_changes_no_fact(transport: Transport) -> None:
    async with running(transport, instruments=_guarded(price_band_pct=5.0, max_position=10)) as h:
        await h.up()
        await _trade_seen(h)
        await h.oe.submit_market(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1)
        await h.drained()
        quotes = [m for m in h.sim.sent_messages(kind="md") if m.event == "md"]
        forwarded = [bytes(f.payload).decode() for f in h.u_facts() if f.stream is Stream.QUOTE]
        assert forwarded == [m.text for m in quotes]  # every quote, byte for byte, in order
