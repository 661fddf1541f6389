"""U's fact consumer keeps consuming through every kind of empty fetch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from platform_adapter.transport.nats import Module, NatsFactConsumer, NatsFactSink, ensure_fact_stream

from .conftest import ConnectAs
from .envelopes import facts
from .test_facts import Collected


class EmptyFirstFetch:
    """A pull subscription whose first fetch comes back empty the way nats-py 2.16's sometimes does."""

    # Seen with a 0.1 s fetch timeout on a loaded host: `fetch` raises a bare `asyncio.TimeoutError` when its
    # deadline runs out between its no-wait and its waiting pull request, and returns [] when a status left
    # by an earlier, expired pull request ends the waiting one.

    def __init__(self, subscription: Any, how: str) -> None:
        self._subscription = subscription
        self._how = how
        self.happened = False

    async def fetch(self, batch: int, timeout: float) -> Any:
        if not self.happened:
            self.happened = True
            if self._how == "asyncio_timeout":
                raise TimeoutError
            return []
        return await self._subscription.fetch(batch, timeout=timeout)


class JetStreamWithAnEmptyFirstFetch:
    """U's JetStream context, its pull subscription wrapped in `EmptyFirstFetch`."""

    def __init__(self, js: Any, how: str) -> None:
        self._js = js
        self._how = how
        self.subscription: EmptyFirstFetch | None = None

    async def stream_info(self, name: str) -> Any:
        return await self._js.stream_info(name)

    async def pull_subscribe(self, *args: Any, **kwargs: Any) -> EmptyFirstFetch:
        self.subscription = EmptyFirstFetch(await self._js.pull_subscribe(*args, **kwargs), self._how)
        return self.subscription


@pytest.mark.parametrize("how", ["asyncio_timeout", "empty_list"])
async def test_an_empty_fetch_of_either_kind_is_nothing_new_and_consuming_goes_on(
    connect_as: ConnectAs, how: str
) -> None:
    pa = await connect_as(Module.PA)
    await ensure_fact_stream(pa.jetstream())
    await NatsFactSink(pa).deliver(facts(1, 10))
    js = JetStreamWithAnEmptyFirstFetch((await connect_as(Module.U)).jetstream(), how)
    collected = Collected()
    consumer = NatsFactConsumer(js, collected.accept_batch, fetch_timeout_s=0.2)

    consuming = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(10):
            await consumer.wait_consumed(10)
    finally:
        consuming.cancel()

    assert js.subscription is not None and js.subscription.happened
    assert collected.seqs == list(range(1, 11))
