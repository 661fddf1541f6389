"""Platform timestamps as UTC epoch nanoseconds: the one time representation of U's canonical streams."""

from __future__ import annotations

from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_to_ns(text: str) -> int:
    """Parse an ISO-8601 timestamp to UTC epoch ns (precision: microseconds); raises ValueError."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # Tradovate stamps everything in UTC
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def platform_ts_to_ns(value: str | int | None) -> int | None:
    """A platform timestamp as sent, in UTC epoch ns; None when absent or unparseable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * 1_000_000  # Tradovate's only integer times are epoch milliseconds (tick packet `bt`)
    try:
        return iso_to_ns(value)
    except ValueError:
        return None


def ns_to_iso(ns: int) -> str:
    """UTC epoch ns as ISO-8601 with milliseconds and `Z`, for people reading audits."""
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{(ns // 1_000_000) % 1000:03d}Z"
