"""One request budget for REST and both sockets: penalty cool-downs, 429 lock-outs and a rolling-hour count.

Tradovate issues penalty tickets per IP/subnet and 429s per user (partner.tradovate.com
overview/core-concepts/penalty-tickets and rate-limits; tradovate/api issues #25 and #29): a cool-down
seen by one connection holds for all of them, so a retry storm on one socket cannot lock the account.

The hard limit is evaluated over the previous hour ("wait until a number of past requests for current time minus
one hour becomes less than 5000", tradovate/api#25), and a 429 locks every request out for about an hour — the
kill included. So the PA counts what it sent in a rolling hour and stays under its own, lower limit (ADR 0016):
market data and look-ups wait for room below `requests_per_hour - order_reserve`; the trading socket's own set-up
may use the reserve; orders never wait and are refused once the whole `requests_per_hour` is spent; kill and flatten
are never held back by the count. Logins and renewals are not held back by the hour either, but by Tradovate's
published "Authentication: 10 requests/minute": at most `auth_requests_per_minute` in a rolling minute (repeated
logins earn a penalty and then a captcha, example-api-js EX-3).
"""

from __future__ import annotations

from collections import deque
from enum import Enum

from platform_adapter.config import BudgetSettings
from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.errors import BudgetExhausted, CaptchaRequired, PenaltyWait, RateLimited

_log = get_logger("pa.budget")
_PENALTY_KEY = "budget.penalty"
_LOCK_KEY = "budget.lockout"
_WINDOW_KEY = "budget.window"
_AUTH_WINDOW_KEY = "budget.auth_window"
LOCKOUT_S = 3600.0  # Tradovate: after a 429 or a captcha, wait about an hour
WINDOW_S = 3600.0  # Tradovate evaluates its hard limit over the previous hour (tradovate/api#25)
AUTH_WINDOW_S = 60.0  # "Authentication: 10 requests/minute" (partner.tradovate.com overview/core-concepts/rate-limits)


class Urgency(Enum):
    """How a request stands against the rolling-hour count (ADR 0016)."""

    READ = "read"  # market data, look-ups: room below the order reserve
    ORDER = "order"  # orders (never wait: refused when there is no room), the trading socket's set-up: all of it
    ESSENTIAL = "essential"  # kill, flatten: counted, never held back by the PA's own limit
    AUTH = "auth"  # login, renewal: counted, not held back by the hour; at most `auth_requests_per_minute`


class RequestBudget:
    """Shared cool-down, lock-out and rolling-hour state; every request awaits `acquire` first."""

    def __init__(self, clock: Clock, health: HealthMonitor, limits: BudgetSettings | None = None) -> None:
        self._clock = clock
        self._health = health
        self._limits = limits or BudgetSettings()
        self._cooldown_until = 0.0
        self._locked_until = 0.0
        self._lock_error: Exception | None = None
        self._sent: deque[float] = deque()  # monotonic send times within the last WINDOW_S
        self._auth_sent: deque[float] = deque()  # the same for logins and renewals, within the last AUTH_WINDOW_S
        self._waiting = {_WINDOW_KEY: 0, _AUTH_WINDOW_KEY: 0}  # requests waiting for room, per window
        self._held: set[str] = set()  # the windows whose request_budget condition is raised
        self.penalties = 0
        self.lockouts = 0
        self.holds = 0  # times requests began to wait for room in the rolling hour
        self.refused = 0  # requests that would not wait (orders) refused for want of room in the rolling hour

    @property
    def sent_last_hour(self) -> int:
        """Requests sent in the rolling hour up to now."""
        _forget(self._sent, self._clock.monotonic() - WINDOW_S)
        return len(self._sent)

    @property
    def lockout_remaining(self) -> float:
        """Seconds left of a 429 / captcha lock-out (0 when not locked out)."""
        if self._lock_error is None:
            return 0.0
        return max(0.0, self._locked_until - self._clock.monotonic())

    async def acquire(self, *, wait: bool = True, urgency: Urgency = Urgency.READ) -> None:
        """Take room for one request that is sent right after: wait out a penalty cool-down (or raise PenaltyWait)
        and for room in the rolling hour under `urgency`'s limit (or raise BudgetExhausted); raise while locked out.
        """
        while True:
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
                continue
            self._health.clear(_PENALTY_KEY)
            if urgency is Urgency.AUTH:
                room_in = _room_in(self._auth_sent, self._limits.auth_requests_per_minute, now, AUTH_WINDOW_S)
                if room_in > 0:
                    await self._hold(_AUTH_WINDOW_KEY, room_in, self._auth_detail(room_in))
                    continue
                self._auth_sent.append(now)
            elif urgency is not Urgency.ESSENTIAL:
                room_in = _room_in(self._sent, self._limit(urgency), now, WINDOW_S)
                if room_in > 0:
                    if not wait:
                        self.refused += 1
                        raise BudgetExhausted(len(self._sent), self._limit(urgency), room_in)
                    await self._hold(_WINDOW_KEY, room_in, self._hour_detail(room_in))
                    continue
            self._sent.append(now)
            if self._held:
                self._release_idle()
            return

    def _limit(self, urgency: Urgency) -> int:
        limits = self._limits
        return limits.requests_per_hour - (limits.order_reserve if urgency is Urgency.READ else 0)

    def _hour_detail(self, wait_s: float) -> str:
        return (
            f"the PA's request budget is spent: {len(self._sent)} requests in the last hour (limit "
            f"{self._limit(Urgency.READ)} for market data + {self._limits.order_reserve} kept for orders and the "
            f"trading socket); subscriptions wait {wait_s:.0f} s for room"
        )

    def _auth_detail(self, wait_s: float) -> str:
        return (
            f"{len(self._auth_sent)} logins / token renewals in the last minute (limit "
            f"{self._limits.auth_requests_per_minute}; Tradovate answers more with a penalty, then a captcha): the "
            f"next waits {wait_s:.0f} s — something revokes the token or closes the sockets again and again"
        )

    async def _hold(self, key: str, wait_s: float, detail: str) -> None:
        """Wait `wait_s` for room; while requests wait, the PA says so (DEGRADED, no halt: the kill still goes)."""
        if key not in self._held:
            self._held.add(key)
            self.holds += 1
            self._health.raise_condition(
                key, HealthReason.REQUEST_BUDGET, HealthState.DEGRADED, halt=False, detail=detail
            )
            _log.warning("request_budget_spent", window=key, detail=detail)
        self._waiting[key] += 1
        try:
            await self._clock.sleep(wait_s)
        finally:
            self._waiting[key] -= 1

    def _release_idle(self) -> None:
        """Clear each window's condition once no request waits on it (those that waited went, or were cancelled)."""
        for key in [key for key in self._held if self._waiting[key] == 0]:
            self._held.discard(key)
            self._health.clear(key)

    async def run(self) -> None:
        """Clear penalty and lock-out conditions when they expire, even if no request comes to notice it."""
        while True:
            now = self._clock.monotonic()
            if self._lock_error is not None and now >= self._locked_until:
                self._lock_error = None
                self._health.clear(_LOCK_KEY)
            if now >= self._cooldown_until:
                self._health.clear(_PENALTY_KEY)
            self._release_idle()  # the requests that waited may have been cancelled (their socket closed)
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


def _room_in(sent: deque[float], limit: int, now: float, window_s: float) -> float:
    """Seconds until `sent` has fewer than `limit` times within the `window_s` up to `now` (0: room now)."""
    _forget(sent, now - window_s)
    if len(sent) < limit:
        return 0.0
    return sent[len(sent) - limit] + window_s - now  # when enough of the oldest have left the window


def _forget(sent: deque[float], start: float) -> None:
    """Drop the times at or before `start` (they left the window)."""
    while sent and sent[0] <= start:
        sent.popleft()
