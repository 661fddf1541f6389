"""U's fact consumer: through every kind of empty fetch it consumes on; what is not the PA's fact it refuses."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from platform_adapter.mic.codec import encode
from platform_adapter.transport.nats import (
    FactDecodeError,
    ForeignFactError,
    Module,
    NatsFactConsumer,
    NatsFactSink,
    imported_jetstream,
)
from platform_adapter.transport.nats.subjects import MSG_ID_HEADER, fact_subject

from .conftest import ConnectAs
from .envelopes import RUN_ID, fact, facts
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

    async def consumer_info(self, stream: str, durable: str) -> Any:
        return await self._js.consumer_info(stream, durable)

    async def pull_subscribe_bind(self, *args: Any, **kwargs: Any) -> EmptyFirstFetch:
        self.subscription = EmptyFirstFetch(await self._js.pull_subscribe_bind(*args, **kwargs), self._how)
        return self.subscription


@pytest.mark.parametrize("how", ["asyncio_timeout", "empty_list"])
async def test_an_empty_fetch_of_either_kind_is_nothing_new_and_consuming_goes_on(
    connect_as: ConnectAs, how: str
) -> None:
    pa = await connect_as(Module.PA)
    await NatsFactSink(pa).deliver(facts(1, 10))
    js = JetStreamWithAnEmptyFirstFetch(imported_jetstream(await connect_as(Module.U)), how)
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


async def consume_until_refused(connect_as: ConnectAs, collected: Collected) -> BaseException:
    """Run U's consumer until it stops on a message it refuses; that refusal."""
    consumer = NatsFactConsumer(
        imported_jetstream(await connect_as(Module.U)), collected.accept_batch, fetch_timeout_s=0.2
    )
    consuming = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(10):
            await asyncio.wait({consuming})
    finally:
        consuming.cancel()  # a consumer that took everything runs on: the test has failed, stop it
    error = consuming.exception()
    assert error is not None
    return error


@pytest.mark.parametrize(
    ("subject", "msg_id", "problem"),
    [
        # A fill whose envelope claims another contract than its subject (a reflected or re-routed message).
        ("pa.facts.market.quote.c9999", f"{RUN_ID}-4", "subject"),
        # The PA's next dedupe id on a fact of another number (an id pre-empted for a fact it is not).
        (None, f"{RUN_ID}-5", "Nats-Msg-Id"),
        (None, None, "Nats-Msg-Id"),
    ],
    ids=["subject-not-the-envelope-s", "msg-id-not-the-envelope-s", "no-msg-id"],
)
async def test_a_message_not_published_as_the_pa_publishes_its_fact_is_refused_and_nothing_after_it_taken(
    connect_as: ConnectAs, subject: str | None, msg_id: str | None, problem: str
) -> None:
    pa = await connect_as(Module.PA)  # the PA account's own identity: nothing outside the account can write here
    await NatsFactSink(pa).deliver(facts(1, 3))
    odd = fact(4)
    headers = {MSG_ID_HEADER: msg_id} if msg_id is not None else {}
    await pa.jetstream().publish(subject or fact_subject(odd), encode(odd), headers=headers)
    await pa.jetstream().publish(fact_subject(fact(5)), encode(fact(5)), headers={MSG_ID_HEADER: f"{RUN_ID}-5"})
    collected = Collected()

    refused = await consume_until_refused(connect_as, collected)

    assert isinstance(refused, ForeignFactError)
    assert refused.stream_seq == 4
    assert problem in refused.problem
    assert collected.seqs == [1, 2, 3]  # the facts before it are U's; neither it nor anything after it


async def test_a_message_that_is_no_fact_envelope_is_refused_after_the_facts_before_it(connect_as: ConnectAs) -> None:
    pa = await connect_as(Module.PA)
    await NatsFactSink(pa).deliver(facts(1, 2))
    await pa.jetstream().publish("pa.facts.market.fill.c1", b'{"fake":true}', headers={MSG_ID_HEADER: f"{RUN_ID}-3"})
    collected = Collected()

    refused = await consume_until_refused(connect_as, collected)

    assert isinstance(refused, FactDecodeError)
    assert refused.stream_seq == 3
    assert collected.seqs == [1, 2]
