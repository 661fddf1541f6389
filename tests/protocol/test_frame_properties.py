"""Properties of decode_frame: never raises, loses nothing, and keeps every message's bytes exact."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.tradovate.protocol import (
    CloseFrame,
    Event,
    HeartbeatFrame,
    MalformedFrame,
    MalformedMessage,
    MessagesFrame,
    OpenFrame,
    Response,
    chart_head,
    decode_frame,
    md_head,
    props_head,
)

from .strategies import compact, json_values, message_objects, routed_messages

FRAME_TYPES = (OpenFrame, HeartbeatFrame, MessagesFrame, CloseFrame, MalformedFrame)
MESSAGE_TYPES = (Response, Event, MalformedMessage)
SETTINGS = settings(max_examples=300, deadline=None)

# Text that starts like a real frame, so the fuzzer reaches past the first-character dispatch.
frame_like_text = st.tuples(st.sampled_from(["a", "a[", "c", "c[", "o", "h", ""]), st.text()).map("".join)


def assert_nothing_lost(frame: object, data: str | bytes) -> None:
    assert isinstance(frame, FRAME_TYPES)
    if isinstance(frame, MalformedFrame):
        if isinstance(data, str):
            assert frame.text == data
        else:
            assert frame.raw == data
    if isinstance(frame, MessagesFrame):
        assert all(isinstance(message, MESSAGE_TYPES) for message in frame.messages)


@SETTINGS
@given(st.text() | frame_like_text)
def test_decode_frame_never_raises_on_any_text(text: str) -> None:
    assert_nothing_lost(decode_frame(text), text)


@SETTINGS
@given(st.binary() | frame_like_text.map(lambda text: text.encode("utf-8")))
def test_decode_frame_never_raises_on_any_bytes(data: bytes) -> None:
    assert_nothing_lost(decode_frame(data), data)


@SETTINGS
@given(st.lists(json_values, max_size=6))
def test_an_array_of_k_items_yields_k_messages(items: list[Any]) -> None:
    frame = decode_frame("a" + compact(items))
    assert isinstance(frame, MessagesFrame)
    assert len(frame.messages) == len(items)


@SETTINGS
@given(st.lists(message_objects, max_size=6))
def test_each_raw_is_the_exact_bytes_of_its_item(items: list[dict[str, Any]]) -> None:
    frame = decode_frame("a" + compact(items))
    assert isinstance(frame, MessagesFrame)
    assert [message.raw for message in frame.messages] == [compact(item).encode() for item in items]
    # Re-joining the raws gives back the same values.
    rejoined = b"[" + b",".join(message.raw for message in frame.messages) + b"]"
    assert json.loads(rejoined) == items


@SETTINGS
@given(st.lists(message_objects, max_size=6), st.sampled_from([" ", "\n", "\t", ""]))
def test_raws_rejoin_to_the_same_values_whatever_the_spacing(items: list[dict[str, Any]], space: str) -> None:
    text = "a[" + ("," + space).join(json.dumps(item, ensure_ascii=False) for item in items) + space + "]"
    frame = decode_frame(text.encode("utf-8"))
    assert isinstance(frame, MessagesFrame)
    rejoined = b"[" + b",".join(message.raw for message in frame.messages) + b"]"
    assert json.loads(rejoined) == items


@SETTINGS
@given(message_objects)
def test_routing_follows_e_then_i_and_s(item: dict[str, Any]) -> None:
    frame = decode_frame("a[" + compact(item) + "]")
    assert isinstance(frame, MessagesFrame)
    (message,) = frame.messages
    e, i, s = item.get("e"), item.get("i"), item.get("s")
    typed = (e is None or isinstance(e, str)) and all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in (i, s)
    )
    if typed and isinstance(e, str):
        assert isinstance(message, Event)
        assert message.kind == e
    elif typed and i is not None and s is not None:
        assert isinstance(message, Response)
        assert (message.request_id, message.status) == (i, s)
    else:
        assert isinstance(message, MalformedMessage)
    if isinstance(message, Event | Response) and "d" in item:
        assert message.d is not None
        assert json.loads(bytes(message.d)) == item["d"]


HEADS_FROM_D = {"md": md_head, "chart": chart_head, "props": props_head}


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(routed_messages, routed_messages, message_objects), max_size=4), st.sampled_from(["", " "]))
def test_heads_read_in_the_message_pass_equal_heads_read_from_d(items: list[dict[str, Any]], space: str) -> None:
    # decode_frame reads md/chart/props heads in the same msgspec pass as the message; the heads must be
    # exactly what the tolerant two-pass path (the message's `d`, then the head's own decode) gives.
    frame = decode_frame("a[" + space + ",".join(compact(item) for item in items) + space + "]")
    assert isinstance(frame, MessagesFrame)
    assert [message.raw for message in frame.messages] == [compact(item).encode() for item in items]
    for message in frame.messages:
        if isinstance(message, Event):
            label = HEADS_FROM_D.get(message.kind)
            assert message.head == (label(message.d) if label is not None else None)
