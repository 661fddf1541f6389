"""Fault schedules: which fault fires when, from a JSON file, from Python, or generated from a seed.

A fault is the same JSON object the control endpoint takes (`{"kind":"close_sockets","target":"md"}`);
its trigger is a market step (deterministic), a count of received requests of one endpoint
(deterministic), or wall seconds after start (for a person watching).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FaultSpec = Mapping[str, Any]
ApplyFault = Callable[[FaultSpec], Awaitable[object]]


class ScheduleError(ValueError):
    """A schedule entry that cannot be understood (names the entry and what is wrong)."""


@dataclass(frozen=True)
class ScheduledFault:
    """One fault and exactly one trigger for it."""

    fault: FaultSpec
    at_step: int | None = None
    after_s: float | None = None
    on_request: str | None = None
    nth: int = 1

    def __post_init__(self) -> None:
        triggers = [self.at_step is not None, self.after_s is not None, self.on_request is not None]
        if sum(triggers) != 1:
            raise ScheduleError(f"need exactly one of at_step, after_s, on_request: {self!r}")
        if "kind" not in self.fault:
            raise ScheduleError(f"fault has no kind: {dict(self.fault)!r}")

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> ScheduledFault:
        """An entry `{"at_step": 10, "fault": {"kind": ..}}` (or `after_s`, or `on_request` + `nth`)."""
        fault = entry.get("fault")
        if not isinstance(fault, Mapping):
            raise ScheduleError(f"entry has no fault object: {dict(entry)!r}")
        return cls(
            fault=dict(fault),
            at_step=entry.get("at_step"),
            after_s=entry.get("after_s"),
            on_request=entry.get("on_request"),
            nth=int(entry.get("nth", 1)),
        )

    def as_json(self) -> dict[str, Any]:
        """The JSON form `from_json` reads."""
        entry: dict[str, Any] = {"fault": dict(self.fault)}
        if self.at_step is not None:
            entry["at_step"] = self.at_step
        if self.after_s is not None:
            entry["after_s"] = self.after_s
        if self.on_request is not None:
            entry["on_request"] = self.on_request
            entry["nth"] = self.nth
        return entry


def load_schedule(path: str | Path) -> tuple[ScheduledFault, ...]:
    """Read a JSON list of schedule entries."""
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ScheduleError(f"{path}: expected a JSON list of entries")
    return tuple(ScheduledFault.from_json(entry) for entry in entries)


# Faults a generated schedule draws from: each one recovers by itself or through the client reconnecting.
GENERATED_FAULTS: tuple[FaultSpec, ...] = (
    {"kind": "close_sockets", "target": "md"},
    {"kind": "close_sockets", "target": "trading"},
    {"kind": "silence", "target": "md", "seconds": 3.0},
    {"kind": "shutdown", "target": "all", "reason_code": "Maintenance"},
    {"kind": "rate_limit", "n": 1},
    {"kind": "penalty", "n": 1, "seconds": 1.0},
    {"kind": "duplicate_frames", "target": "md", "n": 1},
    {"kind": "reorder_frames", "target": "md"},
    {"kind": "co_batch", "target": "trading", "n": 1},
    {"kind": "malformed_frame", "target": "md"},
    {"kind": "expire_tokens"},
)


def generate_schedule(
    seed: int, steps: int, count: int, palette: Sequence[FaultSpec] = GENERATED_FAULTS
) -> tuple[ScheduledFault, ...]:
    """A reproducible schedule: `count` faults drawn from `palette` at seeded steps in [1, steps]."""
    rng = random.Random(f"{seed}:faults")
    chosen = sorted(rng.randint(1, max(1, steps)) for _ in range(count))
    return tuple(ScheduledFault(fault=dict(rng.choice(palette)), at_step=step) for step in chosen)


@dataclass
class ScheduleRunner:
    """Fires scheduled faults when their trigger is reached; each entry fires once."""

    entries: Sequence[ScheduledFault]
    apply: ApplyFault
    fired: list[ScheduledFault] = field(default_factory=list)
    _request_counts: dict[str, int] = field(default_factory=dict)
    _timers: list[asyncio.Task[None]] = field(default_factory=list)
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self) -> None:
        """Arm the wall-clock triggers."""
        for entry in self.entries:
            if entry.after_s is not None:
                self._timers.append(asyncio.create_task(self._after(entry, entry.after_s)))

    async def _after(self, entry: ScheduledFault, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._fire(entry)

    async def _fire(self, entry: ScheduledFault) -> None:
        self.fired.append(entry)
        await self.apply(entry.fault)

    def _fire_soon(self, entry: ScheduledFault) -> None:
        task = asyncio.create_task(self._fire(entry))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def on_step(self, step_count: int) -> None:
        """Fire the entries due at this market step."""
        for entry in self.entries:
            if entry.at_step == step_count:
                self._fire_soon(entry)

    async def on_request(self, endpoint: str) -> None:
        """Count a received request; fire (and wait for) entries triggered by it before it is handled."""
        key = endpoint.lower()
        count = self._request_counts[key] = self._request_counts.get(key, 0) + 1
        for entry in self.entries:
            if entry.on_request is not None and entry.on_request.lower() == key and entry.nth == count:
                await self._fire(entry)

    async def stop(self) -> None:
        """Cancel timers and wait for faults in flight."""
        for task in self._timers:
            task.cancel()
        for task in [*self._timers, *self._pending]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._timers.clear()
