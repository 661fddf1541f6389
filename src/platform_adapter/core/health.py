"""The health state machine: components raise and clear conditions; OE sees the worst of them.

PA_DOWN beats PA_DEGRADED beats PA_UP. `halt_required` is set while any raised condition asks for a
halt (every condition does unless it says otherwise: a risk to the platform link or to fact delivery
is a reason for OE to stop trading). Every change is published at once, and the current signal is
re-published every `period_s` so a late-joining OE learns it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass

from platform_adapter.core.clock import Clock
from platform_adapter.core.ports import HealthSink
from platform_adapter.mic import HealthReason, HealthSignal, HealthState
from platform_adapter.telemetry import get_logger

_SEVERITY = {HealthState.UP: 0, HealthState.DEGRADED: 1, HealthState.DOWN: 2}
_log = get_logger("pa.health")


@dataclass(frozen=True, slots=True)
class Condition:
    """One reason the PA is not fully up, raised by one component under one key."""

    reason: HealthReason
    state: HealthState
    halt: bool
    detail: str


class HealthMonitor:
    """Aggregates conditions into the PA's HealthSignal and publishes it to OE."""

    def __init__(self, clock: Clock, sink: HealthSink, *, period_s: float = 5.0, history: int = 200) -> None:
        self._clock = clock
        self._sink = sink
        self._period_s = period_s
        self._conditions: dict[str, Condition] = {}
        self._seq = itertools.count(1)
        self._pending: deque[HealthSignal] = deque()  # every change is published, none coalesced away
        self._wakeup = asyncio.Event()
        self.published: deque[HealthSignal] = deque(maxlen=history)
        self._current = self._compute(since=clock.now_ns())

    @property
    def current(self) -> HealthSignal:
        """The latest signal."""
        return self._current

    @property
    def state(self) -> HealthState:
        """The current state."""
        return self._current.state

    def conditions(self) -> dict[str, Condition]:
        """A copy of the raised conditions, by key."""
        return dict(self._conditions)

    def raise_condition(
        self,
        key: str,
        reason: HealthReason,
        state: HealthState = HealthState.DEGRADED,
        *,
        halt: bool = True,
        detail: str = "",
    ) -> None:
        """Raise (or update) the condition under `key`."""
        condition = Condition(reason, state, halt, detail)
        if self._conditions.get(key) == condition:
            return
        self._conditions[key] = condition
        self._update()

    def clear(self, key: str) -> None:
        """Clear the condition under `key`, if raised."""
        if self._conditions.pop(key, None) is not None:
            self._update()

    def _update(self) -> None:
        old = self._current
        new_state = self._worst()
        since = old.since if new_state is old.state else self._clock.now_ns()
        candidate = self._compute(since=since)
        if (candidate.state, candidate.reasons, candidate.halt_required, candidate.detail) == (
            old.state,
            old.reasons,
            old.halt_required,
            old.detail,
        ):
            return
        self._current = candidate
        self._enqueue(candidate)
        _log.info(
            "health_transition",
            state=candidate.state.value,
            previous=old.state.value,
            reasons=[r.value for r in candidate.reasons],
            halt_required=candidate.halt_required,
            detail=candidate.detail,
        )

    def _worst(self) -> HealthState:
        states = [c.state for c in self._conditions.values()]
        return max(states, key=_SEVERITY.__getitem__, default=HealthState.UP)

    def _compute(self, *, since: int) -> HealthSignal:
        state = self._worst()
        conditions = sorted(self._conditions.values(), key=lambda c: (-_SEVERITY[c.state], c.reason.value))
        reasons = tuple(dict.fromkeys(c.reason for c in conditions))
        detail = "; ".join(dict.fromkeys(c.detail for c in conditions if c.detail))
        return HealthSignal(
            state=state,
            halt_required=any(c.halt for c in conditions),
            since=since,
            ts=self._clock.now_ns(),
            seq=0,
            reasons=reasons,
            detail=detail,
        )

    def _enqueue(self, signal: HealthSignal) -> None:
        self._pending.append(signal)
        self._wakeup.set()

    async def run(self) -> None:
        """Publish every change in order, and the current signal every `period_s`."""
        if not self._pending:  # conditions raised before `run` are already queued, in order
            self._enqueue(self._current)
        periodic = asyncio.create_task(self._periodic())
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._pending:
                    await self._publish(self._pending.popleft())
        finally:
            periodic.cancel()

    async def _periodic(self) -> None:
        while True:
            await self._clock.sleep(self._period_s)
            self._enqueue(self._current)

    async def _publish(self, signal: HealthSignal) -> None:
        stamped = HealthSignal(
            state=signal.state,
            halt_required=signal.halt_required,
            since=signal.since,
            ts=self._clock.now_ns(),
            seq=next(self._seq),
            reasons=signal.reasons,
            detail=signal.detail,
        )
        self.published.append(stamped)
        await self._sink.publish(stamped)
