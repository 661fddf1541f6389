"""Bounded exponential backoff with jitter, as a pure function of the attempt number.

Kept as a tiny pure class rather than stamina/tenacity because the reconnect loop must sleep on the
injected clock (tests advance time by hand) and report health between attempts; the delay formula is
the usual one (tenacity `wait_exponential_jitter`): min(max, initial * multiplier**attempt) +/- jitter.
"""

from __future__ import annotations

import random

from platform_adapter.config import BackoffSettings


class Backoff:
    """Delays for reconnect attempts 0, 1, 2, ...: never above `max_s * (1 + jitter)`."""

    def __init__(self, settings: BackoffSettings, rng: random.Random | None = None) -> None:
        self._settings = settings
        self._rng = rng or random.Random()

    def delay(self, attempt: int) -> float:
        """The wait before attempt number `attempt` (0-based)."""
        s = self._settings
        base = min(s.max_s, s.initial_s * s.multiplier ** min(attempt, 64))
        spread = base * s.jitter
        return max(0.0, base + self._rng.uniform(-spread, spread))
