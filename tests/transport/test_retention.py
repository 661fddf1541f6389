"""Facts-stream retention: with `interest` a full stream means U is behind, and U's ack frees it; its two costs.

`pa_admin` provisions the stream and U's durable together, so under `interest` the durable exists before the PA's
first fact; the PA refuses to start on an interest stream without it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats.js.api import RetentionPolicy
from nats.js.errors import BadRequestError

from platform_adapter.transport.nats import (
    DeliveryFailure,
    FactDeliveryError,
    FactStreamConfig,
    Module,
    NatsFactConsumer,
    NatsFactSink,
    PaAccountObjects,
    ProvisioningError,
    SetupIdentity,
    ensure_fact_stream,
    imported_jetstream,
    verify_fact_stream,
)
from platform_adapter.transport.nats.streams import U_FACT_DURABLE, ensure_durable
from platform_adapter.transport.nats.subjects import FACT_STREAM, U_FACT_CONSUMER

from .conftest import ConnectAs
from .envelopes import facts
from .test_facts import Collected, stream_state

INTEREST = RetentionPolicy.INTEREST


def provisioned(**limits: Any) -> PaAccountObjects:
    """The PA account as `pa_admin` provisions it, facts stream with these settings (U's durable with it)."""
    return PaAccountObjects(facts=FactStreamConfig(**limits))


async def emptied(js: Any) -> None:
    """Return once the stream holds no fact (bound it with a timeout)."""
    while True:
        if (await stream_state(js)).messages == 0:
            return
        await asyncio.sleep(0.01)  # the server applies U's ack to the stream just after confirming it


@pytest.mark.parametrize("pa_objects", [provisioned(max_msgs=20, retention=INTEREST)], ids=["interest"])
async def test_with_interest_retention_a_full_stream_means_u_is_behind_and_u_s_ack_frees_it(
    connect_as: ConnectAs,
) -> None:
    pa = await connect_as(Module.PA)
    js = pa.jetstream()
    u = await connect_as(Module.U)  # U's durable exists (provisioned), but U reads nothing yet
    sink = NatsFactSink(pa, window=8)

    with pytest.raises(FactDeliveryError) as refused:
        await sink.deliver(facts(1, 40))
    assert refused.value.failure is DeliveryFailure.STREAM_FULL
    assert (await stream_state(js)).messages == 20  # U has read none of them: the stream is full

    collected = Collected()
    consumer = NatsFactConsumer(imported_jetstream(u), collected.accept_batch, batch=15, fetch_timeout_s=0.2)
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


@pytest.mark.parametrize("pa_objects", [provisioned(retention=INTEREST)], ids=["interest"])
async def test_interest_retention_discards_facts_published_while_u_s_durable_is_missing_so_the_pa_refuses_that(
    connect_as: ConnectAs,
) -> None:
    # Why `pa_admin` provisions U's durable with the interest stream (docs/transport-nats.md §2).
    admin = (await connect_as(SetupIdentity.PA_ADMIN)).jetstream()
    await admin.delete_consumer(FACT_STREAM, U_FACT_CONSUMER)  # e.g. an operator removed it
    pa = await connect_as(Module.PA)
    js = pa.jetstream()

    await NatsFactSink(pa).deliver(facts(1, 10))  # acked by JetStream: the PA counts them as delivered

    state = await stream_state(js)
    assert (state.messages, state.last_seq) == (0, 10)  # ...yet nothing was kept: nobody had interest
    with pytest.raises(ProvisioningError, match="interest retention but U's durable 'u' does not exist"):
        await verify_fact_stream(js)  # which is why the PA does not start on such a stream


async def test_work_queue_retention_refuses_u_s_ack_all_consumer(connect_as: ConnectAs) -> None:
    # A work queue would keep facts until U acked them, consumer or not, but needs one ack per message.
    admin = (await connect_as(SetupIdentity.PA_ADMIN)).jetstream()
    await admin.delete_stream(FACT_STREAM)
    await ensure_fact_stream(admin, FactStreamConfig(retention=RetentionPolicy.WORK_QUEUE))

    with pytest.raises(BadRequestError) as refused:
        await ensure_durable(admin, FACT_STREAM, U_FACT_DURABLE)

    assert refused.value.err_code == 10098  # "workqueue stream requires explicit ack"
