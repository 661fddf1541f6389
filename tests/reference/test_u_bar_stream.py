"""U writes BarStream from chart bars: one row per completed bar, seq per partition, re-sent bars never hidden."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pa_harness.reference import ReferenceU
from pa_harness.reference.platform_time import iso_to_ns
from platform_adapter.mic import FactKind, Stream
from tests.reference import samples
from tests.reference.samples import Feed, bar, chart_bars

T0 = "2026-11-25T14:30:00.000Z"
T1 = "2026-11-25T14:31:00.000Z"
T2 = "2026-11-25T14:32:00.000Z"
T3 = "2026-11-25T14:33:00.000Z"
TD = 20261125


def _bar_rows(u: ReferenceU) -> list[tuple[Any, ...]]:
    rows = u.db.execute(
        "SELECT symbol, timeframe, bar_ts, open, high, low, close, volume, seq, mode, source FROM bar_stream"
        " ORDER BY rowid"
    )
    return [tuple(r) for r in rows]


def test_forming_bar_updates_write_one_row_per_completed_bar() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept_batch(
        [
            feed.bars(chart_bars(TD, bar(T0, 100, 101, 99.5, 100.25, up=3, down=1))),
            feed.bars(chart_bars(TD, bar(T0, 100, 102, 99.5, 101.75, up=7, down=2))),
            feed.bars(chart_bars(TD, bar(T0, 100, 102, 99, 101.5, up=9, down=4))),
            feed.bars(chart_bars(TD, bar(T1, 101.5, 101.5, 101.5, 101.5, up=1, down=0))),
            feed.bars(chart_bars(TD, bar(T1, 101.5, 103, 101.5, 102.75, up=5, down=1))),
        ]
    )

    assert _bar_rows(u) == [
        ("ESZ6", "1m", iso_to_ns(T0), 100.0, 102.0, 99.0, 101.5, 13.0, 1, "LIVE", "Tradovate"),
    ]
    forming = u.forming_bar("ESZ6", "1m")
    assert forming is not None
    assert (forming.bar_ts, forming.close, forming.versions) == (iso_to_ns(T1), 102.75, 2)
    assert u.counters.forming_updates == 3


def test_volume_is_up_volume_plus_down_volume() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept_batch([feed.bars(samples.CHART_BARS_EVENT), feed.bars(chart_bars(20170413, bar(T0, 1, 1, 1, 1)))])

    (written,) = u.bars("ESZ6", "1m")
    assert written.volume == 4712 + 201
    assert (written.open, written.high, written.low, written.close) == (2334.25, 2334.5, 2333, 2333.75)
    assert written.bar_ts == iso_to_ns("2017-04-13T11:00:00.000Z")


def test_seq_is_contiguous_per_symbol_timeframe_and_session_day() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept_batch(
        [
            feed.bars(chart_bars(TD, bar(T0, 1, 1, 1, 1), bar(T1, 2, 2, 2, 2), bar(T2, 3, 3, 3, 3))),
            feed.bars(chart_bars(TD, bar(T0, 5, 5, 5, 5), bar(T2, 6, 6, 6, 6)), timeframe="2m"),
            feed.bars(chart_bars(TD, bar(T0, 7, 7, 7, 7), bar(T1, 8, 8, 8, 8)), symbol="NQZ6"),
            # the next trade date starts a new partition: seq starts again at 1
            feed.bars(chart_bars(TD + 1, bar(T3, 4, 4, 4, 4), bar("2026-11-25T14:34:00.000Z", 9, 9, 9, 9))),
        ]
    )

    def seqs(symbol: str, timeframe: str) -> list[tuple[int, int]]:
        return [(b.session_day, b.seq) for b in u.bars(symbol, timeframe)]

    assert seqs("ESZ6", "1m") == [(TD, 1), (TD, 2), (TD, 3), (TD + 1, 1)]
    assert seqs("ESZ6", "2m") == [(TD, 1)]
    assert seqs("NQZ6", "1m") == [(TD, 1)]
    provenance = u.db.execute(
        "SELECT session_day, seq FROM bar_provenance WHERE symbol = 'ESZ6' AND timeframe = '1m' ORDER BY rowid"
    ).fetchall()
    assert [tuple(r) for r in provenance] == [(TD, 1), (TD, 2), (TD, 3), (TD + 1, 1)]


def test_bars_listed_newest_first_are_written_oldest_first() -> None:
    u = ReferenceU(":memory:")
    u.accept(Feed().bars(chart_bars(TD, bar(T2, 3, 3, 3, 3), bar(T1, 2, 2, 2, 2), bar(T0, 1, 1, 1, 1))))

    assert [(b.bar_ts, b.seq) for b in u.bars("ESZ6", "1m")] == [(iso_to_ns(T0), 1), (iso_to_ns(T1), 2)]
    assert u.counters.bar_revisions == 0


def test_backfill_duplicate_is_not_written_twice() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    history = chart_bars(TD, bar(T0, 1, 2, 0.5, 1.5), bar(T1, 1.5, 2, 1, 2), bar(T2, 2, 2, 2, 2))
    u.accept(feed.bars(history, historical=True))
    u.accept(feed.bars(history, historical=True, backfill=True))

    assert [b.seq for b in u.bars("ESZ6", "1m")] == [1, 2]
    assert u.db.execute("SELECT COUNT(*) FROM bar_stream").fetchone()[0] == 2
    assert u.counters.bar_duplicates == 2
    assert u.counters.bar_revisions == 0


def test_backfill_bar_with_different_values_lands_in_bar_revisions() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept(feed.bars(chart_bars(TD, bar(T0, 1, 2, 0.5, 1.5, up=10, down=5), bar(T1, 1.5, 2, 1, 2))))
    u.accept(feed.bars(chart_bars(TD, bar(T0, 1, 2.25, 0.5, 1.75, up=12, down=5)), backfill=True))

    (written,) = u.bars("ESZ6", "1m")
    assert (written.high, written.close, written.volume) == (2.0, 1.5, 15.0)  # the canonical row is not rewritten
    revision = u.db.execute("SELECT * FROM bar_revisions").fetchone()
    assert (revision["bar_ts"], revision["written_seq"], revision["backfill"]) == (iso_to_ns(T0), 1, 1)
    assert (revision["written_high"], revision["high"]) == (2.0, 2.25)
    assert (revision["written_close"], revision["close"]) == (1.5, 1.75)
    assert (revision["written_volume"], revision["volume"]) == (15.0, 17.0)
    assert u.counters.bar_revisions == 1


def test_a_bar_missed_during_a_gap_is_written_when_backfilled() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept(feed.bars(chart_bars(TD, bar(T0, 1, 1, 1, 1))))
    u.accept(feed.bars(chart_bars(TD, bar(T2, 3, 3, 3, 3))))  # T1 was missed while disconnected
    u.accept(feed.bars(chart_bars(TD, bar(T1, 2, 2, 2, 2), bar(T2, 3, 3, 3, 3)), backfill=True))

    assert [(b.bar_ts, b.seq) for b in u.bars("ESZ6", "1m")] == [(iso_to_ns(T0), 1), (iso_to_ns(T1), 2)]


def test_malformed_bars_are_counted_not_written() -> None:
    u = ReferenceU(":memory:")
    broken = bar(T0, 1, 1, 1, 1)
    del broken["upVolume"]
    u.accept_batch([Feed().bars(chart_bars(TD, broken, bar(T1, 2, 2, 2, 2), bar(T2, 3, 3, 3, 3)))])

    assert [b.bar_ts for b in u.bars("ESZ6", "1m")] == [iso_to_ns(T1)]
    assert u.counters.bars_malformed == 1


def test_ticks_are_stored_raw_one_row_per_packet() -> None:
    u = ReferenceU(":memory:")
    tick_fact = Feed().envelope(
        FactKind.MARKET, Stream.CHART_TICK, samples.TICK_CHART_EVENT, symbol="ESZ6", timeframe="tick"
    )
    u.accept(tick_fact)

    rows = u.db.execute("SELECT * FROM ticks").fetchall()
    assert len(rows) == 1
    row = rows[0]
    assert (row["subscription_id"], row["td"], row["s"], row["bp"], row["bt"], row["ts"]) == (
        16335,
        20190718,
        "db",
        11917,
        1563421179735,
        0.25,
    )
    assert json.loads(row["tks"]) == json.loads(samples.TICK_CHART_EVENT)["d"]["charts"][0]["tks"]
    assert (row["symbol"], row["timeframe"]) == ("ESZ6", "tick")
    assert u.bars("ESZ6", "tick") == []
    assert (u.counters.tick_packets, u.counters.eoh_markers) == (1, 1)


def test_end_of_history_marker_is_counted_and_writes_nothing() -> None:
    u = ReferenceU(":memory:")
    u.accept(Feed().envelope(FactKind.MARKET, Stream.CHART_EOH, samples.EOH_EVENT, symbol="ESZ6", timeframe="1m"))

    assert u.counters.eoh_markers == 1
    assert u.db.execute("SELECT COUNT(*) FROM bar_stream").fetchone()[0] == 0


def test_bar_stream_continues_after_u_restarts_on_the_same_database(tmp_path: Path) -> None:
    path = tmp_path / "ref.db"
    feed = Feed()
    first = ReferenceU(path)
    first.accept(feed.bars(chart_bars(TD, bar(T0, 1, 1, 1, 1), bar(T1, 2, 2, 2, 2))))
    first.close()

    second = ReferenceU(path)
    second.accept(feed.bars(chart_bars(TD, bar(T0, 1, 1, 1, 1), bar(T1, 2, 2, 2, 2), bar(T2, 3, 3, 3, 3))))

    assert [b.seq for b in second.bars("ESZ6", "1m")] == [1, 2]
    assert second.counters.bar_duplicates == 1
    second.close()
