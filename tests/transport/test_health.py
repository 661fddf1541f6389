"""Health on NATS: every signal on the subject, the current one in KV for a late-joining OE, silence fails closed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from pa_harness.nats_server import NatsServer
from platform_adapter.mic import HealthReason, HealthSignal, HealthState
from platform_adapter.mic.codec import decode_health, encode
from platform_adapter.transport.nats import (
    Module,
    NatsHealthFollower,
    NatsHealthSink,
    SetupIdentity,
    open_health_bucket,
)
from platform_adapter.transport.nats.connection import sync_with_server
from platform_adapter.transport.nats.health_follower import LOCAL_SEQ
from platform_adapter.transport.nats.subjects import HEALTH_STREAM, HEALTH_SUBJECT

from .conftest import ConnectAs


def signal(seq: int, state: HealthState, *, age_s: float = 0.0) -> HealthSignal:
    ts = time.time_ns() - int(age_s * 1e9)
    halt = state is not HealthState.UP
    reasons = (HealthReason.SOCKET_CLOSED,) if halt else ()
    return HealthSignal(state=state, halt_required=halt, since=ts, ts=ts, seq=seq, reasons=reasons)


@pytest.fixture
async def pa_health(connect_as: ConnectAs) -> NatsHealthSink:
    """The PA's health sink, logged in as `pa`, on the bucket `pa_admin` provisioned."""
    pa = await connect_as(Module.PA)
    return NatsHealthSink(pa, await open_health_bucket(pa.jetstream()), kv_timeout_s=0.3)


@pytest.fixture
async def follow(connect_as: ConnectAs) -> AsyncIterator[Any]:
    """`await follow(stale_after_s=...)`: an OE health follower, logged in as `oe`, running."""
    tasks: list[asyncio.Task[None]] = []

    async def _follow(stale_after_s: float = 15.0) -> NatsHealthFollower:
        oe = await connect_as(Module.OE)
        follower = NatsHealthFollower(oe, stale_after_s=stale_after_s, bucket_wait_s=5)
        tasks.append(asyncio.create_task(follower.run()))
        async with asyncio.timeout(5):
            await follower.ready.wait()
        return follower

    yield _follow
    for task in tasks:
        task.cancel()


async def next_signal(follower: NatsHealthFollower) -> HealthSignal:
    async with asyncio.timeout(5):
        return await follower.queue.get()


async def test_late_joining_oe_reads_the_current_health_from_kv(pa_health: NatsHealthSink, follow: Any) -> None:
    await pa_health.publish(signal(1, HealthState.UP))
    degraded = signal(2, HealthState.DEGRADED)
    await pa_health.publish(degraded)

    follower = await follow()  # OE starts after both signals were published

    assert await next_signal(follower) == degraded
    up_again = signal(3, HealthState.UP)
    await pa_health.publish(up_again)
    assert await next_signal(follower) == up_again


async def test_every_signal_goes_out_on_the_health_subject_in_order(
    connect_as: ConnectAs, pa_health: NatsHealthSink
) -> None:
    oe = await connect_as(Module.OE)
    subscription = await oe.subscribe(HEALTH_SUBJECT)
    await sync_with_server(oe)
    sent = [signal(1, HealthState.DEGRADED), signal(2, HealthState.UP), signal(3, HealthState.DOWN)]

    for each in sent:
        await pa_health.publish(each)

    received = [decode_health((await subscription.next_msg(timeout=5)).data) for _ in sent]
    assert received == sent


async def test_a_stale_current_value_is_read_as_pa_down(pa_health: NatsHealthSink, follow: Any) -> None:
    await pa_health.publish(signal(7, HealthState.UP, age_s=60))  # a PA that died a minute ago

    local = await next_signal(await follow(stale_after_s=15))

    assert (local.state, local.halt_required, local.seq) == (HealthState.DOWN, True, LOCAL_SEQ)
    assert "60s old" in local.detail


async def test_silence_from_the_pa_is_read_as_pa_down(pa_health: NatsHealthSink, follow: Any) -> None:
    follower = await follow(stale_after_s=0.3)
    await pa_health.publish(signal(1, HealthState.UP))
    assert (await next_signal(follower)).state is HealthState.UP

    local = await next_signal(follower)  # nothing more from the PA

    assert (local.state, local.halt_required, local.seq) == (HealthState.DOWN, True, LOCAL_SEQ)
    assert "no health signal" in local.detail


async def test_health_sink_never_raises_while_nats_is_down(nats_server: NatsServer, pa_health: NatsHealthSink) -> None:
    await nats_server.kill()

    await pa_health.publish(signal(1, HealthState.DEGRADED))  # returns: health must not stop the PA

    assert pa_health.counters.kv_failures == 1


async def test_follower_comes_back_after_a_server_restart(
    nats_server: NatsServer, connect_as: ConnectAs, follow: Any
) -> None:
    pa = await connect_as(Module.PA)
    sink = NatsHealthSink(pa, await open_health_bucket(pa.jetstream()))
    follower = await follow(stale_after_s=0.5)
    await sink.publish(signal(1, HealthState.UP))
    assert (await next_signal(follower)).seq == 1

    await nats_server.kill()
    await nats_server.start()
    await sync_with_server(pa, timeout_s=10)  # the PA is connected again
    await sink.publish(signal(2, HealthState.UP))  # its next periodic signal

    async with asyncio.timeout(10):
        while (seen := await follower.queue.get()).seq != 2:
            assert seen.seq in {1, LOCAL_SEQ}  # meanwhile: the last signal again, or the silence as PA_DOWN


async def test_oe_follows_health_without_a_consumer_of_its_own(
    connect_as: ConnectAs, pa_health: NatsHealthSink, follow: Any
) -> None:
    # A KV watch is a consumer, and a consumer's deliver subject can point anywhere: OE may not create one.
    follower = await follow()
    await pa_health.publish(signal(1, HealthState.UP))
    assert (await next_signal(follower)).seq == 1

    admin = (await connect_as(SetupIdentity.PA_ADMIN)).jetstream()
    assert (await admin.stream_info(HEALTH_STREAM)).state.consumer_count == 0


def test_a_signal_older_than_the_newest_is_never_handed_on() -> None:
    # The bucket can lag the subject by one signal: a poll may return signal 2 after the subject brought 3.
    follower = NatsHealthFollower(object(), js=object())
    newest, older = signal(3, HealthState.DOWN), signal(2, HealthState.UP, age_s=0.001)

    assert follower._take(encode(newest)) is True
    assert follower._take(encode(older)) is False
    assert follower._take(encode(newest)) is False  # the same signal again (every poll)

    assert [follower.queue.get_nowait() for _ in range(follower.queue.qsize())] == [newest]


def test_a_deposed_instance_s_late_signal_never_overrides_its_successor_s() -> None:
    # Failover (ADR 0012): the instance with the greater lease epoch is the active PA, whatever the clocks say.
    # The deposed one's last PA_DOWN not_leader is newer by `ts` than the successor's PA_UP: OE must keep PA_UP.
    follower = NatsHealthFollower(object(), js=object())
    successor = msgspec.structs.replace(signal(1, HealthState.UP, age_s=0.002), lease_epoch=9)
    deposed = msgspec.structs.replace(signal(40, HealthState.DOWN, age_s=0.001), lease_epoch=5)
    next_up = msgspec.structs.replace(signal(2, HealthState.UP), lease_epoch=9)

    assert follower._take(encode(successor)) is True
    assert follower._take(encode(deposed)) is False
    assert follower._take(encode(next_up)) is True

    assert [follower.queue.get_nowait() for _ in range(follower.queue.qsize())] == [successor, next_up]
