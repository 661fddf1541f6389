"""The simulator's own Tradovate wire encoder: SockJS-style frames, messages and the text request format.

Deliberately independent of `platform_adapter.tradovate.protocol`: a codec bug in the PA must not be
mirrored by the same bug here. Everything is the standard library `json` with a fixed, compact layout so
two runs with the same seed produce byte-identical frames.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

JsonObject = dict[str, Any]

OPEN_FRAME: Final = "o"
HEARTBEAT_FRAME: Final = "h"
CLIENT_HEARTBEAT: Final = "[]"


class _Absent:
    """Marks a response without a `d` field (the authorize ack, WS 429)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()


def dumps(value: object) -> str:
    """Encode one JSON value compactly and deterministically (key order as built)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def array_frame(message_texts: Sequence[str]) -> str:
    """An `a[...]` frame from already-encoded messages."""
    return "a[" + ",".join(message_texts) + "]"


def close_frame(code: int, reason: str) -> str:
    """A `c[code,"reason"]` frame."""
    return "c" + dumps([code, reason])


def response_message(request_id: int, status: int, data: object = ABSENT) -> JsonObject:
    """A response `{"s":..,"i":..,"d":..}`; `d` is omitted when `data` is ABSENT."""
    message: JsonObject = {"s": status, "i": request_id}
    if data is not ABSENT:
        message["d"] = data
    return message


def event_message(kind: str, data: object) -> JsonObject:
    """An event `{"e":kind,"d":data}`."""
    return {"e": kind, "d": data}


@dataclass(frozen=True, slots=True)
class WsRequest:
    """One client request frame `endpoint\\nid\\nquery\\nbody`."""

    endpoint: str
    request_id: int
    query: str
    body: str


@dataclass(frozen=True, slots=True)
class UnparsableRequest:
    """A client frame that is neither a heartbeat nor a well-formed request."""

    text: str
    request_id: int | None
    problem: str


def parse_request(text: str) -> WsRequest | UnparsableRequest:
    """Split a client text frame into its four newline-separated fields."""
    parts = text.split("\n", 3)
    if len(parts) < 2 or not parts[0]:
        return UnparsableRequest(text, None, "expected endpoint and id lines")
    try:
        request_id = int(parts[1])
    except ValueError:
        return UnparsableRequest(text, None, f"request id is not an integer: {parts[1]!r}")
    query = parts[2] if len(parts) > 2 else ""
    body = parts[3] if len(parts) > 3 else ""
    return WsRequest(parts[0], request_id, query, body)


def format_timestamp(epoch_ms: int) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, as Tradovate sends (`2016-11-04T00:02:36.626Z`)."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def format_timestamp_s(epoch_ms: int) -> str:
    """ISO-8601 UTC to the second with `Z` (`2024-01-15T09:30:00Z`, the form of the Partner docs' placeholders)."""
    moment = datetime.fromtimestamp(epoch_ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> int:
    """Epoch milliseconds from an ISO timestamp such as `2017-04-13T11:33Z`; naive means UTC."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def format_trade_date(trade_date: int) -> JsonObject:
    """A `tradeDate` object `{year, month, day}` from an int YYYYMMDD."""
    return {"year": trade_date // 10000, "month": trade_date // 100 % 100, "day": trade_date % 100}
