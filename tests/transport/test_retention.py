"""Facts-stream retention: with `interest` a full stream means U is behind, and U's ack frees it; its two costs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy
from nats.js.errors import BadRequestError

from platform_adapter.transport.nats import (
    DeliveryFailure,
    FactDeliveryError,
    FactStreamConfig,
    Module,
    NatsFactConsumer,
    NatsFactSink,
    ensure_fact_stream,
)
from platform_adapter.transport.nats.subjects import FACT_STREAM, FACT_SUBJECTS, U_FACT_CONSUMER

from .conftest import ConnectAs
from .envelopes import facts
from .test_facts import Collected, stream_state

INTEREST = RetentionPolicy.INTEREST


def u_durable(ack_policy: AckPolicy = AckPolicy.ALL) -> ConsumerConfig:
    """U's durable consumer as `NatsFactConsumer` creates it (created here without reading from it)."""
    return ConsumerConfig(
        durable_name=U_FACT_CONSUMER,
        ack_policy=ack_policy,
        deliver_policy=DeliverPolicy.ALL,
        filter_subject=FACT_SUBJECTS,
    )


async def emptied(js: Any) -> None:
    """Return once the stream holds no fact (bound it with a timeout)."""
    while True:
        if (await stream_state(js)).messages == 0:
            return
        await asyncio.sleep(0.01)  # the server applies U's ack to the stream just after confirming it


async def test_with_interest_retention_a_full_stream_means_u_is_behind_and_u_s_ack_frees_it(
    connect_as: ConnectAs,
) -> None:
    pa = await connect_as(Module.PA)
    js = pa.jetstream()
    await ensure_fact_stream(js, FactStreamConfig(max_msgs=20, retention=INTEREST))
    u = await connect_as(Module.U)
    await u.jetstream().add_consumer(FACT_STREAM, u_durable())  # U is attached but reads nothing yet
    sink = NatsFactSink(pa, window=8)

    with pytest.raises(FactDeliveryError) as refused:
        await sink.deliver(facts(1, 40))
    assert refused.value.failure is DeliveryFailure.STREAM_FULL
    assert (await stream_state(js)).messages == 20  # U has read none of them: the stream is full

    collected = Collected()
    consumer = NatsFactConsumer(u.jetstream(), collected.accept_batch, batch=15, fetch_timeout_s=0.2)
    consuming = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(10):
            await consumer.wait_consumed(20)
            await emptied(js)  # U's ack removed what it acked
            await sink.deliver(facts(1, 40))  # the outbox's retry: the stored head is skipped
            await consumer.wait_consumed(40)
            await emptied(js)
    finally:
        consuming.cancel()

    assert collected.seqs == list(range(1, 41))  # every fact once, in order
    state = await stream_state(js)
    assert (state.messages, state.last_seq) == (0, 40)  # all consumed; each stored exactly once


async def test_interest_retention_discards_facts_published_before_u_s_durable_exists_though_each_was_acked(
    connect_as: ConnectAs,
) -> None:
    # Why the interest stream needs U's durable before the PA's first publish (docs/transport-nats.md §2).
    pa = await connect_as(Module.PA)
    js = pa.jetstream()
    await ensure_fact_stream(js, FactStreamConfig(retention=INTEREST))
    sink = NatsFactSink(pa)

    await sink.deliver(facts(1, 10))  # acked by JetStream: the PA counts them as delivered

    state = await stream_state(js)
    assert (state.messages, state.last_seq) == (0, 10)  # ...yet nothing was kept: nobody had interest


async def test_work_queue_retention_refuses_u_s_ack_all_consumer(connect_as: ConnectAs) -> None:
    # A work queue would keep facts until U acked them, consumer or not, but needs one ack per message.
    pa = await connect_as(Module.PA)
    await ensure_fact_stream(pa.jetstream(), FactStreamConfig(retention=RetentionPolicy.WORK_QUEUE))
    u = await connect_as(Module.U)

    with pytest.raises(BadRequestError) as refused:
        await u.jetstream().add_consumer(FACT_STREAM, u_durable(AckPolicy.ALL))

    assert refused.value.err_code == 10098  # "workqueue stream requires explicit ack"
