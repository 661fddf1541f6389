"""Measurements the findings rest on: tick order, forming-bar re-sends, heartbeat cadence from the capture."""

from __future__ import annotations

from typing import Any

from platform_adapter.probe.analysis import Tick, bar_resends, cadence, iso_ms, tick_order, ticks_of
from platform_adapter.probe.capture import CaptureRecord


def packet(base: int, *ticks: tuple[int, int]) -> tuple[float, dict[str, Any]]:
    return 0.0, {"id": 7, "s": "rt", "bt": base, "tks": [{"t": t, "id": i} for i, t in ticks]}


def test_ticks_take_their_time_from_the_packet_base_plus_offset() -> None:
    ticks = ticks_of([packet(1_000, (5, 0), (6, 30))])

    assert ticks == [Tick(5, 1_000, 0, "rt"), Tick(6, 1_030, 0, "rt")]


def test_tick_order_counts_unsorted_packets_overlaps_gaps_duplicates_and_time_disorder() -> None:
    ticks = ticks_of(
        [
            packet(1_000, (10, 0), (12, 5), (11, 9)),  # unsorted ids inside the packet (11 after 12, later in time)
            packet(2_000, (12, 0), (15, 1)),  # starts at an id already seen (duplicate 12), gap 13-14
            packet(1_500, (16, 0)),  # earlier in time than the tick before it
        ]
    )

    order = tick_order(ticks)

    assert order.packets_with_unsorted_ids == 1
    assert order.packets_overlapping_previous == 1
    assert order.duplicate_ids == 1
    assert order.id_gaps == 1
    assert order.times_out_of_order == 1  # 15 (2001 ms) then 16 (1500 ms)
    assert order.times_disagree_with_ids == 2  # id 12 is earlier than id 11; id 16 earlier than id 15
    assert order.id_range == (10, 16)


def test_forming_bar_resends_are_counted_by_repeated_timestamps() -> None:
    bars = [{"timestamp": "T1"}, {"timestamp": "T1"}, {"timestamp": "T1"}, {"timestamp": "T2"}]

    assert bar_resends(bars).resent == 2
    assert bar_resends(bars).distinct_timestamps == 2


def test_cadence_counts_heartbeats_and_data_frames_of_one_connection_in_a_window() -> None:
    def recv(conn: str, at_s: float, text: str) -> CaptureRecord:
        return CaptureRecord("frame", int(at_s * 1e9), 0, "recv", "md", conn, text)

    records = [
        recv("md-1", 1.0, "h"),
        recv("md-1", 3.5, "h"),
        recv("md-2", 4.0, "h"),
        recv("md-1", 4.0, "a[]"),
        recv("md-1", 6.0, "h"),
    ]

    measured = cadence(records, "md-1", 0, int(5e9))

    assert (measured.heartbeats, measured.data_frames, measured.intervals_s) == (2, 1, [2.5])
    assert measured.median_s == 2.5


def test_iso_ms_writes_timestamps_the_way_tradovate_does() -> None:
    assert iso_ms(1_764_081_000_123) == "2025-11-25T14:30:00.123Z"
