"""What the simulator sent and received, per connection, so a test can prove what reached the platform.

Credentials never enter the logs: a login's `password`, `cid` and `sec`, and every `accessToken` /
`mdAccessToken` (in token responses and in `authorize` frames) are recorded as `[REDACTED]`, so neither a
test's view nor `GET /sim/requests` (open to any local process) shows them. Everything else is recorded as
sent, byte for byte.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tradovate_sim.wire import JsonObject

Channel = Literal["rest", "trading", "md"]
REDACTED = "[REDACTED]"
_SECRET_MARKERS = ('"password"', '"cid"', '"sec"', 'ccessToken"')
_SECRET_VALUE = re.compile(
    r'("(?:password|cid|sec|accessToken|mdAccessToken)"\s*:\s*)("(?:[^"\\]|\\.)*"|[-+.0-9eE]+|true|false|null)'
)
_AUTHORIZE = re.compile(r"^(authorize\n[^\n]*\n[^\n]*\n).+", re.DOTALL)


def redact(text: str) -> str:
    """`text` with every credential value replaced by `[REDACTED]` (JSON bodies and `authorize` frames)."""
    if text.startswith("authorize\n"):
        text = _AUTHORIZE.sub(lambda m: m.group(1) + REDACTED, text)
    if any(marker in text for marker in _SECRET_MARKERS):
        text = _SECRET_VALUE.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    return text


FrameType = Literal["o", "h", "a", "c", "malformed", "http"]


@dataclass(frozen=True, slots=True)
class SentFrame:
    """One frame written to a socket (or one REST response body), as sent but with credentials redacted."""

    conn_id: int | None
    kind: Channel
    index: int
    frame_type: FrameType
    text: str


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message inside an `a[...]` frame (or a REST response), with the ids a test filters on."""

    conn_id: int | None
    kind: Channel
    frame_index: int
    position: int
    text: str
    request_id: int | None
    status: int | None
    event: str | None
    entity_type: str | None
    event_type: str | None

    @property
    def data(self) -> Any:
        """The message decoded from its exact text."""
        return json.loads(self.text)


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request as the simulator received it (before any fault decided its answer)."""

    conn_id: int | None
    kind: Channel
    index: int
    endpoint: str
    request_id: int | None
    query: str
    body: str

    @property
    def endpoint_key(self) -> str:
        """The endpoint as routed (Tradovate matches paths case-insensitively)."""
        return self.endpoint.lower()

    def json_body(self) -> Any:
        """The body decoded as JSON, or None when empty."""
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """One raw text frame a client sent on a socket, heartbeats included."""

    conn_id: int
    kind: Channel
    index: int
    text: str


@dataclass
class Recorder:
    """Append-only logs of frames, messages and requests, in the order they happened.

    With `limit` only the newest `limit` entries of each log are kept (a long `pa sim` run stays small);
    frame indexes keep counting regardless.
    """

    limit: int | None = None
    frames: deque[SentFrame] = field(init=False)
    messages: deque[SentMessage] = field(init=False)
    requests: deque[ReceivedRequest] = field(init=False)
    inbound: deque[ReceivedFrame] = field(init=False)
    _request_count: int = 0
    _frame_counts: dict[int | None, int] = field(default_factory=dict)
    _inbound_counts: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.frames = deque(maxlen=self.limit)
        self.messages = deque(maxlen=self.limit)
        self.requests = deque(maxlen=self.limit)
        self.inbound = deque(maxlen=self.limit)

    def record_frame(
        self,
        conn_id: int | None,
        kind: Channel,
        frame_type: FrameType,
        text: str,
        messages: Sequence[tuple[str, JsonObject]] = (),
    ) -> SentFrame:
        """Log one frame and the messages it carries as `(exact JSON text, message object)` pairs."""
        index = self._frame_counts.get(conn_id, 0)
        self._frame_counts[conn_id] = index + 1
        frame = SentFrame(conn_id, kind, index, frame_type, redact(text))
        self.frames.append(frame)
        for position, (message_text, message) in enumerate(messages):
            self._add_message(_message_record(conn_id, kind, index, position, redact(message_text), message))
        return frame

    def _add_message(self, record: SentMessage) -> None:
        self.messages.append(record)

    def record_request(
        self,
        conn_id: int | None,
        kind: Channel,
        endpoint: str,
        request_id: int | None,
        query: str,
        body: str,
    ) -> ReceivedRequest:
        """Log one received request."""
        if endpoint.lower() == "authorize":  # its body is the access token itself
            body = REDACTED if body else body
        request = ReceivedRequest(conn_id, kind, self._request_count, endpoint, request_id, redact(query), redact(body))
        self._request_count += 1
        self.requests.append(request)
        return request

    def record_inbound(self, conn_id: int, kind: Channel, text: str) -> None:
        """Log one raw client frame."""
        index = self._inbound_counts.get(conn_id, 0)
        self._inbound_counts[conn_id] = index + 1
        self.inbound.append(ReceivedFrame(conn_id, kind, index, redact(text)))

    def sent_frames(
        self, kind: Channel | None = None, conn_id: int | None = None, frame_type: FrameType | None = None
    ) -> list[SentFrame]:
        """Frames sent, optionally filtered."""
        return [
            frame
            for frame in self.frames
            if (kind is None or frame.kind == kind)
            and (conn_id is None or frame.conn_id == conn_id)
            and (frame_type is None or frame.frame_type == frame_type)
        ]

    def sent_messages(
        self,
        kind: Channel | None = None,
        conn_id: int | None = None,
        event: str | None = None,
        request_id: int | None = None,
        entity_type: str | None = None,
    ) -> list[SentMessage]:
        """Messages sent, optionally filtered by socket kind, connection, event kind, request id or entity."""
        return [
            message
            for message in self.messages
            if (kind is None or message.kind == kind)
            and (conn_id is None or message.conn_id == conn_id)
            and (event is None or message.event == event)
            and (request_id is None or message.request_id == request_id)
            and (entity_type is None or message.entity_type == entity_type)
        ]

    def received_requests(
        self, endpoint: str | None = None, kind: Channel | None = None, conn_id: int | None = None
    ) -> list[ReceivedRequest]:
        """Requests received, optionally filtered by endpoint (case-insensitive), channel or connection."""
        key = endpoint.lower().lstrip("/") if endpoint is not None else None
        return [
            request
            for request in self.requests
            if (key is None or request.endpoint_key == key)
            and (kind is None or request.kind == kind)
            and (conn_id is None or request.conn_id == conn_id)
        ]

    def received_frames(self, conn_id: int | None = None) -> list[ReceivedFrame]:
        """Raw client frames, optionally of one connection."""
        return [frame for frame in self.inbound if conn_id is None or frame.conn_id == conn_id]


def _message_record(
    conn_id: int | None, kind: Channel, frame_index: int, position: int, text: str, message: JsonObject
) -> SentMessage:
    event = message.get("e")
    data = message.get("d")
    entity_type = event_type = None
    if event == "props" and isinstance(data, dict):
        entity_type = data.get("entityType")
        event_type = data.get("eventType")
    request_id = message.get("i")
    status = message.get("s")
    return SentMessage(
        conn_id=conn_id,
        kind=kind,
        frame_index=frame_index,
        position=position,
        text=text,
        request_id=request_id if isinstance(request_id, int) else None,
        status=status if isinstance(status, int) else None,
        event=event if isinstance(event, str) else None,
        entity_type=entity_type if isinstance(entity_type, str) else None,
        event_type=event_type if isinstance(event_type, str) else None,
    )
