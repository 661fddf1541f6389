"""A stop request that nats-py loses on the way still stops the PA's ports and U's consumer.

Each fake below stands for a nats-py wait that, on Python 3.11, returns or times out instead of raising
CancelledError when the cancellation coincides with a message or its timeout (`cancellation` module).
"""

from __future__ import annotations

import asyncio
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError

from platform_adapter.mic import AckStatus, HealthSignal, HealthState, Intent, ReceiptAck
from platform_adapter.transport.nats import NatsFactConsumer, NatsFactSink, NatsHealthSink, NatsIntentSource

from .envelopes import facts
from .test_facts import Collected


class LostCancel:
    """A wait for something that never comes, which loses the first cancellation it receives."""

    def __init__(self, outcome: Any = None) -> None:
        self._outcome = outcome  # what the wait gives back instead: a value, or an exception to raise
        self.entered = asyncio.Event()
        self.lost = False

    async def wait(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if self.lost:
                raise
            self.lost = True
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


async def cancel_and_wait(task: asyncio.Task[Any], lost: LostCancel) -> None:
    """Cancel `task` while it waits in `lost`, and give it 5 s to end (then cancel it again, for cleanup)."""
    async with asyncio.timeout(5):
        await lost.entered.wait()
    task.cancel()
    try:
        async with asyncio.timeout(5):
            await asyncio.wait({task})
    finally:
        task.cancel()  # without the guard it runs on; a second request reaches it
        await asyncio.wait({task})
    assert lost.lost


class Subscription:
    """A nats-py subscription stand-in: `next_msg` and `fetch` wait in `lost`."""

    def __init__(self, lost: LostCancel) -> None:
        self.next_msg = lost.wait
        self.fetch = lost.wait

    async def unsubscribe(self) -> None:
        return None


class Client:
    """Just enough of a nats-py client (and of its JetStream context) for one port, waits going to `lost`."""

    def __init__(self, lost: LostCancel) -> None:
        self._lost = lost
        self.stream_info = lost.wait
        self.consumer_info = lost.wait

    def jetstream(self, **options: Any) -> Client:
        return self

    def new_inbox(self) -> str:
        return "_INBOX.pa.test"

    async def subscribe(self, *args: Any, **kwargs: Any) -> Subscription:
        return Subscription(self._lost)

    async def pull_subscribe_bind(self, *args: Any, **kwargs: Any) -> Subscription:
        return Subscription(self._lost)

    async def publish(self, *args: Any, **kwargs: Any) -> None:
        return None


async def test_u_s_consumer_stops_though_its_fetch_lost_the_cancellation() -> None:
    lost = LostCancel(outcome=[])  # nats-py's fetch then returns nothing
    client = Client(lost)
    client.consumer_info = _exists  # the durable is there: the wait to lose is the fetch
    consumer = NatsFactConsumer(client, Collected().accept_batch)
    consuming = asyncio.create_task(consumer.run())

    await cancel_and_wait(consuming, lost)

    assert consuming.cancelled()


async def test_the_health_sink_stops_its_task_though_the_kv_put_lost_the_cancellation() -> None:
    lost = LostCancel()

    class Bucket:
        put = lost.wait

    sink = NatsHealthSink(Client(lost), Bucket(), kv_timeout_s=30)
    now = 1_764_081_000_000_000_000
    signal = HealthSignal(state=HealthState.UP, halt_required=False, since=now, ts=now, seq=1)

    async def health_monitor() -> None:  # as HealthMonitor.run: publish, then wait for the next change
        await sink.publish(signal)
        await asyncio.Event().wait()

    publishing = asyncio.create_task(health_monitor())

    await cancel_and_wait(publishing, lost)

    assert publishing.cancelled()


async def test_the_intent_source_stops_though_its_subscription_barrier_lost_the_cancellation() -> None:
    lost = LostCancel(outcome=NatsTimeoutError())  # the barrier's next_msg then times out
    source = NatsIntentSource(Client(lost))

    async def handler(intent: Intent, sender: str) -> ReceiptAck:
        return ReceiptAck(intent_id=intent.intent_id, status=AckStatus.ACCEPTED, received_ts=0, acked_ts=0)

    serving = asyncio.create_task(source.serve(handler))

    await cancel_and_wait(serving, lost)

    assert serving.cancelled()
    assert not source.ready.is_set()


async def test_the_fact_sink_reports_a_lost_cancellation_as_a_cancellation_not_a_delivery_failure() -> None:
    lost = LostCancel(outcome=NatsTimeoutError())  # reading the stream's tail then times out
    sink = NatsFactSink(Client(lost))
    delivering = asyncio.create_task(sink.deliver(facts(1, 3)))

    await cancel_and_wait(delivering, lost)

    assert delivering.cancelled()
    assert sink.counters.failures == 0


async def _exists(*names: str) -> None:
    return None
