"""Server frames of a Tradovate WebSocket, decoded without I/O and without ever raising.

Wire rules, with the public source of each (lead-sheet keys in brackets):

* The socket speaks a framing derived from SockJS 0.3.3; the server sends four frame kinds: ``o`` (open,
  first frame of every session), ``h`` (heartbeat), ``a[...]`` (a JSON array of messages) and
  ``c[code,"reason"]`` (close, e.g. ``c[3000,"Go away!"]``)
  [WSMD https://github.com/tradovate/api/blob/master/WebSockets.md; DOCS wss-guide/message-protocol;
  JS:EX-05 https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-05-WebSockets-Start].
* Every item of an ``a`` array is one message; a frame may carry several, and nothing public says that
  responses and events never share a frame, so every item is decoded on its own [WSMD; CSWS loops over
  the array; COMM:2124 on batched market data].
* A response is ``{"i":<request id>,"s":<HTTP status>,"d":<payload>}``; ``d`` may be absent (the
  authorize ack is ``a[{"s":200,"i":2}]``). An event is ``{"e":<kind>,"d":...}`` with kind ``props``,
  ``shutdown``, ``md``, ``chart`` or ``clock``; a message with ``e`` is an event [WSMD; DOCS
  wss-guide/message-protocol; CSWS dispatches on ``e != null``].

Each message keeps ``raw``: the exact JSON bytes of its array item as sent, so the adapter can forward
it unchanged. Payloads (``d``) stay ``msgspec.Raw`` views into those bytes; only the routing keys are
decoded here: ``e``, ``i``, ``s``, and for the frequent events (``md``, ``chart``, ``props``) the few keys of
``d`` that label the fact (`routing`), read in the same msgspec pass as the message itself. An event
whose ``d`` does not fit that shape takes a second, tolerant path (``e`` / ``i`` / ``s`` first, then the
head's salvage decode of ``d``) and comes out the same as far as its keys allow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeAlias

import msgspec

from .errors import DECODE_ERRORS
from .routing import (
    ChartHead,
    ChartsBody,
    MdBody,
    MdHead,
    PropsBody,
    PropsHead,
    chart_head,
    chart_label,
    md_head,
    md_label,
    props_head,
    props_label,
)

__all__ = [
    "EVENT_KINDS",
    "CloseFrame",
    "Event",
    "Frame",
    "HeartbeatFrame",
    "MalformedFrame",
    "MalformedMessage",
    "Message",
    "MessagesFrame",
    "OpenFrame",
    "Response",
    "RoutedChart",
    "RoutedEvent",
    "RoutedMd",
    "RoutedProps",
    "decode_frame",
]

EVENT_KINDS: Final = frozenset({"props", "shutdown", "md", "chart", "clock"})
"""Event kinds named in the public docs (WSMD; DOCS wss-guide/message-protocol); others are kept too."""


class OpenFrame(msgspec.Struct, frozen=True, gc=False):
    """``o``: the session is open; the client must now send ``authorize``."""


class HeartbeatFrame(msgspec.Struct, frozen=True, gc=False):
    """``h``: server heartbeat (not sent while data is streaming)."""


class Response(msgspec.Struct, frozen=True, gc=False):
    """Answer to the client request whose id is ``request_id``; ``d`` is None when absent."""

    request_id: int
    status: int
    d: msgspec.Raw | None
    raw: bytes


Head: TypeAlias = MdHead | ChartHead | PropsHead
"""The routing head of an ``md``, ``chart`` or ``props`` event."""


class Event(msgspec.Struct, frozen=True, gc=False):
    """Server-initiated message (``props``, ``md``, ``chart``, ``shutdown``, ``clock``, ...).

    ``head`` is the routing head of an ``md``, ``chart`` or ``props`` event (None for other kinds);
    ``d`` is read from ``raw`` on access, as a Raw view into it (None when absent).
    """

    kind: str
    raw: bytes
    head: Head | None = None

    @property
    def d(self) -> msgspec.Raw | None:
        """The payload ``d`` as sent, or None when the message has none."""
        return _payload(self.raw)


class MalformedMessage(msgspec.Struct, frozen=True, gc=False):
    """An array item that is neither a response nor an event; ``raw`` is the item as sent."""

    raw: bytes
    error: str


Message: TypeAlias = Response | Event | MalformedMessage


class MessagesFrame(msgspec.Struct, frozen=True, gc=False):
    """``a[...]``: one message per array item, in order; possibly none.

    ``events_only`` is True when every message is an ``md``, ``chart`` or ``props`` event read in the routed
    pass: no response and no ``shutdown`` among them, so a session has nothing to look for (most frames).
    """

    messages: tuple[Message, ...]
    events_only: bool = False


class CloseFrame(msgspec.Struct, frozen=True, gc=False):
    """``c[code,"reason"]``: the server is closing the session."""

    code: int
    reason: str


class MalformedFrame(msgspec.Struct, frozen=True, gc=False):
    """A frame that cannot be parsed at all; keeps the whole frame for forwarding as undecodable.

    ``text`` is the frame as received when it arrived as ``str``. A frame that arrived as ``bytes`` is
    kept exactly in ``raw``, and ``text`` is its UTF-8 reading with undecodable bytes shown as
    ``\\xNN`` escapes (so ``text`` is always safe to encode as JSON).
    """

    text: str
    error: str
    raw: bytes | None = None


Frame: TypeAlias = OpenFrame | HeartbeatFrame | MessagesFrame | CloseFrame | MalformedFrame


class _Head(msgspec.Struct, gc=False):
    # Only the routing keys; ``d`` is skipped over as a Raw view (an empty Raw means "absent").
    e: str | None = None
    i: int | None = None
    s: int | None = None
    d: msgspec.Raw = msgspec.Raw()


class RoutedEvent(msgspec.Struct, tag_field="e", gc=False):
    """A frequent event read with its head keys in the message's own msgspec pass (tagged on ``e``).

    ``i`` and ``s`` are typed as in the tolerant path's head, so a wrongly typed one fails here too and the
    message takes the tolerant path. Frames decode these first; anything that does not fit is read again.
    """

    i: int | None = None
    s: int | None = None


class RoutedMd(RoutedEvent, tag="md"):
    """An ``md`` event: ``d`` as the keys its head reads."""

    d: MdBody | None = None


class RoutedChart(RoutedEvent, tag="chart"):
    """A ``chart`` event: ``d`` as the keys its head reads."""

    d: ChartsBody | None = None


class RoutedProps(RoutedEvent, tag="props"):
    """A ``props`` event: ``d`` as the keys its head reads."""

    d: PropsBody | None = None


_LABELS: Final[dict[type, tuple[str, Callable[[Any], Head]]]] = {
    RoutedMd: ("md", md_label),
    RoutedChart: ("chart", chart_label),
    RoutedProps: ("props", props_label),
}
_HEADS: Final[dict[str, Callable[[msgspec.Raw | None], Head]]] = {
    "md": md_head,
    "chart": chart_head,
    "props": props_head,
}
_AnyRouted: TypeAlias = RoutedMd | RoutedChart | RoutedProps
_ROUTED: Final = msgspec.json.Decoder(_AnyRouted)
_ROUTED_ITEMS: Final = msgspec.json.Decoder(list[_AnyRouted])
_OPEN: Final = OpenFrame()
_HEARTBEAT: Final = HeartbeatFrame()
_ITEMS: Final = msgspec.json.Decoder(list[msgspec.Raw])
_HEAD: Final = msgspec.json.Decoder(_Head)
_CLOSE: Final = msgspec.json.Decoder(tuple[int, str])

MAX_FRAME_SIZE: Final = 64 * 1024 * 1024
"""Frames longer than this (characters of a ``str``, bytes of a ``bytes`` frame) are not decoded: they become a
``MalformedFrame`` kept whole, forwarded raw. Tradovate caps the data of one request (FAQ
HowToHandleDataSizeLimits), so a real frame is far smaller; the limit bounds the work one frame can cost.
Nesting is bounded by msgspec's depth check (the interpreter's recursion limit, ~1,000 levels): deeper input
is a ``MalformedFrame`` too, never a ``RecursionError`` out of this function."""


def decode_frame(data: str | bytes) -> Frame:
    """Decode one server frame (``str`` from aiohttp, or ``bytes``); never raises on any content."""
    if len(data) > MAX_FRAME_SIZE:
        error = f"frame of {len(data)} characters/bytes exceeds the decoder's limit of {MAX_FRAME_SIZE}"
        return MalformedFrame(data, error) if isinstance(data, str) else _malformed_bytes(bytes(data), error)
    if isinstance(data, str):
        kind = data[:1]
        if kind == "a":
            body = data[1:]
            routed: list[_AnyRouted] | None
            try:
                routed = _ROUTED_ITEMS.decode(body)
            except DECODE_ERRORS:
                routed = None
            else:
                if len(routed) == 1 and data[2:3] == "{" and data[-2:] == "}]":
                    # The usual frame: one message, which is exactly the text between "a[" and "]"
                    # (no whitespace around it), so its bytes need no second pass.
                    return MessagesFrame((_routed_event(routed[0], data[2:-1].encode()),), True)
            try:
                items = _ITEMS.decode(body)
            except DECODE_ERRORS as exc:
                return MalformedFrame(data, f"'a' frame is not followed by a JSON array: {exc}")
            return _messages(items, routed)
        if data == "h":
            return _HEARTBEAT
        if data == "o":
            return _OPEN
        if kind == "c":
            try:
                code, reason = _CLOSE.decode(data[1:])
            except DECODE_ERRORS as exc:
                return MalformedFrame(data, f"'c' frame is not followed by [code,\"reason\"]: {exc}")
            return CloseFrame(code, reason)
        return MalformedFrame(data, _unknown_kind(data))
    return _decode_bytes_frame(bytes(data))


def _decode_bytes_frame(data: bytes) -> Frame:
    kind = data[:1]
    if kind == b"a":
        try:
            items = _ITEMS.decode(memoryview(data)[1:])
        except DECODE_ERRORS as exc:
            return _malformed_bytes(data, f"'a' frame is not followed by a JSON array: {exc}")
        return _messages(items, None)
    if data == b"h":
        return _HEARTBEAT
    if data == b"o":
        return _OPEN
    if kind == b"c":
        try:
            code, reason = _CLOSE.decode(memoryview(data)[1:])
        except DECODE_ERRORS as exc:
            return _malformed_bytes(data, f"'c' frame is not followed by [code,\"reason\"]: {exc}")
        return CloseFrame(code, reason)
    return _malformed_bytes(data, _unknown_kind(data))


def _messages(items: list[msgspec.Raw], routed: list[_AnyRouted] | None) -> MessagesFrame:
    # Each message keeps its own bytes (not a view into the frame), so keeping one message alive does
    # not keep its siblings alive. `routed` is the frame already read as routed events, when every item is one.
    if routed is not None and len(routed) == len(items):
        return MessagesFrame(tuple(map(_routed_event, routed, map(bytes, items))), len(items) > 0)
    messages = tuple(map(_decode_message, map(bytes, items)))
    # The same flag as the routed pass sets, so a frame decodes alike whichever path read it.
    events_only = bool(messages) and all(type(m) is Event and m.head is not None for m in messages)
    return MessagesFrame(messages, events_only)


def _routed_event(routed: _AnyRouted, raw: bytes) -> Event:
    kind, label = _LABELS[type(routed)]
    return Event(kind, raw, label(routed.d))


def _decode_message(raw: bytes) -> Message:
    try:
        return _routed_event(_ROUTED.decode(raw), raw)
    except DECODE_ERRORS:
        pass
    try:
        head = _HEAD.decode(raw)
    except DECODE_ERRORS as exc:
        return MalformedMessage(raw, f"not a Tradovate message object: {exc}")
    d = head.d if head.d else None
    if head.e is not None:
        label = _HEADS.get(head.e)
        return Event(head.e, raw, label(d) if label is not None else None)
    if head.i is not None:
        if head.s is None:
            return MalformedMessage(raw, "response has an id 'i' but no status 's'")
        return Response(head.i, head.s, d, raw)
    return MalformedMessage(raw, "message has neither 'e' (event) nor 'i' (response id)")


def _payload(raw: bytes) -> msgspec.Raw | None:
    try:
        d = _HEAD.decode(raw).d
    except DECODE_ERRORS:  # not reached for an Event: its raw decoded as a message when it was made
        return None
    return d if d else None


def _unknown_kind(data: str | bytes) -> str:
    if not data:
        return "empty frame"
    if data[:1] in ("o", "h", b"o", b"h"):
        return "'o' and 'h' frames carry no data"
    return "unknown frame kind; expected one of o, h, a, c"


def _malformed_bytes(data: bytes, error: str) -> MalformedFrame:
    return MalformedFrame(data.decode("utf-8", "backslashreplace"), error, data)
