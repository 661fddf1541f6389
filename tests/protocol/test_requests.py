"""Client requests: the four-line format, authorize, heartbeat, ids, and parsing requests back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.tradovate.protocol import (
    HEARTBEAT,
    MalformedRequest,
    Request,
    RequestEncodeError,
    decode_request,
    encode_authorize,
    encode_body,
    encode_request,
)

from . import samples


def test_request_without_query_or_body_keeps_both_empty_lines() -> None:
    # WSMD; DOCS; JS:EX-07: "executionReport/list\n4\n\n"
    assert encode_request("executionReport/list", 4) == samples.REQUEST_NO_QUERY_NO_BODY


def test_request_with_query_keeps_the_empty_body_line() -> None:
    # JS:EX-07 shows the trailing empty line; "if we skip a parameter, we must include a newline"
    assert encode_request("tradingPermission/ldeps", 8, "masterids=1") == samples.REQUEST_QUERY_JS


def test_request_with_body_has_an_empty_query_line() -> None:
    # WSMD; JS:EX-07; a body on the query line is refused by the server (ISS#32)
    body = encode_body({"name": "YMZ6", "forward": True, "ifExpired": True})
    assert encode_request("contract/rollcontract", 33, body=body) == samples.REQUEST_BODY


def test_get_chart_request_matches_the_documented_wire_text() -> None:
    # DOCS md/getChart verbatim wire example
    body = encode_body(
        {
            "symbol": "ESZ4",
            "chartDescription": {
                "underlyingType": "MinuteBar",
                "elementSize": 1,
                "elementSizeUnit": "UnderlyingUnits",
                "withHistogram": False,
            },
            "timeRange": {"asMuchAsElements": 100},
        }
    )
    assert encode_request("md/getchart", 0, body=body) == samples.REQUEST_GET_CHART


def test_body_json_is_double_quoted() -> None:
    # ISS#52: single-quoted (Python repr) bodies are rejected; msgspec writes strict JSON
    assert encode_body({"symbol": "ESM7"}) == b'{"symbol":"ESM7"}'


def test_body_may_be_given_as_str_or_bytes() -> None:
    as_str = encode_request("md/subscribeQuote", 3, body='{"symbol":"ESM7"}')
    as_bytes = encode_request("md/subscribeQuote", 3, body=b'{"symbol":"ESM7"}')
    assert as_str == as_bytes == 'md/subscribeQuote\n3\n\n{"symbol":"ESM7"}'


def test_authorize_sends_the_raw_token_as_body() -> None:
    # WSMD: authorize\n0\n\n<accessToken>; JS:EX-05: `authorize\n1\n\n${token}`
    assert encode_authorize(0, "tok-123") == samples.AUTHORIZE_TEMPLATE.format(id=0, token="tok-123")
    assert encode_authorize(1, "tok-123") == "authorize\n1\n\ntok-123"


def test_client_heartbeat_is_an_empty_json_array() -> None:
    # WSMD; JS:EX-06: "A heartbeat frame is simply an empty array, stringified"
    assert HEARTBEAT == "[]"
    assert json.loads(HEARTBEAT) == []


@pytest.mark.parametrize(
    ("endpoint", "request_id", "query", "field"),
    [
        ("", 1, "", "endpoint"),
        ("order/placeorder\n", 1, "", "endpoint"),
        ("/order/placeorder", 1, "", "endpoint"),  # WSMD: no leading '/'
        ("order/placeorder", -1, "", "request_id"),
        ("contract/find", 1, "name=ESM7\nx", "query"),
    ],
)
def test_ambiguous_requests_are_refused(endpoint: str, request_id: int, query: str, field: str) -> None:
    with pytest.raises(RequestEncodeError) as caught:
        encode_request(endpoint, request_id, query)
    assert caught.value.field == field


def test_non_utf8_body_is_refused() -> None:
    with pytest.raises(RequestEncodeError):
        encode_request("order/placeorder", 1, body=b"\xff")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (samples.REQUEST_NO_QUERY_NO_BODY, Request("executionReport/list", 4)),
        (samples.REQUEST_QUERY_DOCS, Request("tradingPermission/ldeps", 8, "masterids=1")),
        (samples.REQUEST_QUERY_JS, Request("tradingPermission/ldeps", 8, "masterids=1")),
        (
            samples.REQUEST_BODY,
            Request("contract/rollcontract", 33, "", '{"name":"YMZ6","forward":true,"ifExpired":true}'),
        ),
        (samples.AUTHORIZE_TEMPLATE.format(id=0, token="abc"), Request("authorize", 0, "", "abc")),
    ],
)
def test_documented_requests_parse_back(text: str, expected: Request) -> None:
    assert decode_request(text) == expected


@pytest.mark.parametrize(
    "text", ["", "[]", "authorize", "\n1\n\n", "x\n\n\n", "x\n-1\n\n", "x\n٤\n\n", "x\n" + "9" * 5000]
)
def test_malformed_requests_are_values_not_exceptions(text: str) -> None:
    result = decode_request(text)
    assert isinstance(result, MalformedRequest)
    assert result.text == text


endpoints = st.text(min_size=1).filter(lambda s: "\n" not in s and not s.startswith("/"))
queries = st.text().filter(lambda s: "\n" not in s)


@settings(max_examples=300, deadline=None)
@given(endpoints, st.integers(min_value=0, max_value=2**63 - 1), queries, st.text())
def test_encode_then_decode_round_trips(endpoint: str, request_id: int, query: str, body: str) -> None:
    text = encode_request(endpoint, request_id, query, body)
    assert decode_request(text) == Request(endpoint, request_id, query, body)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_decode_request_never_raises(text: str) -> None:
    assert isinstance(decode_request(text), Request | MalformedRequest)
