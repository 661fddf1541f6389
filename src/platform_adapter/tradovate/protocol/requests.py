"""Client requests on a Tradovate WebSocket: encoding and parsing back (ids are the session's).

Wire rules, with the public source of each (lead-sheet keys in brackets):

* A request is one text frame of four ``\\n``-separated fields, ``endpoint\\nid\\nquery\\nbody``; a
  field that is not used stays empty but keeps its ``\\n`` (``executionReport/list\\n4\\n\\n``)
  [WSMD https://github.com/tradovate/api/blob/master/WebSockets.md; DOCS wss-guide/message-protocol;
  JS:EX-07 https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-07-Making-Requests].
  A JSON body put on the query line is rejected by the server (ISS#32
  https://github.com/tradovate/api/issues/32).
* The endpoint is the REST path without a leading ``/``; the id is an integer unique per connection and
  is echoed back as ``i``; the body is JSON with double quotes (ISS#52
  https://github.com/tradovate/api/issues/52), so dict bodies are encoded with msgspec, never ``str()``.
* ``authorize`` carries the raw access token as its body, not JSON: ``authorize\\n0\\n\\n<token>``
  [WSMD; JS:EX-05 https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-05-WebSockets-Start].
* The client heartbeat is the text frame ``[]`` [WSMD; DOCS wss-guide/message-protocol; JS:EX-06].
"""

from __future__ import annotations

from typing import Final

import msgspec

from .errors import RequestEncodeError

__all__ = [
    "HEARTBEAT",
    "MalformedRequest",
    "Request",
    "decode_request",
    "encode_authorize",
    "encode_body",
    "encode_request",
]

HEARTBEAT: Final = "[]"
"""Client heartbeat frame; the server closes a socket that stays silent for long (WSMD; JS:EX-06)."""

_ENCODER: Final = msgspec.json.Encoder()
# Longer digit strings are no 64-bit id, and int() refuses very long ones (sys.get_int_max_str_digits).
_MAX_ID_DIGITS: Final = 20


class Request(msgspec.Struct, frozen=True, gc=False):
    """A client request as it travels on the wire; empty ``query``/``body`` mean the field is unused."""

    endpoint: str
    request_id: int
    query: str = ""
    body: str = ""


class MalformedRequest(msgspec.Struct, frozen=True, gc=False):
    """A client frame that is not a request (too few fields, a non-integer id, ...)."""

    text: str
    error: str


def encode_body(obj: object) -> bytes:
    """Encode a request body as compact, double-quoted JSON (msgspec; dicts, lists, Structs)."""
    return _ENCODER.encode(obj)


def encode_request(endpoint: str, request_id: int, query: str = "", body: bytes | str | None = None) -> str:
    """Build the request frame ``endpoint\\nid\\nquery\\nbody``; raises RequestEncodeError if ambiguous."""
    if not endpoint or "\n" in endpoint:
        raise RequestEncodeError("endpoint", "must be non-empty and hold no newline")
    if endpoint[0] == "/":
        raise RequestEncodeError("endpoint", "is the REST path without its leading '/'")
    if type(request_id) is not int or request_id < 0:
        raise RequestEncodeError("request_id", "must be a non-negative int")
    if "\n" in query:
        raise RequestEncodeError("query", "must hold no newline (the body is the fourth line)")
    if body is None:
        text = ""
    elif isinstance(body, str):
        text = body
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestEncodeError("body", f"is not UTF-8: {exc}") from exc
    return f"{endpoint}\n{request_id}\n{query}\n{text}"


def encode_authorize(request_id: int, token: str) -> str:
    """Build ``authorize\\n{id}\\n\\n{token}``; the token goes raw, not as JSON."""
    return encode_request("authorize", request_id, "", token)


def decode_request(text: str) -> Request | MalformedRequest:
    """Parse a client request frame back into its fields; never raises."""
    # Samples in the docs omit trailing empty fields (``tradingPermission/ldeps\n8\nmasterids=1``), so
    # only endpoint and id are required. The body is the rest of the frame and may hold newlines.
    fields = text.split("\n", 3)
    if len(fields) < 2:
        return MalformedRequest(text, "a request needs at least an endpoint line and an id line")
    endpoint, id_text = fields[0], fields[1]
    if not endpoint:
        return MalformedRequest(text, "empty endpoint")
    # str.isdigit alone would accept non-ASCII digits such as '٤'; the wire id is ASCII decimal.
    if not (id_text.isascii() and id_text.isdigit()):
        return MalformedRequest(text, f"request id {id_text[:40]!r} is not a decimal integer")
    if len(id_text) > _MAX_ID_DIGITS:
        return MalformedRequest(text, f"request id has {len(id_text)} digits, more than a 64-bit id")
    query = fields[2] if len(fields) > 2 else ""
    body = fields[3] if len(fields) > 3 else ""
    return Request(endpoint, int(id_text), query, body)
