"""The in-process intent path: whatever the caller passes, one `failed` ack naming the field, never an exception.

Issue 15: an in-process intent with plain strings for enums, `symbol=None`, or not an intent at all raised to the
caller or came back `unknown`; qty 1e30 and 2^64+5 were accepted and sent; a price of inf or 1e308 came back
`unknown` although nothing was sent.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.config import Mode
from platform_adapter.core.clock import ManualClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.intents import IntentService
from platform_adapter.core.ports import OE_IDENTITY, Rejection
from platform_adapter.mic import (
    AckReason,
    AckStatus,
    Cancel,
    CancelReplace,
    Flatten,
    Intent,
    Kill,
    OrderAction,
    OrderType,
    ReceiptAck,
    SubmitOrder,
    TimeInForce,
)

from .fakes import FakePlatform, RecordingHealthSink


def _service() -> tuple[IntentService, FakePlatform]:
    platform = FakePlatform()
    clock = ManualClock()
    return IntentService(Mode.LIVE, platform, HealthMonitor(clock, RecordingHealthSink()), clock), platform


def submit(**fields: Any) -> SubmitOrder:
    values: dict[str, Any] = {
        "intent_id": "i-1",
        "account_id": 1,
        "symbol": "ESZ6",
        "action": OrderAction.BUY,
        "qty": 1,
        "order_type": OrderType.MARKET,
    }
    values.update(fields)
    return SubmitOrder(**values)


def limit(price: Any, **fields: Any) -> SubmitOrder:
    return submit(order_type=OrderType.LIMIT, price=price, **fields)


async def _refused(intent: Any) -> ReceiptAck:
    service, platform = _service()
    ack = await service.handle(intent, OE_IDENTITY)  # must not raise
    assert ack.status is AckStatus.FAILED, ack
    assert ack.detail
    assert platform.executed == []
    return ack


@pytest.mark.parametrize(
    ("intent", "field"),
    [
        (submit(action="Buy"), "action"),
        (submit(order_type="Market"), "order_type"),
        (submit(time_in_force="Day"), "time_in_force"),
        (submit(symbol=None), "symbol"),
        (submit(symbol=42), "symbol"),
        (submit(symbol="ES\ud800"), "symbol"),
        (submit(intent_id=7), "intent_id"),
        (submit(intent_id=None), "intent_id"),
        (submit(account_id="1"), "account_id"),
        (submit(account_id=True), "account_id"),
        (submit(text=["a"]), "text"),
        (submit(sent_ts=1.5), "sent_ts"),
        (Cancel(intent_id="c", account_id=1, order_id="77"), "order_id"),  # type: ignore[arg-type]
        (Flatten(intent_id="f", account_id=1, symbol=3), "symbol"),  # type: ignore[arg-type]
        (Kill(intent_id="k", account_id=1, reason=None), "reason"),  # type: ignore[arg-type]
    ],
)
async def test_a_field_of_the_wrong_type_fails_naming_the_field(intent: Intent, field: str) -> None:
    ack = await _refused(intent)
    assert ack.reason is AckReason.MALFORMED_INTENT
    assert ack.field == field
    assert field in ack.detail


async def test_plain_strings_for_enums_are_named_with_the_values_they_must_be() -> None:
    ack = await _refused(submit(action="Buy"))
    assert "OrderAction (Buy, Sell)" in ack.detail
    assert "str 'Buy'" in ack.detail


@pytest.mark.parametrize("thing", [None, "submit", {"type": "submit_order"}, 42, object(), ReceiptAck])
async def test_something_that_is_not_an_intent_fails_and_takes_no_intent_id(thing: object) -> None:
    ack = await _refused(thing)
    assert (ack.reason, ack.field, ack.intent_id) == (AckReason.MALFORMED_INTENT, "type", "")
    assert "not an intent" in ack.detail


async def test_a_malformed_intent_does_not_take_its_intent_id() -> None:
    service, _ = _service()
    bad = await service.handle(submit(action="Buy"), OE_IDENTITY)
    assert (bad.status, bad.intent_id) == (AckStatus.FAILED, "i-1")
    good = await service.handle(submit(), OE_IDENTITY)
    assert good.status is AckStatus.ACCEPTED  # not `intent_id_reused`: the malformed call took no id
    assert not good.duplicate


@pytest.mark.parametrize("qty", [10**30, 2**64 + 5, 2**31, -(2**64)])
async def test_a_quantity_out_of_range_fails_and_is_never_sent(qty: int) -> None:
    ack = await _refused(submit(qty=qty))
    assert (ack.reason, ack.field) == (AckReason.INVALID_QTY, "qty")


async def test_a_float_quantity_fails_as_a_quantity() -> None:
    ack = await _refused(submit(qty=1e30))
    assert (ack.reason, ack.field) == (AckReason.INVALID_QTY, "qty")


@pytest.mark.parametrize("price", [math.inf, -math.inf, math.nan, 0.0, -6000.0, True, "6000.25"])
async def test_a_price_that_is_not_a_finite_positive_number_fails_and_is_never_unknown(price: Any) -> None:
    ack = await _refused(limit(price))
    assert (ack.reason, ack.field) == (AckReason.INVALID_PRICE, "price")


@pytest.mark.parametrize("order_id", [0, -5, 2**63, 2**64 + 5])
async def test_an_order_id_out_of_range_fails(order_id: int) -> None:
    ack = await _refused(Cancel(intent_id="c", account_id=1, order_id=order_id))
    assert (ack.reason, ack.field) == (AckReason.MALFORMED_INTENT, "order_id")


async def test_a_fault_in_a_check_is_failed_not_unknown_because_nothing_was_sent() -> None:
    service, platform = _service()

    def broken(intent: Intent) -> Rejection | None:
        raise OverflowError("cannot convert float infinity to integer")

    platform.validate = broken  # type: ignore[method-assign]
    ack = await service.handle(submit(), OE_IDENTITY)
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.INTERNAL_ERROR)
    assert "nothing was sent" in ack.detail
    assert platform.executed == []


async def test_a_sender_that_is_not_a_string_is_refused_without_an_exception() -> None:
    service, platform = _service()
    ack = await service.handle(submit(), None)  # type: ignore[arg-type]
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.NOT_FROM_OE)
    assert platform.executed == []


# -- the property: any value in any field ---------------------------------------------------------------------

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.sampled_from(["Buy", "Limit", "Day", "\ud800", "x" * 10_000, OrderAction.SELL, OrderType.STOP, TimeInForce.GTC]),
    st.builds(object),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
intent_types = st.sampled_from([SubmitOrder, CancelReplace, Cancel, Flatten, Kill])


@settings(max_examples=300, deadline=None)
@given(intent_types, st.data())
async def test_any_value_in_any_field_is_answered_and_never_unknown(cls: type[Intent], data: st.DataObject) -> None:
    valid: dict[type, dict[str, Any]] = {
        SubmitOrder: msgspec.structs.asdict(limit(6000.25)),
        CancelReplace: msgspec.structs.asdict(
            CancelReplace(intent_id="m", account_id=1, order_id=5, qty=1, order_type=OrderType.MARKET)
        ),
        Cancel: {"intent_id": "c", "account_id": 1, "order_id": 5},
        Flatten: {"intent_id": "f", "account_id": 1},
        Kill: {"intent_id": "k", "account_id": 1},
    }
    fields = dict(valid[cls])
    for name in data.draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        fields[name] = data.draw(odd_values)
    service, platform = _service()
    ack = await service.handle(cls(**fields), OE_IDENTITY)
    assert ack.status in (AckStatus.ACCEPTED, AckStatus.FAILED)
    if ack.status is AckStatus.FAILED:
        assert platform.executed == []
        assert ack.detail
        assert len(ack.detail) < 600
    else:  # what reached the platform is well-typed and encodes as JSON
        assert msgspec.json.encode(platform.executed[0])
