"""Typed REST/WS payloads: documented samples decode; bad shapes come back as values, not exceptions."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.tradovate.protocol import (
    AccessTokenResponse,
    Account,
    ChartSubscription,
    Contract,
    MessagesFrame,
    OrderResult,
    ProtocolDecodeError,
    Response,
    ShutdownNotice,
    TradovateModel,
    UndecodablePayload,
    decode_error_text,
    decode_frame,
    decode_model,
)

from . import samples
from .strategies import json_values

MODELS: list[type[TradovateModel]] = [
    AccessTokenResponse,
    OrderResult,
    Contract,
    Account,
    ChartSubscription,
    ShutdownNotice,
]


def response_d(frame_text: str) -> msgspec.Raw:
    frame = decode_frame(frame_text)
    assert isinstance(frame, MessagesFrame)
    (response,) = frame.messages
    assert isinstance(response, Response)
    assert response.d is not None
    return response.d


def test_contract_item_sample() -> None:
    # DOCS /{entity}/item example (contract/item?id=2710963)
    assert decode_model(Contract, samples.CONTRACT_ITEM.encode()) == Contract(
        id=2710963,
        name="ESM2",
        contract_maturity_id=46104,
        status="DefinitionChecked",
        provider_tick_size=0.25,
    )


def test_contract_from_a_websocket_response_d() -> None:
    # DOCS wss-guide/message-protocol response sample
    contract = decode_model(Contract, response_d(samples.CONTRACT_RESPONSE_FRAME))
    assert contract == Contract(id=65543, name="CLZ6", contract_maturity_id=6727)


def test_get_chart_response_gives_both_subscription_ids() -> None:
    # MDDOC Get-Chart: {"historicalId":32,"realtimeId":31}
    subscription = decode_model(ChartSubscription, response_d("a[" + samples.GET_CHART_RESPONSE + "]"))
    assert subscription == ChartSubscription(historical_id=32, realtime_id=31, subscription_id=None)


def test_access_token_response_keeps_expiration_time_as_sent() -> None:
    # SWAG AccessTokenResponse; mdAccessToken per NT access-token-request and FAQ-LCR (values constructed)
    body = (
        b'{"accessToken":"AT","mdAccessToken":"MD","expirationTime":"2026-11-25T23:31:12.123Z",'
        b'"userStatus":"Active","userId":5,"name":"demo","hasLive":false,"hasSimPlus":true}'
    )
    token = decode_model(AccessTokenResponse, body)
    assert isinstance(token, AccessTokenResponse)
    assert (token.access_token, token.md_access_token, token.user_id) == ("AT", "MD", 5)
    assert token.expiration_time == "2026-11-25T23:31:12.123Z"
    assert token.error_text is None


def test_access_token_error_text_is_a_failure_at_http_200() -> None:
    # DOCS AccessTokenResponse: errorText set when a server check fails
    token = decode_model(AccessTokenResponse, b'{"errorText":"Incorrect username or password."}')
    assert isinstance(token, AccessTokenResponse)
    assert token.error_text == "Incorrect username or password."
    assert token.access_token is None


def test_tokens_never_appear_in_repr() -> None:
    token = AccessTokenResponse(access_token="secret-at", md_access_token="secret-md", user_id=5)
    assert "secret" not in repr(token)
    assert "secret" not in str(token)
    assert "user_id=5" in repr(token)


def test_place_order_success_and_business_failure() -> None:
    # SWAG PlaceOrderResult; a business failure still arrives as 200 (JS:EX-4a; P error-handling)
    assert decode_model(OrderResult, b'{"orderId":1234567}') == OrderResult(order_id=1234567)
    assert decode_model(
        OrderResult, b'{"failureReason":"SessionClosed","failureText":"Session is closed"}'
    ) == OrderResult(failure_reason="SessionClosed", failure_text="Session is closed")


def test_command_result() -> None:
    # SWAG CommandResult (modifyorder / cancelorder)
    assert decode_model(OrderResult, b'{"commandId":77}') == OrderResult(command_id=77)


def test_account() -> None:
    body = b'{"id":25,"name":"DEMO25","userId":5,"accountType":"Customer","active":true,"marginAccountType":"x"}'
    assert decode_model(Account, body) == Account(id=25, name="DEMO25", user_id=5, account_type="Customer", active=True)


def test_wrong_shape_is_returned_as_undecodable_payload() -> None:
    result = decode_model(OrderResult, b'{"orderId":"abc"}')
    assert isinstance(result, UndecodablePayload)
    assert result.model == "OrderResult"
    assert result.raw == b'{"orderId":"abc"}'
    error = result.as_error()
    assert isinstance(error, ProtocolDecodeError)
    assert error.raw == b'{"orderId":"abc"}'


def test_absent_payload_is_undecodable() -> None:
    assert isinstance(decode_model(Contract, None), UndecodablePayload)


def test_error_text_of_a_failed_response() -> None:
    # P stage-2: {"i":0,"s":401,"d":"Invalid access token"}
    assert decode_error_text(response_d("a[" + samples.AUTHORIZE_FAILED + "]")) == "Invalid access token"
    assert decode_error_text(b'{"x":1}') is None
    assert decode_error_text(None) is None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MODELS), st.binary() | json_values.map(lambda value: msgspec.json.encode(value)))
def test_decode_model_never_raises(model: type[TradovateModel], data: bytes) -> None:
    result = decode_model(model, data)
    assert isinstance(result, model | UndecodablePayload)


@pytest.mark.parametrize("model", MODELS)
def test_unknown_fields_are_ignored_and_all_fields_are_optional(model: type[TradovateModel]) -> None:
    assert decode_model(model, b'{"someFutureField":[1,2,3]}') == model()
