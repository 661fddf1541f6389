"""Time penalties (p-ticket) in REST bodies and WebSocket response payloads, and the retry body."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.tradovate.protocol import (
    MessagesFrame,
    Penalty,
    RequestEncodeError,
    Response,
    decode_frame,
    parse_penalty,
    with_ticket,
)

from . import samples
from .strategies import json_values


def test_penalty_object_in_a_rest_body() -> None:
    # JS:EX-3; FAQ:HowToHandleRequestLimits: {"p-ticket", "p-time" (seconds), "p-captcha"}
    assert parse_penalty(samples.PENALTY.encode()) == Penalty(ticket="ticket-1", wait_s=15.0, captcha=False)


def test_penalty_inside_a_websocket_response_d() -> None:
    # FAQ-LCR tvSocket.js checks response.d['p-ticket'] on an ordinary s=200 response
    frame = decode_frame('a[{"s":200,"i":9,"d":' + samples.PENALTY + "}]")
    assert isinstance(frame, MessagesFrame)
    (response,) = frame.messages
    assert isinstance(response, Response)
    assert response.status == 200
    assert parse_penalty(response.d) == Penalty("ticket-1", 15.0, False)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"p-captcha":true}', Penalty(None, 0.0, True)),  # JS:EX-3: accesstokenrequest penalties
        ('{"p-ticket":"t","p-time":2.5}', Penalty("t", 2.5, False)),
        ('{"p-time":15}', Penalty(None, 15.0, False)),
        ('{"p-ticket":12345,"p-time":"15"}', Penalty("12345", 15.0, False)),  # odd types still a penalty
        ('{"p-ticket":"t","p-time":-3}', Penalty("t", 0.0, False)),
        ('{"p-ticket":null}', Penalty(None, 0.0, False)),
    ],
)
def test_partial_penalties_are_recognised(body: str, expected: Penalty) -> None:
    assert parse_penalty(body.encode()) == expected


@pytest.mark.parametrize(
    "body",
    [None, b"", b'{"orderId":123}', b'"Invalid access token"', b"[]", b"null", b"not json", b'{"p-ticket"'],
)
def test_everything_else_is_not_a_penalty(body: bytes | None) -> None:
    assert parse_penalty(body) is None


def test_retry_body_is_the_identical_body_plus_the_ticket() -> None:
    # FAQ:HowToHandleRequestLimits: "include p-ticket as an additional field ... (including the original
    # body fields)"
    body = b'{"accountSpec":"demo","accountId":25,"action":"Buy","symbol":"MYMM1","orderQty":1}'
    retried = with_ticket(body, "ticket-1")
    assert retried == body[:-1] + b',"p-ticket":"ticket-1"}'
    assert json.loads(retried) == {**json.loads(body), "p-ticket": "ticket-1"}


def test_retry_of_a_retry_replaces_the_ticket() -> None:
    retried = with_ticket(with_ticket(b'{"a":1}', "first"), "second")
    assert json.loads(retried) == {"a": 1, "p-ticket": "second"}
    assert retried.count(b"p-ticket") == 1


def test_ticket_added_to_an_empty_object_and_to_a_str_body() -> None:
    assert with_ticket(b"{ }\n", "t") == b'{ "p-ticket":"t"}'
    assert with_ticket('{"symbol":"ESM7"}', 't"q') == b'{"symbol":"ESM7","p-ticket":"t\\"q"}'


@pytest.mark.parametrize("body", [b"", b"[]", b'"x"', b"{", b'{"a":1} x'])
def test_retry_needs_a_json_object_body(body: bytes) -> None:
    with pytest.raises(RequestEncodeError):
        with_ticket(body, "t")


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5), st.text(), st.sampled_from(["", " ", "\n"]))
def test_with_ticket_keeps_every_field(fields: dict[str, object], ticket: str, space: str) -> None:
    body = (json.dumps(fields, ensure_ascii=False) + space).encode()
    assert json.loads(with_ticket(body, ticket)) == {**fields, "p-ticket": ticket}


@settings(max_examples=300, deadline=None)
@given(st.binary() | json_values.map(lambda value: json.dumps(value).encode()))
def test_parse_penalty_never_raises(data: bytes) -> None:
    result = parse_penalty(data)
    assert result is None or isinstance(result, Penalty)
    if result is not None:
        assert result.wait_s >= 0.0
        msgspec.json.encode(result)
