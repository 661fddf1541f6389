"""The embedded default transport: in-process queues behind the same ports as NATS.

Facts go into a bounded queue that U reads (`await queue.get()`); a full queue makes `deliver` wait,
which is the backpressure the outbox watches. Intents are direct calls that carry the caller's identity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from platform_adapter.core.ports import IntentHandler
from platform_adapter.mic import FactEnvelope, HealthSignal, Intent, ReceiptAck


class InProcFactChannel:
    """PA -> U facts. The PA side is `deliver`; U reads `queue`."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.queue: asyncio.Queue[FactEnvelope] = asyncio.Queue(maxsize=maxsize)
        self.delivered = 0

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        """Put every fact of the batch on U's queue, in order, waiting while it is full."""
        queue = self.queue
        for envelope in batch:
            if queue.full():
                await queue.put(envelope)  # U is behind: wait for room (the outbox keeps the rest)
            else:
                queue.put_nowait(envelope)  # no coroutine per fact while there is room
            self.delivered += 1


class InProcHealthChannel:
    """PA -> OE health. Keeps the latest signal for a late joiner, and fans out to subscriber queues."""

    def __init__(self) -> None:
        self.latest: HealthSignal | None = None
        self._subscribers: list[asyncio.Queue[HealthSignal]] = []

    def subscribe(self) -> asyncio.Queue[HealthSignal]:
        """A queue receiving every later signal (the current one first, if any)."""
        queue: asyncio.Queue[HealthSignal] = asyncio.Queue()
        if self.latest is not None:
            queue.put_nowait(self.latest)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[HealthSignal]) -> None:
        """Stop feeding `queue`."""
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    async def publish(self, signal: HealthSignal) -> None:
        """Record and fan out one signal (health signals are small and rare: unbounded queues are fine)."""
        self.latest = signal
        for queue in self._subscribers:
            queue.put_nowait(signal)


class InProcIntentChannel:
    """OE -> PA intents as direct calls. `call` is what a module holds; only OE's identity is honoured."""

    def __init__(self) -> None:
        self._handler: IntentHandler | None = None
        self._ready = asyncio.Event()

    async def serve(self, handler: IntentHandler) -> None:
        """Install the PA's handler and serve until cancelled."""
        self._handler = handler
        self._ready.set()
        try:
            await asyncio.Event().wait()
        finally:
            self._handler = None
            self._ready.clear()

    async def call(self, intent: Intent, sender: str, *, serve_timeout_s: float = 30.0) -> ReceiptAck:
        """Send one intent as `sender` and return the PA's receipt-ack.

        Waits up to `serve_timeout_s` for the PA to serve; raises TimeoutError if it does not (nothing sent).
        """
        async with asyncio.timeout(serve_timeout_s):
            await self._ready.wait()
        handler = self._handler
        if handler is None:
            raise TimeoutError("the PA stopped serving intents")
        return await handler(intent, sender)
