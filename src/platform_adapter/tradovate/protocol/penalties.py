"""Time-penalty ("p-ticket") responses of the Tradovate API, for REST bodies and WebSocket ``d``.

Wire rules, with the public source of each (lead-sheet keys in brackets):

* Instead of its normal body a request may get ``{"p-ticket": str, "p-time": seconds, "p-captcha":
  bool}``, with fields possibly missing ("a JSON object with up to three fields")
  [JS:EX-3 https://github.com/tradovate/example-api-js/tree/main/tutorial/Access/EX-3-Time-Penalty;
  FAQ:HowToHandleRequestLimits
  https://github.com/tradovate/example-api-faq/blob/main/docs/HowToHandleRequestLimits.md].
* The retry waits ``p-time`` seconds and resends the same body with ``"p-ticket"`` added; with
  ``p-captcha`` true a third-party app cannot retry (tell the user to try again in about an hour)
  [same sources]. Over the WebSocket the penalty object is the ``d`` of an ordinary response
  [FAQ-LCR tvSocket.js ``subscribe``,
  https://github.com/tradovate/example-api-faq/tree/main/example-code/large-chart-requests].
* Penalties arrive with HTTP 200 (not as an error status) [P:overview/core-concepts/penalty-tickets],
  so every successful payload must be checked before it is read as the normal result.
"""

from __future__ import annotations

import math
from typing import Any, Final

import msgspec

from .errors import DECODE_ERRORS, RequestEncodeError

__all__ = ["Penalty", "parse_penalty", "with_ticket"]


class Penalty(msgspec.Struct, frozen=True, gc=False):
    """A time penalty: wait ``wait_s`` seconds, then resend with ``ticket``; ``captcha`` means give up."""

    ticket: str | None
    wait_s: float
    captcha: bool


class _PenaltyFields(msgspec.Struct, gc=False):
    # ``Any`` so that an odd type (a numeric ticket, a string time) still marks the body as a penalty
    # instead of letting it pass for a normal result.
    ticket: Any = msgspec.field(default=msgspec.UNSET, name="p-ticket")
    time: Any = msgspec.field(default=msgspec.UNSET, name="p-time")
    captcha: Any = msgspec.field(default=msgspec.UNSET, name="p-captcha")


_PENALTY: Final = msgspec.json.Decoder(_PenaltyFields)
_OBJECT: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ENCODER: Final = msgspec.json.Encoder()


def parse_penalty(d: msgspec.Raw | bytes | str | None) -> Penalty | None:
    """Return the Penalty if ``d`` is a p-ticket object (fields may be partial), else None; never raises."""
    if d is None:
        return None
    try:
        fields = _PENALTY.decode(d)
    except DECODE_ERRORS:
        return None  # not a JSON object (an error string, an array, ...): not a penalty
    unset = msgspec.UNSET
    if fields.ticket is unset and fields.time is unset and fields.captcha is unset:
        return None
    return Penalty(_ticket(fields.ticket), _seconds(fields.time), fields.captcha is True)


def with_ticket(body: bytes | str, ticket: str) -> bytes:
    """Return the same JSON object body with ``"p-ticket": ticket`` added (replaced if already there)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    try:
        members = _OBJECT.decode(data)
    except DECODE_ERRORS as exc:
        raise RequestEncodeError("body", f"a penalty retry needs a JSON object body: {exc}") from exc
    encoded_ticket = _ENCODER.encode(ticket)
    if "p-ticket" in members:
        # A retry of a retry: replace the old ticket rather than send a duplicate key.
        members["p-ticket"] = msgspec.Raw(encoded_ticket)
        return _ENCODER.encode(members)
    # Splice before the closing brace so every other byte of the original body stays as it was.
    head = data.rstrip()[:-1]
    separator = b"," if members else b""
    return head + separator + b'"p-ticket":' + encoded_ticket + b"}"


def _ticket(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            return 0.0
    else:
        return 0.0
    # A wait must be a finite, non-negative number of seconds whatever the server sent.
    return seconds if math.isfinite(seconds) and seconds > 0.0 else 0.0
