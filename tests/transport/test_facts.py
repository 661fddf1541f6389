"""Facts on JetStream: in order, exactly once under retries, refused when full, intact across a server crash."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
import pytest
from nats.js.api import RetentionPolicy

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
    PaAccountObjects,
    imported_jetstream,
)
from platform_adapter.transport.nats.publisher import PubAck
from platform_adapter.transport.nats.subjects import (
    EXPECTED_LAST_MSG_ID_HEADER,
    FACT_STREAM,
    MSG_ID_HEADER,
    fact_subject,
)

from .conftest import ConnectAs
from .envelopes import RUN_ID, fact, facts


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


def facts_stream(**limits: Any) -> PaAccountObjects:
    """The PA account as `pa_admin` provisions it, with these facts stream limits."""
    return PaAccountObjects(facts=FactStreamConfig(**limits))


async def consume_all(connect_as: ConnectAs, count: int) -> Collected:
    """Everything in the facts stream, read as U through its durable pull consumer (the PA account's export)."""
    u = await connect_as(Module.U)
    collected = Collected()
    consumer = NatsFactConsumer(imported_jetstream(u), collected.accept_batch, batch=256, fetch_timeout_s=0.2)
    task = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(10):
            await consumer.wait_consumed(count)
    finally:
        task.cancel()
    return collected


async def pa_sink(connect_as: ConnectAs, **kwargs: Any) -> tuple[Any, NatsFactSink]:
    """The PA's sink, as `pa`, on the stream `pa_admin` provisioned; and the PA's JetStream context."""
    pa = await connect_as(Module.PA)
    return pa.jetstream(), NatsFactSink(pa, **kwargs)


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


@pytest.mark.parametrize("pa_objects", [facts_stream(max_msgs=20)], ids=["max_msgs=20"])
async def test_full_stream_refuses_deliver_raises_and_nothing_is_lost_once_space_frees(
    nats_server: NatsServer, connect_as: ConnectAs
) -> None:
    js, sink = await pa_sink(connect_as, window=8)
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

    await nats_server.provision(facts_stream(max_msgs=100))  # space frees (an operator raises the limit)
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
    consumer = NatsFactConsumer(imported_jetstream(u), collected.accept_batch, batch=256, fetch_timeout_s=0.2)
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


@pytest.mark.parametrize("pa_objects", [facts_stream(duplicate_window_s=0.1)], ids=["dedupe=0.1s"])  # the minimum
async def test_a_fact_stored_without_its_ack_beyond_the_dedupe_window_is_found_at_the_tail_not_stored_again(
    connect_as: ConnectAs,
) -> None:
    js, sink = await pa_sink(connect_as)
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


def forged_fill(seq: int) -> FactEnvelope:
    """A fill as a forger would write it: a well-formed envelope carrying the PA's run id and delivery_seq `seq`."""
    return msgspec.structs.replace(
        fact(seq), payload=msgspec.Raw(b'{"e":"props","d":{"entityType":"fill","forged":1}}')
    )


async def write_as_intruder(connect_as: ConnectAs, envelope: FactEnvelope, **headers: str) -> None:
    """Store `envelope` in the facts stream as another writer than the sink (a second `pa` connection).

    Only the PA account may write the stream: this plays whatever could still get there, a compromised identity of
    the PA's own account, or (in a single-account layout, as the prototype study showed) a reflected delivery.
    """
    intruder = (await connect_as(Module.PA)).jetstream()
    await intruder.publish(fact_subject(envelope), encode(envelope), headers=headers)


async def failures_of_three_retries(sink: NatsFactSink, batch: list[FactEnvelope]) -> list[DeliveryFailure]:
    """What the outbox's first three attempts at `batch` fail with (each must fail)."""
    failures = []
    for _ in range(3):
        with pytest.raises(FactDeliveryError) as refused:
            await sink.deliver(batch)
        failures.append(refused.value.failure)
    return failures


@pytest.mark.parametrize(
    ("forged_seq", "first_failure", "messages"),
    [
        # The forged fact takes fact 4's very slot: facts 5 and 6, already in flight, are stored behind it (their
        # guard names fact 4's id and slot); the first ack after the refused fact 4 shows what holds that slot.
        (4, DeliveryFailure.FOREIGN_MESSAGE, 6),
        (5, DeliveryFailure.FOREIGN_MESSAGE, 4),  # fact 5 comes back "duplicate" of the forged message
        (10, DeliveryFailure.ORDER_GUARD, 4),  # then the tail: fact 10 of this run, which the PA never published
    ],
    ids=["next-id", "next-but-one-id", "id-not-yet-in-any-batch"],
)
async def test_a_foreign_tail_carrying_one_of_the_pa_s_ids_never_makes_the_sink_skip_a_fact_or_count_it_stored(
    connect_as: ConnectAs, forged_seq: int, first_failure: DeliveryFailure, messages: int
) -> None:
    js, sink = await pa_sink(connect_as, ack_timeout_s=2)
    await sink.deliver(facts(1, 3))
    await write_as_intruder(connect_as, forged_fill(forged_seq), **{MSG_ID_HEADER: f"{RUN_ID}-{forged_seq}"})

    failures = await failures_of_three_retries(sink, facts(4, 6))

    # Before these checks the sink skipped the facts up to the forged id as "stored" (or went on after it): U never
    # saw them, and got the forged fill in their place. Now the sink fails, and stays failed (the PA degraded,
    # halt required) until an operator has looked at the stream.
    assert failures == [first_failure, DeliveryFailure.FOREIGN_MESSAGE, DeliveryFailure.FOREIGN_MESSAGE]
    assert (sink.counters.acked, sink.counters.duplicates) == (3, 0)  # 4..6 never counted as delivered
    assert (await stream_state(js)).messages == messages


async def test_a_duplicate_ack_for_a_message_that_is_not_the_fact_is_a_failure_not_a_delivery(
    connect_as: ConnectAs,
) -> None:
    js, sink = await pa_sink(connect_as, ack_timeout_s=2)
    await sink.deliver(facts(1, 2))
    # A forged fact 4 first, then an exact copy of the PA's fact 3 after it: the tail is fact 3 as the PA wrote it,
    # so the sink goes on from there, and JetStream answers fact 4 with "duplicate" of the forged message.
    await write_as_intruder(connect_as, forged_fill(4), **{MSG_ID_HEADER: f"{RUN_ID}-4"})
    await write_as_intruder(connect_as, fact(3), **{MSG_ID_HEADER: f"{RUN_ID}-3"})

    failures = await failures_of_three_retries(sink, facts(3, 5))

    assert failures == [DeliveryFailure.ORDER_GUARD, DeliveryFailure.FOREIGN_MESSAGE, DeliveryFailure.FOREIGN_MESSAGE]
    assert sink.counters.duplicates == 0  # the duplicate was never counted as the fact
    assert (await stream_state(js)).messages == 4  # fact 5 was not stored behind it


@pytest.mark.parametrize("pa_objects", [PaAccountObjects(facts=FactStreamConfig(retention=RetentionPolicy.INTEREST))])
async def test_a_duplicate_of_a_fact_u_consumed_and_the_stream_dropped_is_delivered(connect_as: ConnectAs) -> None:
    js, sink = await pa_sink(connect_as)
    batch = facts(1, 5)
    collected = Collected(last_seq=5)
    u = NatsFactConsumer(imported_jetstream(await connect_as(Module.U)), collected.accept_batch, fetch_timeout_s=0.2)
    consuming = asyncio.create_task(u.run())
    try:
        # Fact 1 reached the stream but its ack never came back; U consumed it, and interest retention dropped it.
        await js.publish(fact_subject(batch[0]), encode(batch[0]), headers={MSG_ID_HEADER: f"{RUN_ID}-1"})
        async with asyncio.timeout(5):
            await u.wait_consumed(1)
            while (await stream_state(js)).messages:  # noqa: ASYNC110 - the server applies U's ack just after it
                await asyncio.sleep(0.01)

        # Fact 1 comes back "duplicate" of a message no longer held, which U's ack floor covers: stored. Fact 2 was
        # sent expecting fact 1 at a new sequence; the retry goes on from fact 1.
        with pytest.raises(FactDeliveryError) as first:
            await sink.deliver(batch)
        assert first.value.failure is DeliveryFailure.ORDER_GUARD
        await sink.deliver(batch)
        async with asyncio.timeout(5):
            await collected.reached.wait()
    finally:
        consuming.cancel()

    assert (sink.counters.duplicates, sink.counters.acked) == (1, 4)
    assert collected.seqs == [1, 2, 3, 4, 5]
