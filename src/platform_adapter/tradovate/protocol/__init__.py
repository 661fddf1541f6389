"""Sans-I/O Tradovate wire: the codec (text in, typed values out; requests to text) and the session.

No sockets, no clocks, no ``await``: the I/O layer (``platform_adapter.tradovate``) feeds frames in and
sends the strings this package builds; ``session.TradovateSession`` holds one connection's protocol state
(handshake, request ids, pending requests and deadlines, penalty decisions, heartbeats, the silence bound). Decoding never raises on server input; what does not parse
becomes a typed value (``MalformedFrame``, ``MalformedMessage``, ``UndecodablePayload``) that the
adapter forwards raw as an undecodable fact. Each module cites the public source of the wire rules it
implements (https://github.com/tradovate/api/blob/master/WebSockets.md and the official examples).
"""

from __future__ import annotations

from .errors import DECODE_ERRORS, ProtocolDecodeError, RequestEncodeError
from .frames import (
    EVENT_KINDS,
    CloseFrame,
    Event,
    Frame,
    HeartbeatFrame,
    MalformedFrame,
    MalformedMessage,
    Message,
    MessagesFrame,
    OpenFrame,
    Response,
    decode_frame,
)
from .models import (
    AccessTokenResponse,
    Account,
    ChartSubscription,
    Contract,
    MarketDataResult,
    OrderResult,
    ShutdownNotice,
    TradovateModel,
    UndecodablePayload,
    decode_error_text,
    decode_model,
)
from .penalties import Penalty, parse_penalty, with_ticket
from .requests import (
    HEARTBEAT,
    MalformedRequest,
    Request,
    decode_request,
    encode_authorize,
    encode_body,
    encode_request,
)
from .routing import (
    ChartHead,
    ChartPacket,
    CommandRef,
    FillRef,
    MdHead,
    MdStream,
    OrderRef,
    PositionRef,
    PropsHead,
    SyncSnapshotRefs,
    chart_head,
    md_head,
    props_head,
    shutdown_head,
    sync_snapshot_head,
    sync_snapshot_refs,
)
from .session import SessionState, SessionStateError, TradovateSession

__all__ = [
    "DECODE_ERRORS",
    "EVENT_KINDS",
    "HEARTBEAT",
    "AccessTokenResponse",
    "Account",
    "ChartHead",
    "ChartPacket",
    "ChartSubscription",
    "CloseFrame",
    "CommandRef",
    "Contract",
    "Event",
    "FillRef",
    "Frame",
    "HeartbeatFrame",
    "MalformedFrame",
    "MalformedMessage",
    "MalformedRequest",
    "MarketDataResult",
    "MdHead",
    "MdStream",
    "Message",
    "MessagesFrame",
    "OpenFrame",
    "OrderRef",
    "OrderResult",
    "Penalty",
    "PositionRef",
    "PropsHead",
    "ProtocolDecodeError",
    "Request",
    "RequestEncodeError",
    "Response",
    "SessionState",
    "SessionStateError",
    "ShutdownNotice",
    "SyncSnapshotRefs",
    "TradovateModel",
    "TradovateSession",
    "UndecodablePayload",
    "chart_head",
    "decode_error_text",
    "decode_frame",
    "decode_model",
    "decode_request",
    "encode_authorize",
    "encode_body",
    "encode_request",
    "md_head",
    "parse_penalty",
    "props_head",
    "shutdown_head",
    "sync_snapshot_head",
    "sync_snapshot_refs",
    "with_ticket",
]
