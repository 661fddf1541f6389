"""Typed errors of the Tradovate wire codec.

Decoding never raises on bad server input: frames, messages and payloads that do not parse become
typed values (``MalformedFrame``, ``MalformedMessage``, ``UndecodablePayload``). The exceptions here
are for callers that prefer to raise such a value, and for client-side mistakes when *building* a
request (a newline in an endpoint would silently shift every later field of the request frame, see
WSMD https://github.com/tradovate/api/blob/master/WebSockets.md and JS:EX-07
https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-07-Making-Requests).
"""

from __future__ import annotations

from typing import Final

import msgspec

DECODE_ERRORS: Final = (msgspec.DecodeError, ValueError, RecursionError)
"""What msgspec raises on bad input: a shape or syntax error, a ``str`` holding lone surrogates (no UTF-8
form), and ``RecursionError`` for nesting deeper than the interpreter's recursion limit (msgspec's depth
check). Every decoder of platform bytes catches all three and returns a typed value instead."""


class ProtocolDecodeError(ValueError):
    """Server bytes that could not be decoded into the expected shape; carries the raw bytes."""

    def __init__(self, raw: bytes, reason: str) -> None:
        super().__init__(reason)
        self.raw = raw
        self.reason = reason


class RequestEncodeError(ValueError):
    """A request that cannot be put on the wire as given (e.g. a newline inside the endpoint)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
