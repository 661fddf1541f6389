"""Typed errors of the Tradovate side, each carrying what an operator needs to act."""

from __future__ import annotations


class TradovateError(Exception):
    """Base of every Tradovate-side error."""


class AuthFailed(TradovateError):
    """Tradovate refused the credentials (`errorText`): fix them; retrying will not help."""

    def __init__(self, error_text: str) -> None:
        super().__init__(f"Tradovate refused the login: {error_text}")
        self.error_text = error_text


class CaptchaRequired(TradovateError):
    """A penalty with `p-captcha`: a third-party app cannot solve it."""

    def __init__(self) -> None:
        super().__init__(
            "Tradovate asks for a captcha (too many login attempts): wait about an hour, or log in once "
            "in the Tradovate web app, then restart the PA"
        )


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


class UnknownSymbol(TradovateError):
    """A configured symbol Tradovate does not know."""

    def __init__(self, symbol: str, detail: str = "") -> None:
        super().__init__(
            f"Tradovate does not know the configured symbol {symbol!r}{f' ({detail})' if detail else ''}: "
            "check the contract name (product + month code + year digit, e.g. ESZ6) in `instruments`"
        )
        self.symbol = symbol
