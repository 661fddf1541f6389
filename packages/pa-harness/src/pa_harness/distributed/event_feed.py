"""`NatsEventFeed`: U's EventStream as Paper reads it, from the `U_EVENTS` stream in another process."""

from __future__ import annotations

import asyncio

from pa_harness.distributed.relay import RecordFollower
from pa_harness.reference.records import LIVE, EventRecord


class NatsEventFeed:
    """Paper's EventFeed: every subscriber queue gets the followed rows of its mode from `from_seq` on."""

    def __init__(self, follower: RecordFollower[EventRecord]) -> None:
        self._follower = follower
        self._subscribers: list[tuple[str, int, asyncio.Queue[EventRecord]]] = []

    def subscribe_events(self, mode: str = LIVE, from_seq: int = 1) -> asyncio.Queue[EventRecord]:
        """A queue of rows of `mode` from `from_seq` on."""
        queue: asyncio.Queue[EventRecord] = asyncio.Queue()
        self._subscribers.append((mode, from_seq, queue))
        return queue

    def unsubscribe_events(self, queue: asyncio.Queue[EventRecord]) -> None:
        """Stop feeding `queue`."""
        self._subscribers = [entry for entry in self._subscribers if entry[2] is not queue]

    async def run(self) -> None:
        """Fan the follower's rows out until cancelled."""
        while True:
            record = await self._follower.queue.get()
            for mode, from_seq, queue in self._subscribers:
                if record.mode == mode and record.seq >= from_seq:
                    queue.put_nowait(record)
