"""The rows of U's canonical streams as in-memory values (spec 6.1, 6.2), shared by U, Paper, OE and the audit."""

from __future__ import annotations

import msgspec

LIVE = "LIVE"
EVENT_SOURCE_U = "U"  # EventStream `source` is the writer (spec 4.2): U writes LIVE facts


class EventRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One canonical EventStream row; `payload` is JSON text carrying the platform identifier and raw message."""

    event_id: str
    event_ts: int  # UTC epoch ns
    mode: str
    source: str
    event_type: str
    payload: str
    seq: int


class BarRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One canonical BarStream row, plus the session day of its seq partition (kept outside the canonical table)."""

    symbol: str
    timeframe: str
    bar_ts: int  # UTC epoch ns of the bar's open, as the platform stamps it
    open: float
    high: float
    low: float
    close: float
    volume: float
    seq: int
    mode: str
    source: str
    session_day: int  # the platform's trade date (YYYYMMDD) of the chart packet


class FormingBar(msgspec.Struct, frozen=True, kw_only=True):
    """The latest version of a bar that is still forming (not in BarStream yet)."""

    symbol: str
    timeframe: str
    bar_ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    session_day: int
    versions: int  # how many times the platform has sent this bar so far


class DeliveryHole(msgspec.Struct, frozen=True, kw_only=True):
    """Envelopes U never received: `delivery_seq` jumped from `expected` to `got`."""

    segment: int
    expected: int
    got: int
    missing: int
    recv_ts: int  # recv_ts of the envelope that revealed the hole
