"""Facts on JetStream: in order, exactly once under retries, refused when full, intact across a server crash."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from pa_harness.nats_server import NatsServer
from platform_adapter.mic import FactEnvelope
from platform_adapter.mic.codec import encode
from platform_adapter.transport.nats import (
    DeliveryFailure,
    FactDeliveryError,
    FactStreamConfig,
    Module,
    NatsFactConsumer,
    NatsFactSink,
    ensure_fact_stream,
)
from platform_adapter.transport.nats.publisher import PubAck
from platform_adapter.transport.nats.subjects import (
    EXPECTED_LAST_MSG_ID_HEADER,
    FACT_STREAM,
    MSG_ID_HEADER,
    fact_subject,
)

from .conftest import ConnectAs
from .envelopes import RUN_ID, facts


class Collected:
    """U's accept_batch stand-in: keeps every envelope in arrival order; `reached` is set at `last_seq`."""

    def __init__(self, last_seq: int = 0) -> None:
        self.envelopes: list[FactEnvelope] = []
        self.last_seq = last_seq
        self.reached = asyncio.Event()

    def accept_batch(self, batch: Sequence[FactEnvelope]) -> None:
        self.envelopes.extend(batch)
        if any(e.delivery_seq >= self.last_seq for e in batch):
            self.reached.set()

    @property
    def seqs(self) -> list[int]:
        return [e.delivery_seq for e in self.envelopes]

    def first_seen(self) -> list[int]:
        """Delivery seqs in arrival order, re-deliveries (after a lost consumer ack) left out."""
        return list(dict.fromkeys(self.seqs))


async def stream_state(js: Any) -> Any:
    return (await js.stream_info(FACT_STREAM)).state


async def consume_all(connect_as: ConnectAs, count: int, *, durable: str = "u") -> Collected:
    """Everything in the facts stream, read as U through the durable pull consumer."""
    u = await connect_as(Module.U)
    collected = Collected()
    consumer = NatsFactConsumer(u.jetstream(), collected.accept_batch, durable=durable, batch=256, fetch_timeout_s=0.2)
    task = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(10):
            await consumer.wait_consumed(count)
    finally:
        task.cancel()
    return collected


async def pa_sink(
    connect_as: ConnectAs, config: FactStreamConfig | None = None, **kwargs: Any
) -> tuple[Any, NatsFactSink]:
    pa = await connect_as(Module.PA)
    js = pa.jetstream()
    await ensure_fact_stream(js, config)
    return js, NatsFactSink(pa, **kwargs)


async def test_facts_reach_u_in_order_on_subjects_per_kind_and_contract(connect_as: ConnectAs) -> None:
    js, sink = await pa_sink(connect_as)
    batch = facts(1, 300)

    await sink.deliver(batch[:120])
    await sink.deliver(batch[120:])

    collected = await consume_all(connect_as, 300)
    assert collected.seqs == list(range(1, 301))
    assert collected.envelopes == batch
    first_event = await js.get_msg(FACT_STREAM, seq=5)
    assert first_event.subject == "pa.facts.platform_event.props.a701234"
    assert (await js.get_msg(FACT_STREAM, seq=1)).subject == "pa.facts.market.quote.c3512"
    assert fact_subject(batch[0]) == "pa.facts.market.quote.c3512"


async def test_same_batch_delivered_twice_is_stored_once(connect_as: ConnectAs) -> None:
    js, sink = await pa_sink(connect_as)
    batch = facts(1, 50)

    await sink.deliver(batch[:30])
    await sink.deliver(batch)  # the outbox re-sends a batch whose head was already acked
    await sink.deliver(batch)
    # A bare retry of one fact with the same message id, as after a lost ack: JetStream dedupes it.
    retry = await js.publish(fact_subject(batch[9]), b"{}", headers={MSG_ID_HEADER: f"{RUN_ID}-10"})

    assert retry.duplicate is True
    assert retry.seq == 10
    state = await stream_state(js)
    assert (state.messages, state.last_seq) == (50, 50)
    assert (await consume_all(connect_as, 50)).seqs == list(range(1, 51))


async def test_a_new_pa_run_does_not_collide_with_the_last_one(connect_as: ConnectAs) -> None:
    js, sink = await pa_sink(connect_as)
    await sink.deliver(facts(1, 20, run_id="run-a"))

    second_run = NatsFactSink(await connect_as(Module.PA))
    await second_run.deliver(facts(1, 20, run_id="run-b"))  # delivery_seq starts over; ids differ by run

    state = await stream_state(js)
    assert state.messages == 40


async def test_full_stream_refuses_deliver_raises_and_nothing_is_lost_once_space_frees(connect_as: ConnectAs) -> None:
    small = FactStreamConfig(max_msgs=20)
    js, sink = await pa_sink(connect_as, small, window=8)
    await sink.deliver(facts(1, 15))
    pending = facts(16, 40)

    with pytest.raises(FactDeliveryError) as refused:
        await sink.deliver(pending)

    assert refused.value.failure is DeliveryFailure.STREAM_FULL
    assert refused.value.msg_id == f"{RUN_ID}-21"
    assert refused.value.acked == 5
    assert (await stream_state(js)).messages == 20  # 16..20 stored, nothing after the refused one
    with pytest.raises(FactDeliveryError):
        await sink.deliver(pending)  # still full: the retry fails the same way, stores nothing out of order
    assert (await stream_state(js)).messages == 20

    await ensure_fact_stream(js, FactStreamConfig(max_msgs=100))  # space frees (an operator raises the limit)
    await sink.deliver(pending)

    state = await stream_state(js)
    assert (state.messages, state.last_seq) == (40, 40)
    assert (await consume_all(connect_as, 40)).seqs == list(range(1, 41))


async def test_server_crash_mid_stream_deliver_raises_then_every_fact_is_stored_once_in_order(
    nats_server: NatsServer, connect_as: ConnectAs
) -> None:
    halfway = asyncio.Event()

    def on_ack(msg_id: str, ack: PubAck) -> None:
        if ack.seq >= 1000:
            halfway.set()

    js, sink = await pa_sink(connect_as, window=64, ack_timeout_s=0.5, on_ack=on_ack)
    u = await connect_as(Module.U)
    collected = Collected(last_seq=4000)
    consumer = NatsFactConsumer(u.jetstream(), collected.accept_batch, batch=256, fetch_timeout_s=0.2)
    consuming = asyncio.create_task(consumer.run())
    batch = facts(1, 4000)
    first = asyncio.create_task(sink.deliver(batch))
    async with asyncio.timeout(10):
        await halfway.wait()

    await nats_server.kill()  # mid-batch: U is reading while the PA is still publishing
    with pytest.raises(FactDeliveryError) as down:
        await first
    assert down.value.failure in {DeliveryFailure.ACK_TIMEOUT, DeliveryFailure.NOT_CONNECTED}
    with pytest.raises(FactDeliveryError):
        await sink.deliver(batch)  # the outbox retries while the server is down: still refused

    await nats_server.start()
    async with asyncio.timeout(15):
        while True:  # the outbox's retry loop: the same batch until it is accepted
            try:
                await sink.deliver(batch)
                break
            except FactDeliveryError:
                continue
        await collected.reached.wait()
    consuming.cancel()

    state = await stream_state(js)
    assert (state.messages, state.first_seq, state.last_seq) == (4000, 1, 4000)
    assert collected.first_seen() == list(range(1, 4001))


async def test_a_fact_stored_without_its_ack_beyond_the_dedupe_window_is_found_at_the_tail_not_stored_again(
    connect_as: ConnectAs,
) -> None:
    js, sink = await pa_sink(connect_as, FactStreamConfig(duplicate_window_s=0.1))  # the server's minimum
    batch = facts(1, 10)
    await sink.deliver(batch[:5])
    # Fact 6 reached the stream but its ack never came back to the PA.
    lost_ack = {MSG_ID_HEADER: f"{RUN_ID}-6", EXPECTED_LAST_MSG_ID_HEADER: f"{RUN_ID}-5"}
    await js.publish(fact_subject(batch[5]), encode(batch[5]), headers=lost_ack)
    await asyncio.sleep(0.15)  # the scenario, not a synchronisation: the retry comes after the dedupe window

    with pytest.raises(FactDeliveryError) as guarded:
        await sink.deliver(batch[:6])  # a quiet market: fact 6 is the whole retry, and the guard refuses it
    assert guarded.value.failure is DeliveryFailure.ORDER_GUARD
    await sink.deliver(batch[:6])  # the retry re-reads the stream's tail: fact 6 is there, nothing to send
    await sink.deliver(batch)

    state = await stream_state(js)
    assert (state.messages, state.last_seq) == (10, 10)
    assert (await consume_all(connect_as, 10)).seqs == list(range(1, 11))
