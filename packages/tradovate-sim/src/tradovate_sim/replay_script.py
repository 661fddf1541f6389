"""A recorded session (a `pa probe` capture, JSON lines) turned into per-connection replay scripts.

Read with the standard library only: the simulator imports nothing from the rest of `platform_adapter`,
and the capture format (`docs/probe.md`) is its contract with the recorder. For every recorded socket the
script is the server's frames in order; a frame holding responses names the requests it answers as
(endpoint, n-th request of that endpoint on that socket), so a live client's requests can be matched to
them by endpoint and the request id `i` rewritten to the live one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from tradovate_sim.wire import CLIENT_HEARTBEAT, OPEN_FRAME, WsRequest, parse_request

SocketKind = Literal["trading", "md"]
RequestKey = tuple[str, int]  # (endpoint in lower case, ordinal of that endpoint on the connection)


class CaptureError(ValueError):
    """The file is not a capture the replay can serve."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A response in a recorded frame: which request it answers and when that request was recorded."""

    key: RequestKey
    recorded_id: int
    request_mono_ns: int


@dataclass(frozen=True, slots=True)
class ScriptFrame:
    """One recorded server frame, exactly as sent, and the requests it must wait for."""

    text: str
    mono_ns: int
    answers: tuple[Answer, ...] = ()


@dataclass
class ConnectionScript:
    """What the server sent on one recorded socket."""

    name: str
    kind: SocketKind
    opened_ns: int
    frames: list[ScriptFrame] = field(default_factory=list)
    close_code: int | None = None  # the server closed the socket with this WebSocket code

    @property
    def answered(self) -> set[RequestKey]:
        """Every request this script has a recorded answer for."""
        return {answer.key for frame in self.frames for answer in frame.answers}


@dataclass(frozen=True, slots=True)
class RestExchange:
    """One recorded REST response."""

    status: int
    content_type: str
    body: str
    wall_ns: int


@dataclass
class RecordedSession:
    """Everything a replay serves."""

    path: Path
    base_path: str
    connections: list[ConnectionScript]
    rest: dict[tuple[str, str], list[RestExchange]]

    def of_kind(self, kind: SocketKind) -> list[ConnectionScript]:
        """The recorded sockets of one kind, in the order they were opened."""
        return [c for c in self.connections if c.kind == kind]


def load_session(path: str | Path) -> RecordedSession:
    """Read a capture file into replay scripts; raises CaptureError when it is not one."""
    path = Path(path)
    records = list(_records(path))
    if not records or records[0].get("kind") != "header":
        raise CaptureError(f"{path} does not start with a capture header (is it a `pa probe` capture.jsonl?)")
    header = _json(records[0].get("text", "")) or {}
    base_path = urlsplit(str(header.get("restUrl", ""))).path.rstrip("/") or "/v1"
    scripts: dict[str, ConnectionScript] = {}
    requests: dict[str, dict[int, Answer]] = {}
    ordinals: dict[str, dict[str, int]] = {}
    rest: dict[tuple[str, str], list[RestExchange]] = {}
    for record in records:
        kind, conn = record.get("kind"), record.get("conn")
        if kind == "http" and record.get("dir") == "recv" and isinstance(record.get("status"), int):
            key = (str(record.get("method", "GET")).upper(), str(record.get("endpoint", "")).lower())
            headers = record.get("headers") or {}
            content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "application/json")
            rest.setdefault(key, []).append(
                RestExchange(record["status"], content_type, record.get("text", ""), int(record.get("wall_ns", 0)))
            )
            continue
        if not isinstance(conn, str) or record.get("socket") not in ("md", "trading"):
            continue
        if kind == "open":
            scripts[conn] = ConnectionScript(conn, record["socket"], int(record.get("mono_ns", 0)))
            requests[conn], ordinals[conn] = {}, {}
            continue
        script = scripts.get(conn)
        if script is None:
            continue
        if kind == "close" and record.get("dir") == "recv":
            script.close_code = record.get("code") if isinstance(record.get("code"), int) else 1000
        elif kind == "frame" and record.get("dir") == "send":
            _note_request(record, requests[conn], ordinals[conn])
        elif kind == "frame" and record.get("dir") == "recv" and record.get("text") != OPEN_FRAME:
            text = str(record.get("text", ""))
            mono = int(record.get("mono_ns", 0))
            answers = tuple(requests[conn][i] for i in response_ids(text) if i in requests[conn])
            script.frames.append(ScriptFrame(text, mono, answers))
    return RecordedSession(path, base_path, sorted(scripts.values(), key=lambda s: s.opened_ns), rest)


def _note_request(record: dict[str, Any], requests: dict[int, Answer], ordinals: dict[str, int]) -> None:
    text = str(record.get("text", ""))
    if text == CLIENT_HEARTBEAT:
        return
    parsed = parse_request(text)
    if not isinstance(parsed, WsRequest):
        return
    endpoint = parsed.endpoint.lower()
    ordinal = ordinals.get(endpoint, 0)
    ordinals[endpoint] = ordinal + 1
    requests[parsed.request_id] = Answer((endpoint, ordinal), parsed.request_id, int(record.get("mono_ns", 0)))


def frame_items(text: str) -> list[str] | None:
    """The exact text of each message of an `a[...]` frame, or None if it is not one."""
    if not text.startswith("a["):
        return None
    decoder = json.JSONDecoder()
    items: list[str] = []
    position = _skip(text, 2)
    if text[position : position + 1] == "]":
        return items
    try:
        while True:
            _, end = decoder.raw_decode(text, position)
            items.append(text[position:end])
            position = _skip(text, end)
            if text[position : position + 1] == ",":
                position = _skip(text, position + 1)
                continue
            return items if text[position : position + 1] == "]" else None
    except ValueError:
        return None


def response_ids(text: str) -> list[int]:
    """The request ids `i` of the responses in an `a[...]` frame, in order."""
    ids: list[int] = []
    for item in frame_items(text) or []:
        message = _json(item)
        if isinstance(message, dict) and "e" not in message and isinstance(message.get("i"), int) and "s" in message:
            ids.append(message["i"])
    return ids


def rewrite_ids(text: str, mapping: dict[int, int]) -> str:
    """The frame with each response's `i` replaced by `mapping[i]`; every other byte stays as recorded."""
    items = frame_items(text)
    if items is None or not mapping:
        return text
    rewritten = []
    for item in items:
        message = _json(item)
        if isinstance(message, dict) and "e" not in message and message.get("i") in mapping:
            item = _with_member(item, "i", str(mapping[message["i"]]))
        rewritten.append(item)
    return "a[" + ",".join(rewritten) + "]"


def _with_member(item: str, name: str, value_text: str) -> str:
    """A JSON object text with one top-level member's value replaced, the other members' texts kept."""
    decoder = json.JSONDecoder()
    position = _skip(item, 1)
    members: list[str] = []
    while item[position : position + 1] == '"':
        key, end = decoder.raw_decode(item, position)
        colon = _skip(item, end)
        start = _skip(item, colon + 1)
        _, stop = decoder.raw_decode(item, start)
        members.append(f"{item[position:end]}:{value_text if key == name else item[start:stop]}")
        position = _skip(item, stop)
        if item[position : position + 1] == ",":
            position = _skip(item, position + 1)
    return "{" + ",".join(members) + "}"


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _records(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if not line.strip():
                    continue
                value = _json(line)
                if not isinstance(value, dict):
                    raise CaptureError(f"{path}:{number} is not a JSON object")
                yield value
    except OSError as exc:
        raise CaptureError(f"cannot read {path}: {exc}") from None
