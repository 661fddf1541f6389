"""The capture file: every raw frame of a probe session, both directions, one JSON object a line.

Record shape (`docs/probe.md` has the full description; `sim/replay.py` reads the same lines):

    {"kind":"frame","dir":"recv","socket":"md","conn":"md-1","mono_ns":..,"wall_ns":..,"text":"a[...]","step":"P3"}
    {"kind":"http","dir":"send","socket":"rest","conn":"rest","method":"GET","endpoint":"contract/find","query":"name=ESZ6","text":""}
    {"kind":"http","dir":"recv",...,"status":200,"headers":{..},"text":"{...}"}
    {"kind":"open"|"close","dir":"send"|"recv","socket":"md","conn":"md-2","code":1000}   # who opened/closed
    {"kind":"step","step":"P5","text":"forced reconnect"}                                  # step boundaries
    {"kind":"header","text":"{...target, format...}"}                                      # first line

Texts are masked (`CaptureMasker`) before they reach the file or the in-memory list; each line is
flushed at once, so an interrupted probe still leaves a readable capture.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Final, Literal

import msgspec

from platform_adapter.core.clock import Clock
from platform_adapter.probe.masking import CaptureMasker

CAPTURE_FORMAT: Final = "pa-probe-capture/1"

Direction = Literal["send", "recv"]
RecordKind = Literal["header", "step", "frame", "http", "open", "close"]


class CaptureRecord(msgspec.Struct, frozen=True, omit_defaults=True):
    """One line of a capture."""

    kind: RecordKind
    mono_ns: int
    wall_ns: int
    dir: Direction | None = None
    socket: str | None = None  # "md" | "trading" | "rest"
    conn: str | None = None  # "md-1", "trading-1", "md-silent", "rest"
    text: str = ""
    step: str | None = None
    method: str | None = None
    endpoint: str | None = None
    query: str | None = None
    status: int | None = None
    headers: dict[str, str] | None = None
    code: int | None = None


_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(CaptureRecord)


class CaptureWriter:
    """Appends masked records to a JSON-lines file and keeps them for the analysis of the findings."""

    def __init__(self, path: Path, masker: CaptureMasker, clock: Clock) -> None:
        self.path = path
        self.masker = masker
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = path.open("wb")
        self.records: list[CaptureRecord] = []
        self.step: str | None = None

    def now(self) -> tuple[int, int]:
        """(monotonic ns, wall ns) of this instant."""
        return int(self._clock.monotonic() * 1_000_000_000), self._clock.now_ns()

    def _write(self, record: CaptureRecord) -> CaptureRecord:
        self.records.append(record)
        if self._file is not None:
            self._file.write(_ENCODER.encode(record) + b"\n")
            self._file.flush()
        return record

    def header(self, meta: dict[str, Any]) -> None:
        """The first line: format and target."""
        mono, wall = self.now()
        text = self.masker.text(json.dumps({"format": CAPTURE_FORMAT, **meta}, separators=(",", ":")))
        self._write(CaptureRecord("header", mono, wall, text=text))

    def begin_step(self, step: str, title: str) -> None:
        """Mark the start of a probe step; later records carry its name."""
        self.step = step
        mono, wall = self.now()
        self._write(CaptureRecord("step", mono, wall, step=step, text=title))

    def ws_frame(self, direction: Direction, socket: str, conn: str, text: str) -> CaptureRecord:
        """One WebSocket text frame (masked: the authorize token and every known secret)."""
        mono, wall = self.now()
        shown = self.masker.ws_send(text) if direction == "send" else self.masker.text(text)
        return self._write(CaptureRecord("frame", mono, wall, direction, socket, conn, shown, self.step))

    def ws_event(
        self, kind: Literal["open", "close"], direction: Direction, socket: str, conn: str, code: int | None
    ) -> None:
        """A socket opened (`send`: by us) or closed (`send`: by us, `recv`: by the server), with its close code."""
        mono, wall = self.now()
        self._write(CaptureRecord(kind, mono, wall, direction, socket, conn, step=self.step, code=code))

    def http(
        self,
        direction: Direction,
        *,
        at: tuple[int, int] | None = None,
        method: str,
        endpoint: str,
        query: str,
        text: str,
        status: int | None = None,
        headers: Iterable[tuple[str, str]] | None = None,
    ) -> CaptureRecord:
        """One REST request or response (body masked; response headers kept for P9, cookies hidden)."""
        mono, wall = at or self.now()
        return self._write(
            CaptureRecord(
                "http",
                mono,
                wall,
                direction,
                "rest",
                "rest",
                self.masker.body(text) if text else "",
                self.step,
                method,
                endpoint,
                query or None,
                status,
                self.masker.headers(headers) if headers is not None else None,
            )
        )

    def close(self) -> None:
        """Close the file (records stay in memory)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_capture(path: Path) -> Iterator[CaptureRecord]:
    """The records of a capture file, in order."""
    with path.open("rb") as file:
        for line in file:
            if line.strip():
                yield _DECODER.decode(line)
