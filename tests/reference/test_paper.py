"""Paper relays U's LIVE EventStream to OE in seq order, and refuses to relay a broken stream."""

from __future__ import annotations

import asyncio

import pytest

from pa_harness.reference import EventRecord, EventStreamOutOfOrder, ReferencePaper, ReferenceU
from platform_adapter.mic import Stream
from tests.reference import samples
from tests.reference.samples import Feed


async def _take(queue: asyncio.Queue[EventRecord], n: int) -> list[EventRecord]:
    return [await asyncio.wait_for(queue.get(), timeout=2) for _ in range(n)]


async def test_paper_relays_every_live_row_in_seq_order() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    paper = ReferencePaper(u)
    out = paper.subscribe()
    task = asyncio.create_task(paper.run())
    try:
        u.accept_batch([feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT), feed.gap()])
        u.accept(feed.event(Stream.PROPS, samples.PROPS_ORDER_EVENT))
        relayed = await _take(out, 3)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert [r.seq for r in relayed] == [1, 2, 3]
    assert relayed == u.events()
    assert paper.last_seq == 3


async def test_a_late_subscriber_gets_the_rows_already_relayed_first() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept_batch([feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT) for _ in range(2)])
    paper = ReferencePaper(u)
    early = paper.subscribe()
    task = asyncio.create_task(paper.run())
    try:
        await _take(early, 2)
        late = paper.subscribe()
        u.accept(feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT))
        relayed = await _take(late, 3)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert [r.seq for r in relayed] == [1, 2, 3]


class _BrokenFeed:
    """An EventStream that skips seq 2."""

    def __init__(self, records: list[EventRecord]) -> None:
        self._records = records

    def subscribe_events(self, mode: str = "LIVE", from_seq: int = 1) -> asyncio.Queue[EventRecord]:
        queue: asyncio.Queue[EventRecord] = asyncio.Queue()
        for record in self._records:
            queue.put_nowait(record)
        return queue

    def unsubscribe_events(self, queue: asyncio.Queue[EventRecord]) -> None:
        pass


async def test_paper_stops_on_a_skipped_seq_instead_of_relaying_a_broken_stream() -> None:
    def row(seq: int) -> EventRecord:
        return EventRecord(
            event_id=f"e{seq}", event_ts=0, mode="LIVE", source="U", event_type="shutdown", payload="{}", seq=seq
        )

    paper = ReferencePaper(_BrokenFeed([row(1), row(3)]))
    out = paper.subscribe()

    with pytest.raises(EventStreamOutOfOrder) as raised:
        await asyncio.wait_for(paper.run(), timeout=2)

    assert (raised.value.expected, raised.value.got) == (2, 3)
    assert [r.seq for r in await _take(out, 1)] == [1]
    assert out.empty()
