"""U's BarStream writer: completes forming bars, assigns `seq` per partition, and never hides a re-sent bar.

Tradovate re-sends the forming bar with the same `timestamp` on every trade; a bar is complete once a
later bar of the same (symbol, timeframe) arrives. Tradovate supplies no bar sequence, so U assigns
`seq` (spec 5.1), contiguous per partition (mode, source, symbol, timeframe, session_day); mode and source
are part of the key so that a LIVE and a SIM stream of one symbol never share a numbering.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from pa_harness.reference.platform_time import iso_to_ns
from pa_harness.reference.records import BarRecord, FormingBar
from platform_adapter.mic import FactEnvelope

_Series = tuple[str, str, str, str]  # mode, source, symbol, timeframe
_Partition = tuple[str, str, str, str, int]  # ... + session_day


@dataclass(frozen=True, slots=True)
class _Bar:
    bar_ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    session_day: int
    fact_id: int
    backfill: bool

    def values(self) -> tuple[float, float, float, float, float]:
        return (self.open, self.high, self.low, self.close, self.volume)


def _number(bar: dict[str, Any], key: str) -> float:
    value = bar[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} is not a number")
    return float(value)


def _parse_bar(bar: Any, session_day: int, fact_id: int, backfill: bool) -> _Bar:
    """One Tradovate bar; raises KeyError/TypeError/ValueError when a field is missing or not a number."""
    if not isinstance(bar, dict) or not isinstance(bar.get("timestamp"), str):
        raise TypeError("bar has no timestamp")
    return _Bar(
        bar_ts=iso_to_ns(bar["timestamp"]),
        open=_number(bar, "open"),
        high=_number(bar, "high"),
        low=_number(bar, "low"),
        close=_number(bar, "close"),
        # Volume = up + down: Tradovate splits traded volume by tick direction and sends no total.
        volume=_number(bar, "upVolume") + _number(bar, "downVolume"),
        session_day=session_day,
        fact_id=fact_id,
        backfill=backfill,
    )


class BarStreamWriter:
    """Turns chart bar packets into BarStream rows; counts duplicates, revisions and malformed bars."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._forming: dict[_Series, tuple[_Bar, int]] = {}  # latest version, versions seen
        self._written: dict[tuple[str, str, str, str, int], BarRecord] = {}
        self._by_series: dict[_Series, list[BarRecord]] = {}
        self._last_seq: dict[_Partition, int] = {}
        self.written = 0
        self.forming_updates = 0
        self.duplicates = 0
        self.revisions = 0
        self.malformed = 0
        self.unattributed = 0
        self._load()

    def _load(self) -> None:
        rows = self._db.execute(
            "SELECT b.symbol, b.timeframe, b.bar_ts, b.open, b.high, b.low, b.close, b.volume, b.seq,"
            " b.mode, b.source, p.session_day FROM bar_stream b JOIN bar_provenance p"
            " USING (mode, source, symbol, timeframe, bar_ts) ORDER BY p.rowid"
        )
        for row in rows:
            self._remember(BarRecord(**dict(row)))

    def _remember(self, record: BarRecord) -> None:
        series = (record.mode, record.source, record.symbol, record.timeframe)
        self._written[(*series, record.bar_ts)] = record
        self._by_series.setdefault(series, []).append(record)
        partition = (*series, record.session_day)
        self._last_seq[partition] = max(self._last_seq.get(partition, 0), record.seq)

    def accept_chart(self, envelope: FactEnvelope, chart: dict[str, Any], fact_id: int) -> None:
        """Take the `bars` of one chart packet (`{"id", "td", "bars": [...]}`); the caller commits."""
        symbol = envelope.symbol or (str(envelope.contract_id) if envelope.contract_id is not None else None)
        bars = chart.get("bars")
        td = chart.get("td")
        if symbol is None or envelope.timeframe is None or not isinstance(td, int) or not isinstance(bars, list):
            # Without a series or session day a bar cannot be placed; the fact row keeps it for a person.
            self.unattributed += len(bars) if isinstance(bars, list) else 1
            return
        parsed: list[_Bar] = []
        for bar in bars:
            try:
                parsed.append(_parse_bar(bar, td, fact_id, envelope.backfill))
            except (KeyError, TypeError, ValueError):
                self.malformed += 1
        series = (str(envelope.mode), envelope.source, symbol, envelope.timeframe)
        # Oldest first: a packet listing bars newest-first must not make older bars look like revisions.
        for bar in sorted(parsed, key=lambda b: b.bar_ts):
            self._accept_bar(series, bar)

    def _accept_bar(self, series: _Series, bar: _Bar) -> None:
        written = self._written.get((*series, bar.bar_ts))
        if written is not None:
            self._recheck(written, bar)
            return
        forming = self._forming.get(series)
        if forming is None:
            self._forming[series] = (bar, 1)
        elif bar.bar_ts == forming[0].bar_ts:
            self.forming_updates += 1
            self._forming[series] = (bar, forming[1] + 1)
        elif bar.bar_ts > forming[0].bar_ts:
            self._write(series, *forming)
            self._forming[series] = (bar, 1)
        else:
            # Older than the forming bar and never written (a bar missed during a gap, now backfilled):
            # a later bar exists, so it is complete.
            self._write(series, bar, 1)

    def _write(self, series: _Series, bar: _Bar, versions: int) -> None:
        partition = (*series, bar.session_day)
        seq = self._last_seq.get(partition, 0) + 1
        mode, source, symbol, timeframe = series
        record = BarRecord(
            symbol=symbol,
            timeframe=timeframe,
            bar_ts=bar.bar_ts,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
            seq=seq,
            mode=mode,
            source=source,
            session_day=bar.session_day,
        )
        self._db.execute(
            "INSERT INTO bar_stream (symbol, timeframe, bar_ts, open, high, low, close, volume, seq, mode, source)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (symbol, timeframe, bar.bar_ts, *bar.values(), seq, mode, source),
        )
        self._db.execute(
            "INSERT INTO bar_provenance (mode, source, symbol, timeframe, bar_ts, session_day, seq, fact_id, updates)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mode, source, symbol, timeframe, bar.bar_ts, bar.session_day, seq, bar.fact_id, versions),
        )
        self._remember(record)
        self.written += 1

    def _recheck(self, written: BarRecord, bar: _Bar) -> None:
        """A bar U already wrote arrived again: identical is a duplicate, different is a revision on record."""
        before = (written.open, written.high, written.low, written.close, written.volume)
        if before == bar.values():
            self.duplicates += 1
            return
        self._db.execute(
            "INSERT INTO bar_revisions (mode, source, symbol, timeframe, bar_ts, session_day, written_seq,"
            " written_open, written_high, written_low, written_close, written_volume,"
            " open, high, low, close, volume, fact_id, backfill)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                written.mode,
                written.source,
                written.symbol,
                written.timeframe,
                written.bar_ts,
                bar.session_day,
                written.seq,
                *before,
                *bar.values(),
                bar.fact_id,
                int(bar.backfill),
            ),
        )
        self.revisions += 1

    def bars(self, symbol: str, timeframe: str, mode: str, source: str) -> list[BarRecord]:
        """Written bars of one series, in write order."""
        return list(self._by_series.get((mode, source, symbol, timeframe), ()))

    def forming(self, symbol: str, timeframe: str, mode: str, source: str) -> FormingBar | None:
        """The latest version of a series' forming (not yet complete) bar, or None."""
        entry = self._forming.get((mode, source, symbol, timeframe))
        if entry is None:
            return None
        bar, versions = entry
        return FormingBar(
            symbol=symbol,
            timeframe=timeframe,
            bar_ts=bar.bar_ts,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
            session_day=bar.session_day,
            versions=versions,
        )
