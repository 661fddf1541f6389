"""Server frames and the messages inside them, each wire quirk checked against a public sample."""

from __future__ import annotations

import json

import msgspec
import pytest

from platform_adapter.tradovate.protocol import (
    CloseFrame,
    Event,
    HeartbeatFrame,
    MalformedFrame,
    MalformedMessage,
    MessagesFrame,
    OpenFrame,
    Response,
    decode_frame,
)

from . import samples


def only_message(frame: object) -> object:
    assert isinstance(frame, MessagesFrame)
    assert len(frame.messages) == 1
    return frame.messages[0]


def test_open_frame_starts_every_session() -> None:
    # WSMD; JS:EX-05
    assert decode_frame(samples.OPEN) == OpenFrame()


def test_server_heartbeat_frame() -> None:
    # WSMD; JS:EX-05
    assert decode_frame(samples.HEARTBEAT) == HeartbeatFrame()


@pytest.mark.parametrize("text", [samples.CLOSE, samples.CLOSE_DOCS])
def test_close_frame_carries_code_and_reason(text: str) -> None:
    # WSMD c[3000,"Go away!"]; DOCS wss-guide/message-protocol writes it with a space
    assert decode_frame(text) == CloseFrame(3000, "Go away!")


def test_authorize_ack_is_a_response_without_payload() -> None:
    # WSMD: a[{"s":200,"i":2}]
    message = only_message(decode_frame(samples.AUTHORIZE_ACK))
    assert message == Response(request_id=2, status=200, d=None, raw=b'{"s":200,"i":2}')


def test_authorize_failure_carries_error_text_in_d() -> None:
    # P:overview/conformance-testing/stage-2-websocket-management
    message = only_message(decode_frame("a[" + samples.AUTHORIZE_FAILED + "]"))
    assert isinstance(message, Response)
    assert (message.request_id, message.status) == (0, 401)
    assert message.d is not None
    assert msgspec.json.decode(message.d) == "Invalid access token"


def test_rate_limited_response_has_no_d() -> None:
    # P:overview/core-concepts/rate-limits: WS 429 is [{"s":429,"i":<id>}] with no d
    message = only_message(decode_frame("a[" + samples.RATE_LIMITED + "]"))
    assert message == Response(request_id=5, status=429, d=None, raw=samples.RATE_LIMITED.encode())


def test_response_payload_stays_raw_and_byte_exact() -> None:
    # DOCS wss-guide/message-protocol: a[{"s":200,"i":23,"d":{...contract...}}]
    message = only_message(decode_frame(samples.CONTRACT_RESPONSE_FRAME))
    assert isinstance(message, Response)
    assert (message.request_id, message.status) == (23, 200)
    assert message.raw == samples.CONTRACT_RESPONSE_FRAME[2:-1].encode()
    assert message.d is not None
    assert bytes(message.d) == b'{"id":65543,"name":"CLZ6","contractMaturityId":6727}'


def test_get_chart_response() -> None:
    # MDDOC Get-Chart: {"s":200,"i":13,"d":{"historicalId":32,"realtimeId":31}}
    message = only_message(decode_frame("a[" + samples.GET_CHART_RESPONSE + "]"))
    assert isinstance(message, Response)
    assert message.request_id == 13
    assert message.d is not None
    assert bytes(message.d) == b'{"historicalId":32,"realtimeId":31}'


def test_props_event_keeps_kind_payload_and_raw() -> None:
    # DOCS wss-guide/message-protocol props sample
    message = only_message(decode_frame(samples.PROPS_ORDER_FRAME))
    assert isinstance(message, Event)
    assert message.kind == "props"
    assert message.raw == samples.PROPS_ORDER_FRAME[2:-1].encode()
    assert message.d is not None
    assert msgspec.json.decode(message.d)["entity"]["id"] == 210518


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        (samples.QUOTE_EVENT, "md"),  # JS:EX-08
        (samples.QUOTE_EVENT_DOCS, "md"),  # DOCS wss-guide/message-protocol
        (samples.DOM_EVENT, "md"),  # JS:EX-09
        (samples.HISTOGRAM_EVENT, "md"),  # JS:EX-09
        (samples.CHART_BARS_EVENT, "chart"),  # JS:EX-10, MDDOC
        (samples.EOH_EVENT, "chart"),  # MDDOC, FAQ:HowToHandleDataSizeLimits
        (samples.TICK_CHART_EVENT, "chart"),  # JS:EX-11
        (samples.SHUTDOWN_EVENT, "shutdown"),  # DOCS, WSMD
        (samples.CLOCK_EVENT, "clock"),  # DOCS replay clock
    ],
)
def test_documented_events_decode_with_their_kind_and_exact_bytes(item: str, kind: str) -> None:
    message = only_message(decode_frame("a[" + item + "]"))
    assert isinstance(message, Event)
    assert message.kind == kind
    # The pretty-printed samples keep their whitespace: raw is the item exactly as sent.
    assert message.raw == item.encode()


def test_clock_event_d_is_a_json_string() -> None:
    # DOCS: "the d field is JSON, you must decode it"
    message = only_message(decode_frame("a[" + samples.CLOCK_EVENT + "]"))
    assert isinstance(message, Event)
    assert message.d is not None
    assert json.loads(msgspec.json.decode(message.d)) == {"t": "2019-08-26T16:43:08.599Z", "s": 20}


def test_response_and_events_co_batched_in_one_frame_all_come_out_in_order() -> None:
    # WSMD: every array item is one message; whether responses and events share a frame is not
    # stated (lead sheet §3, UNCONFIRMED), so a mixed frame must decode item by item.
    items = [
        samples.AUTHORIZE_ACK[2:-1],
        samples.PROPS_ORDER_FRAME[2:-1],
        samples.QUOTE_EVENT,
        samples.RATE_LIMITED,
        samples.TICK_CHART_EVENT,
    ]
    frame = decode_frame("a[" + ",".join(items) + "]")
    assert isinstance(frame, MessagesFrame)
    assert [type(m) for m in frame.messages] == [Response, Event, Event, Response, Event]
    assert [m.raw for m in frame.messages] == [item.encode() for item in items]


def test_empty_array_is_a_frame_with_no_messages() -> None:
    assert decode_frame("a[]") == MessagesFrame(())


def test_item_that_is_not_a_message_object_is_kept_alongside_good_ones() -> None:
    frame = decode_frame('a["foo",{"s":200,"i":1},[1,2],{"x":1},{"i":3}]')
    assert isinstance(frame, MessagesFrame)
    kinds = [type(m) for m in frame.messages]
    assert kinds == [MalformedMessage, Response, MalformedMessage, MalformedMessage, MalformedMessage]
    assert [m.raw for m in frame.messages] == [b'"foo"', b'{"s":200,"i":1}', b"[1,2]", b'{"x":1}', b'{"i":3}']


def test_message_with_e_is_an_event_even_with_an_id() -> None:
    # CSWS dispatches on e != null
    message = only_message(decode_frame('a[{"e":"props","i":4,"s":200,"d":{}}]'))
    assert isinstance(message, Event)


def test_explicit_null_d_is_kept_as_raw_null() -> None:
    message = only_message(decode_frame('a[{"s":200,"i":1,"d":null}]'))
    assert isinstance(message, Response)
    assert message.d is not None
    assert bytes(message.d) == b"null"


def test_message_with_wrongly_typed_routing_key_is_malformed_not_an_exception() -> None:
    message = only_message(decode_frame('a[{"i":"7","s":200}]'))
    assert isinstance(message, MalformedMessage)
    assert message.raw == b'{"i":"7","s":200}'


@pytest.mark.parametrize(
    "text",
    ["", "x", "o\n", "oo", "h ", "[]", "a", "a{", 'a{"s":200}', "a[1", "a[1]x", "c", "c[3000]", 'c["x","y"]'],
)
def test_unparseable_frame_is_malformed_and_keeps_the_whole_text(text: str) -> None:
    frame = decode_frame(text)
    assert isinstance(frame, MalformedFrame)
    assert frame.text == text
    assert frame.error


def test_bytes_frames_decode_like_text_frames() -> None:
    assert decode_frame(samples.OPEN.encode()) == OpenFrame()
    assert decode_frame(samples.CLOSE.encode()) == CloseFrame(3000, "Go away!")
    assert decode_frame(samples.PROPS_ORDER_FRAME.encode()) == decode_frame(samples.PROPS_ORDER_FRAME)


def test_invalid_utf8_bytes_are_kept_exactly_and_text_stays_json_safe() -> None:
    data = b"\xff\xfe\x00"
    frame = decode_frame(data)
    assert isinstance(frame, MalformedFrame)
    assert frame.raw == data
    assert frame.text == "\\xff\\xfe\x00"
    msgspec.json.encode(frame)  # forwardable as a fact


def test_non_ascii_payload_raw_is_its_utf8_bytes() -> None:
    frame = decode_frame('a[{"e":"props","d":{"name":"Zürich ✓"}}]')
    message = only_message(frame)
    assert isinstance(message, Event)
    assert message.raw == '{"e":"props","d":{"name":"Zürich ✓"}}'.encode()
