"""Time sources the simulator reads, injectable so tests control token expiry and penalty waits."""

from __future__ import annotations

import time
from typing import Protocol


class SimClock(Protocol):
    """Wall time in epoch seconds: token `expirationTime` and the `p-time` of penalty tickets."""

    def wall(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """The real wall clock."""

    def wall(self) -> float:
        """Seconds since the epoch."""
        return time.time()


class ManualClock:
    """A clock a test moves by hand, so a 90-minute token or a 30 s penalty needs no waiting."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self._now = start

    def wall(self) -> float:
        """Seconds since the epoch, as advanced so far."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += seconds
