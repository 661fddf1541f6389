"""Reference Paper: relays U's LIVE EventStream, in seq order, to OE (the U -> Paper -> OE path of spec 2.1).

In the real system Paper is also the SIM EventStream writer; here it only relays LIVE rows, and fails
loudly if U's stream ever skips or repeats a seq (the canonical stream would be broken).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from pa_harness.reference.records import LIVE, EventRecord


class EventFeed(Protocol):
    """Where Paper reads EventStream rows (ReferenceU implements it)."""

    def subscribe_events(self, mode: str = LIVE, from_seq: int = 1) -> asyncio.Queue[EventRecord]:
        """A queue of rows from `from_seq` on."""
        ...

    def unsubscribe_events(self, queue: asyncio.Queue[EventRecord]) -> None:
        """Stop feeding `queue`."""
        ...


class EventStreamOutOfOrder(RuntimeError):
    """U's EventStream skipped or repeated a seq: Paper stops rather than relay a broken stream."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"EventStream seq {got} arrived where {expected} was due")
        self.expected = expected
        self.got = got


class ReferencePaper:
    """Relays LIVE EventStream rows to every subscriber, each of which sees them all, in seq order."""

    def __init__(self, feed: EventFeed) -> None:
        self._feed = feed
        self._relayed: list[EventRecord] = []
        self._subscribers: list[asyncio.Queue[EventRecord]] = []

    async def run(self) -> None:
        """Relay until cancelled; resumes after the last relayed seq if run again."""
        source = self._feed.subscribe_events(LIVE, from_seq=self.last_seq + 1)
        try:
            while True:
                record = await source.get()
                if record.seq != self.last_seq + 1:
                    raise EventStreamOutOfOrder(self.last_seq + 1, record.seq)
                self._relayed.append(record)
                for queue in self._subscribers:
                    queue.put_nowait(record)
        finally:
            self._feed.unsubscribe_events(source)

    def subscribe(self) -> asyncio.Queue[EventRecord]:
        """A queue of every relayed row: those already relayed first, then each new one."""
        queue: asyncio.Queue[EventRecord] = asyncio.Queue()  # unbounded: a harness, rows are small
        for record in self._relayed:
            queue.put_nowait(record)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EventRecord]) -> None:
        """Stop feeding `queue`."""
        self._subscribers = [q for q in self._subscribers if q is not queue]

    @property
    def last_seq(self) -> int:
        """The seq of the last relayed row (0 before the first)."""
        return self._relayed[-1].seq if self._relayed else 0

    def relayed(self) -> list[EventRecord]:
        """Every row relayed so far, in seq order."""
        return list(self._relayed)
