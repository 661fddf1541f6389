"""Typed errors of the Tradovate side, each carrying what an operator needs to act."""

from __future__ import annotations

from platform_adapter.config import ConfigError


class TradovateError(Exception):
    """Base of every Tradovate-side error."""


class AuthFailed(TradovateError):
    """A login or token renewal did not give a token (`errorText`, or an unreadable answer)."""

    def __init__(self, error_text: str) -> None:
        super().__init__(f"Tradovate refused the login: {error_text}")
        self.error_text = error_text


LOGIN_ENDPOINT = "auth/accesstokenrequest"


class CaptchaRequired(TradovateError):
    """A penalty with `p-captcha` on `endpoint`: a third-party app cannot solve it, so every request pauses."""

    def __init__(self, endpoint: str, lockout_s: float) -> None:
        why = "too many login attempts" if endpoint.lower() == LOGIN_ENDPOINT else "too many requests"
        super().__init__(
            f"Tradovate asks for a captcha on {endpoint} ({why} from this user or IP): a program cannot solve it, "
            f"so every request is paused for {lockout_s:.0f} s (Tradovate: about an hour) and then resumes by itself; "
            "to clear it sooner, log in once in the Tradovate web app"
        )
        self.endpoint = endpoint


class AuthRejected(AuthFailed):
    """Tradovate refused the login itself (`errorText` on `auth/accesstokenrequest`): latched until reloaded."""


class RateLimited(TradovateError):
    """HTTP/WS 429 or a lock-out: nothing can be sent until `retry_after_s` has passed."""

    def __init__(self, retry_after_s: float, what: str = "") -> None:
        super().__init__(
            f"Tradovate rate limit reached{f' on {what}' if what else ''}: requests are paused for "
            f"{retry_after_s:.0f} s (Tradovate's limits are rolling per hour; reduce request volume)"
        )
        self.retry_after_s = retry_after_s


class PenaltyWait(TradovateError):
    """A penalty ticket is in force and the caller asked not to wait for it."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"Tradovate penalty in force for another {wait_s:.1f} s")
        self.wait_s = wait_s


class BudgetExhausted(TradovateError):
    """The PA's own rolling-hour request budget has no room for this request and the caller asked not to wait."""

    def __init__(self, sent: int, limit: int, retry_after_s: float) -> None:
        super().__init__(
            f"the PA's request budget is spent: {sent} requests in the last hour (limit {limit} for this kind of "
            f"request); room again in {retry_after_s:.0f} s"
        )
        self.retry_after_s = retry_after_s


class PenaltyTicket(TradovateError):
    """A mutating request got a penalty ticket: it was not processed, and is not re-sent automatically."""

    def __init__(self, endpoint: str, wait_s: float) -> None:
        super().__init__(f"{endpoint}: Tradovate penalty ticket, wait {wait_s:.1f} s")
        self.wait_s = wait_s


class Unauthorized(TradovateError):
    """401: the token expired or was revoked."""


class NotSent(TradovateError):
    """A mutating request was refused locally before sending (penalty cool-down, lock-out): nothing was sent."""

    def __init__(self, detail: str, cause: TradovateError) -> None:
        super().__init__(detail)
        self.cause = cause


class NotConnected(TradovateError):
    """The socket is not connected and authorized: nothing was sent."""


class RequestTimeout(TradovateError):
    """A request was sent but no response arrived in time: its effect is unknown."""

    def __init__(self, endpoint: str, timeout_s: float) -> None:
        super().__init__(f"no response to {endpoint} within {timeout_s:.1f} s")
        self.endpoint = endpoint


class ConnectionLost(TradovateError):
    """The socket closed after the request was sent: its effect is unknown."""


class ConnectFailed(TradovateError):
    """No connection was made (no token, or the WebSocket connect failed): nothing was open, nothing was lost."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


class ReaderFault(TradovateError):
    """The reader met a frame it could not handle; the frame was forwarded raw and the socket is restarted."""


class PlatformStatusError(TradovateError):
    """A non-2xx response status with the platform's error text."""

    def __init__(self, status: int, text: str, endpoint: str) -> None:
        super().__init__(f"{endpoint} answered {status}: {text}")
        self.status = status
        self.text = text


class UnknownSymbol(TradovateError, ConfigError):
    """A configured symbol Tradovate does not know: the PA stops (retrying cannot help)."""

    def __init__(self, symbol: str, detail: str = "") -> None:
        super().__init__(
            f"Tradovate does not know the configured symbol {symbol!r}{f' ({detail})' if detail else ''}: "
            "check the contract name (product + month code + year digit, e.g. ESZ6) in `instruments`"
        )
        self.symbol = symbol


class UnknownAccount(TradovateError, ConfigError):
    """Configured account names this user does not have: the PA stops (retrying cannot help)."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            f"the configured accounts {missing} are not among this Tradovate user's accounts: "
            "fix `accounts` in the TOML (or PA_ACCOUNTS), or leave it empty to trade every account of the user"
        )
        self.missing = missing
