"""Typed Tradovate payloads the adapter reads, and a decoder that returns a value instead of raising.

Shapes, with the public source of each (lead-sheet keys in brackets); every field is optional and
unknown fields are ignored, because the docs and the 2021 OpenAPI file disagree on what is sent:

* ``AccessTokenResponse`` of ``POST auth/accesstokenrequest`` / ``GET auth/renewaccesstoken``: ``errorText``
  set when a server check failed; ``mdAccessToken`` is absent from SWAG but used by the official examples;
  ``expirationTime`` kept as the string sent [SWAG
  https://github.com/tradovate/example-api-csharp-trading/blob/master/swagger/services.swagger.yaml;
  NT:api/rest-api-endpoints/authentication/access-token-request; FAQ-LCR index.js].
* ``OrderResult``: the answer of the order endpoints — SWAG's ``PlaceOrderResult`` of ``placeorder`` /
  ``liquidateposition`` (``orderId``) and ``CommandResult`` of ``modifyorder`` / ``cancelorder``
  (``commandId``), both with ``failureReason``/``failureText`` on a refusal that still arrives as HTTP/WS 200
  [SWAG; JS:EX-4a https://github.com/tradovate/example-api-js/tree/main/tutorial/Access/EX-4a-Place-An-Order].
* ``Contract`` as returned by ``contract/item`` and ``contract/find`` [DOCS ``/{entity}/item``; SWAG];
  ``Account`` [SWAG].
* ``ChartSubscription``: the ``md/getChart`` response ``{"historicalId":32,"realtimeId":31}``; older
  clients read ``subscriptionId`` [MDDOC Get-Chart; FAQ-LCR tvSocket.js].
* ``MarketDataResult``: the 200 answer of every ``md/*`` request (MDSWAG ``MarketDataSubscriptionResult`` /
  ``ChartSubscriptionResult``): ``errorText`` "Non-empty if the request failed", ``errorCode`` (``NoServicePlan``,
  ``OperationNotSupported``, ``Success``, ``UnknownReason``, ``UnknownSymbol``), ``mode`` (``RealTime``,
  ``Delayed``, ``None``); the official tutorial logged ``{errorCode:"UnknownSymbol", errorText:"Symbol is
  inaccessible", mode:"None"}`` for ``md/subscribequote`` [francis2/api swagger/services.md.swagger.yaml
  L287-316, L409-438; JSISS#7 https://github.com/tradovate/example-api-js/issues/7].
* ``ShutdownNotice``: ``d`` of the ``shutdown`` event, ``{"reasonCode": "Maintenance" |
  "ConnectionQuotaReached" | "IPQuotaReached", "reason": optional text}`` [WSMD
  https://github.com/tradovate/api/blob/master/WebSockets.md; DOCS wss-guide/message-protocol].
* A non-2xx WebSocket response carries its error as a JSON string in ``d``
  (``{"i":0,"s":401,"d":"Invalid access token"}``) [DOCS wss-guide/message-protocol;
  P:overview/conformance-testing/stage-2-websocket-management].
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import msgspec

from .errors import DECODE_ERRORS, ProtocolDecodeError

__all__ = [
    "AccessTokenResponse",
    "Account",
    "ChartSubscription",
    "Contract",
    "MarketDataResult",
    "OrderResult",
    "ShutdownNotice",
    "TradovateModel",
    "UndecodablePayload",
    "decode_error_text",
    "decode_model",
]


_SECRET_FIELDS: Final = frozenset({"access_token", "md_access_token"})


class TradovateModel(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """Base of the typed payloads: camelCase on the wire, immutable, unknown fields ignored."""


class AccessTokenResponse(TradovateModel, frozen=True, gc=False):
    """Answer of ``auth/accesstokenrequest`` and ``auth/renewaccesstoken``; its repr hides the tokens."""

    error_text: str | None = None
    access_token: str | None = None
    md_access_token: str | None = None
    expiration_time: str | None = None
    password_expiration_time: str | None = None
    user_id: int | None = None
    name: str | None = None
    user_status: str | None = None
    has_live: bool | None = None

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__rich_repr__())
        return f"AccessTokenResponse({fields})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # Tokens are secrets: logs and pretty-printers see only whether one is present.
        return [
            (name, "<redacted>" if name in _SECRET_FIELDS and getattr(self, name) is not None else getattr(self, name))
            for name in self.__struct_fields__
        ]


class OrderResult(TradovateModel, frozen=True, gc=False):
    """Answer of an order endpoint: an order id (place, liquidate), a command id (modify, cancel), or a refusal."""

    order_id: int | None = None
    command_id: int | None = None
    failure_reason: str | None = None
    failure_text: str | None = None


class Contract(TradovateModel, frozen=True, gc=False):
    """A contract as returned by ``contract/item`` or ``contract/find``."""

    id: int | None = None
    name: str | None = None
    contract_maturity_id: int | None = None
    status: str | None = None
    provider_tick_size: float | None = None


class Account(TradovateModel, frozen=True, gc=False):
    """An account as returned by ``account/list`` or ``account/item``."""

    id: int | None = None
    name: str | None = None
    user_id: int | None = None
    account_type: str | None = None
    active: bool | None = None


class ChartSubscription(TradovateModel, frozen=True, gc=False):
    """Answer of ``md/getChart``: the ids that chart packets carry, and that ``md/cancelChart`` takes."""

    historical_id: int | None = None
    realtime_id: int | None = None
    subscription_id: int | None = None


class MarketDataResult(TradovateModel, frozen=True, gc=False):
    """The 200 answer of an ``md/*`` request: a refusal when ``errorText`` / ``errorCode`` / ``mode`` say so."""

    error_text: Any = None  # ``Any``: a value of an unexpected type still reads as a refusal, never as success
    error_code: Any = None
    mode: Any = None

    @property
    def refused(self) -> bool:
        """Tradovate refused the request: an error text, an error code other than Success, or no data mode."""
        return bool(self.error_text) or self.error_code not in (None, "", "Success") or self.mode == "None"


class ShutdownNotice(TradovateModel, frozen=True, gc=False):
    """``d`` of a ``shutdown`` event: the server will close the socket gracefully."""

    reason_code: str | None = None
    reason: str | None = None


class UndecodablePayload(msgspec.Struct, frozen=True, gc=False):
    """A payload that does not have the expected model's shape; ``raw`` is kept as sent."""

    model: str
    raw: bytes
    error: str

    def as_error(self) -> ProtocolDecodeError:
        """The same failure as an exception, for callers that raise."""
        return ProtocolDecodeError(self.raw, f"{self.model}: {self.error}")


M = TypeVar("M", bound=TradovateModel)

_MODELS: Final = (
    AccessTokenResponse,
    OrderResult,
    Contract,
    Account,
    ChartSubscription,
    MarketDataResult,
    ShutdownNotice,
)
_DECODERS: Final[dict[type[TradovateModel], msgspec.json.Decoder[Any]]] = {
    model: msgspec.json.Decoder(model) for model in _MODELS
}
_STRING: Final = msgspec.json.Decoder(str)


def decode_model(model: type[M], data: msgspec.Raw | bytes | str | None) -> M | UndecodablePayload:
    """Decode a REST body or a response ``d`` into ``model``; a bad shape is returned, never raised."""
    if data is None:
        return UndecodablePayload(model.__name__, b"", "no payload")
    decoder = _DECODERS.get(model)
    if decoder is None:
        decoder = _DECODERS[model] = msgspec.json.Decoder(model)
    try:
        value: M = decoder.decode(data)
    except DECODE_ERRORS as exc:
        return UndecodablePayload(model.__name__, _as_bytes(data), str(exc))
    return value


def decode_error_text(d: msgspec.Raw | bytes | str | None) -> str | None:
    """Return the error text of a non-2xx response ``d`` (a JSON string), else None; never raises."""
    if d is None:
        return None
    try:
        return _STRING.decode(d)
    except DECODE_ERRORS:
        return None


def _as_bytes(data: msgspec.Raw | bytes | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8", "backslashreplace")
    return bytes(data)
