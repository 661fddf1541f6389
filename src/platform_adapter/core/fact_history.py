"""Where earlier PA runs' facts ended, kept in the state directory (the embedded transport's `FactHistory`).

`FileFactHistory.wrap(sink)` notes the last fact delivered per (kind, stream, contract) and rewrites
`<state_dir>/last-facts.json` at most every `persist_every_s` (and on `flush`, at a graceful stop). A crash loses at
most that much: the next run then resumes from a little earlier than where the last one really stopped (a wider
gap, more backfill), never from later. With NATS the facts stream itself answers (`transport/nats/fact_history.py`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

import msgspec

from platform_adapter.core.clock import Clock
from platform_adapter.core.ports import FactHistoryUnavailable, FactSink
from platform_adapter.mic import FactEnvelope, FactKind, Stream
from platform_adapter.telemetry import get_logger

_log = get_logger("pa.fact_history")

_Key = tuple[str, str, int | None]


class _Kept(msgspec.Struct, frozen=True):
    position: int  # delivery order across runs: the greatest is the last fact
    fact: FactEnvelope


class _File(msgspec.Struct):
    facts: list[_Kept] = []


class FileFactHistory:
    """The last fact delivered per (kind, stream, contract), in memory and in one small file."""

    def __init__(self, path: Path, clock: Clock, *, persist_every_s: float = 1.0) -> None:
        self.path = path
        self._clock = clock
        self._persist_every_s = persist_every_s
        self._last: dict[_Key, _Kept] = {}
        self._unreadable: str | None = None
        self._position = 0
        self._written_at: float | None = None
        self._dirty = False
        self._load()

    def wrap(self, sink: FactSink) -> FactSink:
        """A sink that delivers to `sink`, then notes what was delivered."""
        return _NotingSink(sink, self)

    async def last_fact(
        self, kind: FactKind | None = None, stream: Stream | None = None, contract_id: int | None = None
    ) -> FactEnvelope | None:
        """The last fact delivered matching the selection (None matches anything)."""
        if self._unreadable is not None:
            raise FactHistoryUnavailable(self._unreadable)
        found = [
            kept
            for (k, s, c), kept in self._last.items()
            if (kind is None or k == kind.value)
            and (stream is None or s == stream.value)
            and (contract_id is None or c == contract_id)
        ]
        return max(found, key=lambda kept: kept.position).fact if found else None

    def note(self, batch: Sequence[FactEnvelope]) -> None:
        """Remember the batch's facts (delivered); rewrite the file when it is due."""
        self._unreadable = None  # from now on this run's own facts are the last ones
        last = self._last
        for envelope in batch:
            self._position += 1
            last[(envelope.kind.value, envelope.stream.value, envelope.contract_id)] = _Kept(self._position, envelope)
        self._dirty = True
        now = self._clock.monotonic()
        if self._written_at is None or now - self._written_at >= self._persist_every_s:
            self.flush()

    def flush(self) -> None:
        """Write the file now (atomically: a crash mid-write leaves the previous one)."""
        if not self._dirty:
            return
        self._written_at = self._clock.monotonic()
        self._dirty = False
        data = msgspec.json.encode(_File(facts=sorted(self._last.values(), key=lambda kept: kept.position)))
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, self.path)
        except OSError as exc:  # the next run would resume from earlier: a wider gap, never a hidden one
            _log.error("fact_history_write_failed", path=str(self.path), error=str(exc))
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            self._unreadable = f"cannot read {self.path}: {exc}"
            return
        try:
            kept = msgspec.json.decode(data, type=_File).facts
        except msgspec.DecodeError as exc:
            self._unreadable = f"{self.path} is not what the PA wrote ({exc})"
            return
        for entry in kept:
            fact = entry.fact
            self._last[(fact.kind.value, fact.stream.value, fact.contract_id)] = entry
            self._position = max(self._position, entry.position)


class _NotingSink:
    """Delivers, then notes: only what the transport accepted counts as kept for U."""

    def __init__(self, sink: FactSink, history: FileFactHistory) -> None:
        self._sink = sink
        self._history = history

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        await self._sink.deliver(batch)
        self._history.note(batch)
