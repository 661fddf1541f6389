"""U checks delivery_seq: a hole is reported loudly, a redelivery is not processed twice, a restart is noted."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest

from pa_harness.reference import DeliveryHole, ReferenceU
from platform_adapter.mic import FactEnvelope, Stream
from tests.reference import samples
from tests.reference.samples import Feed


def _shutdown(feed: Feed) -> FactEnvelope:
    return feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT)


def test_a_delivery_seq_hole_is_recorded_counted_and_written_to_the_event_stream() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept(_shutdown(feed))
    feed.skip(3)
    late = _shutdown(feed)
    u.accept(late)

    assert u.delivery_holes() == [DeliveryHole(segment=1, expected=2, got=5, missing=3, recv_ts=late.recv_ts)]
    assert (u.counters.holes, u.counters.missing) == (1, 3)
    row = u.db.execute("SELECT * FROM delivery_holes").fetchone()
    assert (row["expected_delivery_seq"], row["got_delivery_seq"], row["missing"]) == (2, 5, 3)
    hole_event = [e for e in u.events() if e.event_type == "delivery_hole"]
    assert len(hole_event) == 1
    assert json.loads(hole_event[0].payload)["missing"] == 3
    assert [e.seq for e in u.events()] == [1, 2, 3]  # the hole row takes its place in the contiguous seq


def test_facts_before_the_first_one_received_count_as_missing() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    feed.skip(2)
    u.accept(_shutdown(feed))

    assert [(h.expected, h.got) for h in u.delivery_holes()] == [(1, 3)]


def test_gap_free_delivery_records_no_hole() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept_batch([_shutdown(feed) for _ in range(5)])

    assert u.delivery_holes() == []
    assert u.db.execute("SELECT COUNT(*) FROM delivery_holes").fetchone()[0] == 0


def test_a_redelivered_envelope_is_logged_but_not_processed_twice() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    first, second = _shutdown(feed), _shutdown(feed)
    u.accept_batch([first, second])
    u.accept_batch([first, second])  # the outbox retried a batch it could not confirm

    assert len(u.events()) == 2
    assert u.counters.redeliveries == 2
    assert u.delivery_holes() == []
    flags = [r["redelivery"] for r in u.db.execute("SELECT redelivery FROM facts ORDER BY fact_id")]
    assert flags == [0, 0, 1, 1]


def test_a_new_pa_run_restarting_delivery_seq_is_a_reset_not_a_redelivery() -> None:
    u = ReferenceU(":memory:")
    old_run = Feed()
    u.accept_batch([_shutdown(old_run), _shutdown(old_run)])
    new_run = Feed(start_recv_ts=1_796_000_000_000_000_000)
    u.accept(_shutdown(new_run))

    assert u.counters.resets == 1
    assert len(u.events()) == 3
    assert u.delivery_holes() == []
    reset = u.db.execute("SELECT * FROM delivery_resets").fetchone()
    assert (reset["old_segment"], reset["last_delivery_seq"], reset["got_delivery_seq"]) == (1, 2, 1)


def _tenure(feed: Feed, run_id: str, lease_epoch: int) -> FactEnvelope:
    return msgspec.structs.replace(_shutdown(feed), run_id=run_id, lease_epoch=lease_epoch)


def test_a_deposed_tenure_s_late_facts_are_flagged_and_open_no_false_hole() -> None:
    # Failover (ADR 0012): run A (lease epoch 5) is deposed, run B (epoch 9) takes over; A's last facts reach U
    # after B's first ones. They are kept and flagged; B's numbering sees neither a hole nor a restart.
    u = ReferenceU(":memory:")
    run_a, run_b = Feed(), Feed(start_recv_ts=1_796_000_000_000_000_000)
    u.accept_batch([_tenure(run_a, "run-a", 5) for _ in range(3)])
    u.accept_batch([_tenure(run_b, "run-b", 9) for _ in range(2)])
    late = [_tenure(run_a, "run-a", 5) for _ in range(2)]  # A's delivery_seq 4 and 5, written after it lost the lease
    u.accept_batch(late)
    u.accept_batch(late)  # and re-delivered: not taken twice
    u.accept(_tenure(run_b, "run-b", 9))

    assert u.delivery_holes() == []
    assert (u.counters.resets, u.counters.fenced, u.counters.redeliveries) == (1, 2, 2)
    rows = u.db.execute("SELECT run_id, delivery_seq, fenced FROM facts WHERE redelivery = 0 ORDER BY fact_id")
    assert [tuple(r) for r in rows] == [
        ("run-a", 1, 0), ("run-a", 2, 0), ("run-a", 3, 0), ("run-b", 1, 0), ("run-b", 2, 0),
        ("run-a", 4, 1), ("run-a", 5, 1), ("run-b", 3, 0),
    ]  # fmt: skip
    assert len(u.events()) == 8  # flagged, not refused: each is still a message Tradovate sent


def test_a_new_run_id_is_a_reset_even_when_its_numbering_does_not_go_back() -> None:
    u = ReferenceU(":memory:")
    run_a, run_b = Feed(), Feed(start_recv_ts=1_796_000_000_000_000_000)
    u.accept(_tenure(run_a, "run-a", 5))
    run_b.skip(4)  # run B's first facts were lost on the way: 1..4 never reached U
    u.accept(_tenure(run_b, "run-b", 9))

    assert u.counters.resets == 1
    assert [(h.segment, h.expected, h.got) for h in u.delivery_holes()] == [(2, 1, 5)]


async def test_run_consumes_the_fact_queue_in_order() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    queue: asyncio.Queue[FactEnvelope] = asyncio.Queue()
    facts = [_shutdown(feed) for _ in range(3)]
    for fact in facts:
        queue.put_nowait(fact)
    task = asyncio.create_task(u.run(queue))
    try:
        await asyncio.wait_for(u.wait_until(lambda: u.counters.facts == 3), timeout=2)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    seqs = [r["delivery_seq"] for r in u.db.execute("SELECT delivery_seq FROM facts ORDER BY fact_id")]
    assert seqs == [1, 2, 3]
    assert queue.empty()


async def test_u_is_a_fact_sink() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    await u.deliver([_shutdown(feed), _shutdown(feed)])

    assert u.counters.facts == 2
