"""The contract round-trips through its one codec, field for field, for any valid value."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_adapter.mic import (
    MIC_VERSION,
    AckReason,
    AckStatus,
    Cancel,
    CancelReplace,
    FactEnvelope,
    FactKind,
    FactMode,
    Flatten,
    GapDetail,
    HealthReason,
    HealthSignal,
    HealthState,
    Kill,
    OrderAction,
    OrderType,
    ReceiptAck,
    ResetKill,
    Stream,
    SubmitOrder,
    TimeInForce,
    codec,
)

ints = st.integers(min_value=0, max_value=2**62)
opt_ints = st.none() | ints
texts = st.text(max_size=40)
prices = st.none() | st.floats(min_value=0.01, max_value=1e6, allow_nan=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def envelopes(draw: st.DrawFn) -> FactEnvelope:
    payload = msgspec.json.encode(draw(json_values))
    return FactEnvelope(
        kind=draw(st.sampled_from(FactKind)),
        stream=draw(st.sampled_from(Stream)),
        mode=draw(st.sampled_from(FactMode)),
        recv_ts=draw(ints),
        connection=draw(st.sampled_from(["md", "trading"])),
        connection_id=draw(texts),
        epoch=draw(ints),
        delivery_seq=draw(ints),
        payload=msgspec.Raw(payload),
        platform_ts=draw(st.none() | texts | ints),
        platform_seq=draw(opt_ints),
        contract_id=draw(opt_ints),
        symbol=draw(st.none() | texts),
        account_id=draw(opt_ints),
        correlation_id=draw(st.none() | texts),
        request_id=draw(opt_ints),
        timeframe=draw(st.none() | st.sampled_from(["1m", "5m", "1d", "tick"])),
        historical=draw(st.none() | st.booleans()),
        backfill=draw(st.booleans()),
    )


def _fields(envelope: FactEnvelope) -> dict[str, object]:
    fields = msgspec.structs.asdict(envelope)
    fields["payload"] = bytes(envelope.payload)
    return fields


@given(envelopes())
def test_fact_envelope_round_trips_with_payload_bytes_untouched(envelope: FactEnvelope) -> None:
    decoded = codec.decode_envelope(codec.encode(envelope))
    assert _fields(decoded) == _fields(envelope)
    assert decoded.v == MIC_VERSION


intent_common = {"intent_id": st.text(min_size=1, max_size=64), "account_id": ints, "sent_ts": opt_ints}
intents = st.one_of(
    st.builds(
        SubmitOrder,
        symbol=texts,
        action=st.sampled_from(OrderAction),
        qty=st.integers(1, 1000),
        order_type=st.sampled_from(OrderType),
        price=prices,
        stop_price=prices,
        time_in_force=st.sampled_from(TimeInForce),
        account_spec=st.none() | texts,
        text=st.none() | texts,
        **intent_common,
    ),
    st.builds(
        CancelReplace,
        order_id=ints,
        qty=st.integers(1, 1000),
        order_type=st.sampled_from(OrderType),
        price=prices,
        stop_price=prices,
        time_in_force=st.none() | st.sampled_from(TimeInForce),
        **intent_common,
    ),
    st.builds(Cancel, order_id=ints, **intent_common),
    st.builds(Flatten, symbol=st.none() | texts, **intent_common),
    st.builds(Kill, reason=texts, **intent_common),
    st.builds(ResetKill, reason=texts, **intent_common),
)


@given(intents)
def test_every_intent_round_trips_by_its_type_tag(intent: object) -> None:
    decoded = codec.decode_intent(codec.encode(intent))
    assert type(decoded) is type(intent)
    assert decoded == intent


@given(
    st.builds(
        ReceiptAck,
        intent_id=texts,
        status=st.sampled_from(AckStatus),
        received_ts=ints,
        acked_ts=ints,
        reason=st.none() | st.sampled_from(AckReason),
        detail=texts,
        field=st.none() | texts,
        platform_order_id=opt_ints,
        platform_command_id=opt_ints,
        platform_order_ids=st.lists(ints, max_size=3).map(tuple),
        failure_reason=st.none() | texts,
        failure_text=st.none() | texts,
        duplicate=st.booleans(),
    )
)
def test_receipt_ack_round_trips(ack: ReceiptAck) -> None:
    assert codec.decode_ack(codec.encode(ack)) == ack


@given(
    st.builds(
        HealthSignal,
        state=st.sampled_from(HealthState),
        halt_required=st.booleans(),
        since=ints,
        ts=ints,
        seq=ints,
        reasons=st.lists(st.sampled_from(HealthReason), max_size=4).map(tuple),
        detail=texts,
    )
)
def test_health_signal_round_trips(signal: HealthSignal) -> None:
    assert codec.decode_health(codec.encode(signal)) == signal


@given(
    st.builds(
        GapDetail,
        reason=texts,
        connection=texts,
        from_epoch=ints,
        to_epoch=opt_ints,
        first_missing_recv_ts=opt_ints,
        last_missing_recv_ts=opt_ints,
        last_seen_platform_ts=st.none() | texts | ints,
        backfill=st.sampled_from(["none", "requested"]),
        streams=st.lists(texts, max_size=3).map(tuple),
        contract_id=opt_ints,
        symbol=st.none() | texts,
        detail=texts,
    )
)
def test_gap_detail_round_trips(gap: GapDetail) -> None:
    assert codec.decode_gap(codec.encode(gap)) == gap


def test_payload_is_embedded_verbatim_not_re_encoded() -> None:
    # The platform's exact bytes (spacing, key order, number spelling) must survive the envelope.
    raw = b'{"e":"md","d":{"quotes":[{"timestamp":"2016-11-04T00:02:36.626Z","contractId":1,"entries":{"Bid":{"price":2.50}}}]}}'
    envelope = FactEnvelope(
        kind=FactKind.MARKET,
        stream=Stream.QUOTE,
        mode=FactMode.LIVE,
        recv_ts=1,
        connection="md",
        connection_id="md-1",
        epoch=1,
        delivery_seq=1,
        payload=msgspec.Raw(raw),
    )
    assert raw in codec.encode(envelope)


def test_unknown_intent_type_is_a_decode_error_naming_the_tag() -> None:
    with pytest.raises(msgspec.ValidationError, match="type"):
        codec.decode_intent(b'{"type":"buy_everything","intent_id":"x","account_id":1}')


def test_intent_with_wrong_field_type_is_a_decode_error_naming_the_field() -> None:
    body = b'{"type":"submit_order","intent_id":"x","account_id":1,"symbol":"ESZ6","action":"Buy","qty":"one","order_type":"Market"}'
    with pytest.raises(msgspec.ValidationError, match="qty"):
        codec.decode_intent(body)
