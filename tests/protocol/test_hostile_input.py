"""Pathological input from the platform or from OE: nesting, size, unicode, NaN/inf and huge integers.

Every property here would have found the nesting bug (issue 15: `a[` + 1,000 x `[` raised RecursionError out of
`decode_frame` and ended the PA): the strategies reach well past msgspec's depth check.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.mic import FactKind, FactMode
from platform_adapter.mic.codec import MAX_INTENT_SIZE, DecodeError, decode_intent
from platform_adapter.tradovate.facts import FactBuilder, SocketContext
from platform_adapter.tradovate.protocol import (
    CloseFrame,
    MalformedFrame,
    MessagesFrame,
    decode_frame,
)
from platform_adapter.tradovate.protocol.frames import MAX_FRAME_SIZE

from ..core.fakes import ListWriter
from .strategies import compact

SETTINGS = settings(max_examples=150, deadline=None)

# Nesting on both sides of msgspec's depth check (the interpreter's recursion limit, 1,000 by default).
depths = st.integers(min_value=1, max_value=4_000)
openers = st.sampled_from(["[", '{"k":'])


def nested(depth: int, opener: str, leaf: str = "1") -> str:
    closer = "]" if opener == "[" else "}"
    return opener * depth + leaf + closer * depth


# Scalars JSON parsers disagree on: NaN/Infinity tokens, integers past 64 bits, lone surrogates.
odd_scalars = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1e400",
        str(2**64 + 5),
        str(-(2**70)),
        "1" * 5_000,
        '"\\ud800"',
        '"\\udfff\\ud800"',
        '"\U0001f4a5\u202e\u0000"',
        '"\\u0000"',
        "1e-400",
    ]
)

# Where the odd value goes: the whole frame, the routing keys, inside d of each routed kind.
templates = st.sampled_from(
    [
        "a{}",
        "a[{}]",
        'a[{{"e":"md","d":{}}}]',
        'a[{{"e":"md","d":{{"quotes":[{{"contractId":{},"timestamp":"t"}}]}}}}]',
        'a[{{"e":"chart","d":{{"charts":[{{"id":{},"bars":[]}}]}}}}]',
        'a[{{"e":"chart","d":{{"charts":[{{"id":1,"eoh":{}}}]}}}}]',
        'a[{{"e":"props","d":{{"entityType":"order","entity":{}}}}}]',
        'a[{{"e":"props","d":{{"entityType":"order","entity":{{"id":{},"accountId":1}}}}}}]',
        'a[{{"e":"shutdown","d":{{"reasonCode":{}}}}}]',
        'a[{{"i":{},"s":200}}]',
        'a[{{"i":1,"s":{}}}]',
        'a[{{"i":1,"s":200,"d":{}}}]',
        'a[{{"s":200,"i":1}},{}]',
        'c[{},"x"]',
        "c[3000,{}]",
    ]
)
values = st.one_of(
    st.builds(nested, depths, openers),
    odd_scalars,
    st.builds(nested, depths, openers, odd_scalars),
)
hostile_frames = st.builds(lambda template, value: template.format(value), templates, values)


def builder_over_a_list() -> tuple[FactBuilder, ListWriter]:
    writer = ListWriter()
    return FactBuilder(FactMode.LIVE, writer, run_id="hostile"), writer


@SETTINGS
@given(hostile_frames, st.booleans())
def test_a_hostile_frame_is_a_typed_value_and_becomes_facts_never_an_exception(text: str, as_bytes: bool) -> None:
    data: str | bytes = text.encode("utf-8", "surrogatepass") if as_bytes else text
    frame = decode_frame(data)  # must not raise
    builder, outbox = builder_over_a_list()
    ctx = SocketContext("md", "md-1", 1)
    if isinstance(frame, MessagesFrame):
        builder.messages(ctx, 1, frame.messages)
        assert len(outbox.facts) == len(frame.messages)  # one fact per message, none lost
    elif isinstance(frame, MalformedFrame | CloseFrame):
        builder.frame(ctx, 1, frame)
        assert len(outbox.facts) == 1
    if isinstance(frame, MalformedFrame):
        assert (frame.raw if as_bytes else frame.text) == data  # kept whole, forwarded raw


@pytest.mark.parametrize(("depth", "opener"), list(itertools.product([1_000, 3_000, 100_000], ["[", '{"k":'])))
def test_the_issue_s_2kb_frame_and_deeper_ones_are_malformed_frames(depth: int, opener: str) -> None:
    for text in ("a" + nested(depth, opener), "a[" + nested(depth, opener) + "]"):
        frame = decode_frame(text)
        assert isinstance(frame, MalformedFrame)
        assert frame.text == text
        assert "recursion" in frame.error or "nested" in frame.error or "JSON array" in frame.error


def test_a_frame_over_the_size_limit_is_kept_whole_and_not_parsed() -> None:
    text = 'a[{"e":"md","d":' + " " * MAX_FRAME_SIZE + "{}}]"
    frame = decode_frame(text)
    assert isinstance(frame, MalformedFrame)
    assert frame.text is text
    assert "exceeds" in frame.error
    builder, outbox = builder_over_a_list()
    builder.frame(SocketContext("md", "md-1", 1), 1, frame)
    assert len(outbox.facts) == 1


# -- the intent decoder ---------------------------------------------------------------------------------

intent_templates = st.sampled_from(
    [
        "{}",
        '{{"type":"submit_order","intent_id":"i","account_id":1,"symbol":"ESZ6","action":"Buy","qty":{},'
        '"order_type":"Market"}}',
        '{{"type":"submit_order","intent_id":"i","account_id":1,"symbol":"ESZ6","action":"Buy","qty":1,'
        '"order_type":"Limit","price":{}}}',
        '{{"type":"cancel","intent_id":{},"account_id":1,"order_id":1}}',
        '{{"type":"cancel","intent_id":"i","account_id":1,"order_id":1,"extra":{}}}',
        '{{"type":{},"intent_id":"i","account_id":1}}',
    ]
)
hostile_intents = st.builds(lambda template, value: template.format(value), intent_templates, values)


@SETTINGS
@given(hostile_intents, st.booleans())
def test_decode_intent_raises_only_decode_error(text: str, as_bytes: bool) -> None:
    data: str | bytes = text.encode("utf-8", "surrogatepass") if as_bytes else text
    with contextlib.suppress(DecodeError):  # the typed refusal the transport answers with a `failed` ack
        decode_intent(data)


@pytest.mark.parametrize("depth", [1_000, 5_000, 50_000])
def test_a_deeply_nested_intent_is_a_decode_error(depth: int) -> None:
    body = '{"type":"kill","intent_id":"k","account_id":1,"extra":' + nested(depth, "[") + "}"
    with pytest.raises(DecodeError):
        decode_intent(body)


def test_an_oversized_intent_is_refused_before_parsing() -> None:
    body: dict[str, Any] = {"type": "kill", "intent_id": "k", "account_id": 1, "reason": "x" * MAX_INTENT_SIZE}
    with pytest.raises(DecodeError, match="exceeds"):
        decode_intent(msgspec.json.encode(body))
    assert compact(body)  # the same body under the limit decodes (the limit, not the shape, refused it)
    body["reason"] = "x" * 100
    assert decode_intent(msgspec.json.encode(body)).intent_id == "k"


def test_undecodable_facts_are_flagged_and_counted() -> None:
    builder, outbox = builder_over_a_list()
    frame = decode_frame("a" + nested(5_000, "["))
    assert isinstance(frame, MalformedFrame)
    builder.frame(SocketContext("md", "md-1", 1), 7, frame)
    assert builder.counters.undecodable == 1
    assert len(outbox.facts) == 1
    assert outbox.facts[0].kind is FactKind.UNDECODABLE
