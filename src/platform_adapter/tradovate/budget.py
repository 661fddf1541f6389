"""One request budget for REST and both sockets: penalty cool-downs and 429 lock-outs are shared.

Tradovate issues penalty tickets per IP/subnet and 429s per user (partner.tradovate.com
overview/core-concepts/penalty-tickets and rate-limits; tradovate/api issues #25 and #29): a cool-down
seen by one connection holds for all of them, so a retry storm on one socket cannot lock the account.
"""

from __future__ import annotations

from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.errors import CaptchaRequired, PenaltyWait, RateLimited

_log = get_logger("pa.budget")
_PENALTY_KEY = "budget.penalty"
_LOCK_KEY = "budget.lockout"
LOCKOUT_S = 3600.0  # Tradovate: after a 429 or a captcha, wait about an hour


class RequestBudget:
    """Shared cool-down state; every request awaits `acquire` first."""

    def __init__(self, clock: Clock, health: HealthMonitor) -> None:
        self._clock = clock
        self._health = health
        self._cooldown_until = 0.0
        self._locked_until = 0.0
        self._lock_error: Exception | None = None
        self.penalties = 0
        self.lockouts = 0

    @property
    def lockout_remaining(self) -> float:
        """Seconds left of a 429 / captcha lock-out (0 when not locked out)."""
        if self._lock_error is None:
            return 0.0
        return max(0.0, self._locked_until - self._clock.monotonic())

    async def acquire(self, *, wait: bool = True) -> None:
        """Wait out a penalty cool-down (or raise PenaltyWait); raise while locked out."""
        now = self._clock.monotonic()
        if now < self._locked_until and self._lock_error is not None:
            raise self._lock_error
        if self._lock_error is not None:
            self._lock_error = None
            self._health.clear(_LOCK_KEY)
        remaining = self._cooldown_until - now
        if remaining > 0:
            if not wait:
                raise PenaltyWait(remaining)
            await self._clock.sleep(remaining)
        self._health.clear(_PENALTY_KEY)

    async def run(self) -> None:
        """Clear penalty and lock-out conditions when they expire, even if no request comes to notice it."""
        while True:
            now = self._clock.monotonic()
            if self._lock_error is not None and now >= self._locked_until:
                self._lock_error = None
                self._health.clear(_LOCK_KEY)
            if now >= self._cooldown_until:
                self._health.clear(_PENALTY_KEY)
            waits = [t - now for t in (self._locked_until, self._cooldown_until) if t > now]
            await self._clock.sleep(min(waits) if waits else 1.0)

    def penalty(self, wait_s: float, what: str) -> None:
        """Record a penalty ticket: every request waits `wait_s` from now."""
        self.penalties += 1
        self._cooldown_until = max(self._cooldown_until, self._clock.monotonic() + wait_s)
        self._health.raise_condition(
            _PENALTY_KEY,
            HealthReason.PENALTY_WAIT,
            HealthState.DEGRADED,
            halt=True,
            detail=f"Tradovate penalty ticket on {what}: all requests wait {wait_s:.1f} s",
        )
        _log.warning("penalty_ticket", endpoint=what, wait_s=wait_s)

    def rate_limited(self, what: str) -> RateLimited:
        """Record a 429: lock every request out for an hour; returns the error to raise."""
        error = RateLimited(LOCKOUT_S, what)
        self._lock(error, HealthReason.RATE_LIMITED)
        return error

    def captcha(self, what: str) -> CaptchaRequired:
        """Record a captcha demand on `what`: lock out (a third-party app cannot solve it); returns the error."""
        error = CaptchaRequired(what, LOCKOUT_S)
        self._lock(error, HealthReason.CAPTCHA_REQUIRED)
        return error

    def _lock(self, error: Exception, reason: HealthReason) -> None:
        self.lockouts += 1
        self._locked_until = self._clock.monotonic() + LOCKOUT_S
        self._lock_error = error
        self._health.raise_condition(_LOCK_KEY, reason, HealthState.DOWN, halt=True, detail=str(error))
        _log.error("requests_locked_out", reason=reason.value, detail=str(error))
