"""Where earlier PA runs' facts ended: read from the facts stream as the `pa` user (a new tenure resumes from it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from nats.js.api import RetentionPolicy

from platform_adapter.core.clock import ManualClock
from platform_adapter.core.fact_history import FileFactHistory
from platform_adapter.core.ports import FactHistoryUnavailable
from platform_adapter.mic import FactKind, Stream
from platform_adapter.transport.nats import (
    FactStreamConfig,
    Module,
    NatsFactConsumer,
    NatsFactSink,
    PaAccountObjects,
    imported_jetstream,
)
from platform_adapter.transport.nats.fact_history import NatsFactHistory

from .conftest import ConnectAs
from .envelopes import fact, facts
from .test_facts import Collected


async def test_the_last_fact_per_kind_stream_and_contract_is_read_from_the_facts_stream(connect_as: ConnectAs) -> None:
    pa = await connect_as(Module.PA)
    history = NatsFactHistory(pa.jetstream())
    assert await history.last_fact() is None  # the first run ever

    # 1..9 quotes of contract 3512 (5 is an account's props event), 10 props, 11 and 12 quotes of contract 4000.
    await NatsFactSink(pa).deliver([*facts(1, 10), fact(11, contract_id=4000), fact(12, contract_id=4000)])

    last = await history.last_fact()
    assert last is not None and last.delivery_seq == 12
    quote = await history.last_fact(FactKind.MARKET, Stream.QUOTE, 3512)
    assert quote is not None and quote.delivery_seq == 9
    assert (await history.last_fact(FactKind.MARKET, None, 4000)).delivery_seq == 12  # type: ignore[union-attr]
    props = await history.last_fact(FactKind.PLATFORM_EVENT, Stream.PROPS)
    assert props is not None and props.delivery_seq == 10
    assert await history.last_fact(FactKind.MARKET, Stream.DOM, 3512) is None


async def test_a_foreign_last_message_is_no_history(connect_as: ConnectAs) -> None:
    # Only the PA account writes the stream; still, a message that is not the PA's fact is never resumed from.
    pa = await connect_as(Module.PA)
    await pa.jetstream().publish("pa.facts.market.quote.c3512", b'{"not": "a fact"}')

    with pytest.raises(FactHistoryUnavailable, match="not a fact"):
        await NatsFactHistory(pa.jetstream()).last_fact(FactKind.MARKET, Stream.QUOTE, 3512)


@pytest.mark.parametrize(
    "pa_objects", [PaAccountObjects(facts=FactStreamConfig(retention=RetentionPolicy.INTEREST))], ids=["interest"]
)
async def test_under_interest_retention_facts_u_acknowledged_leave_the_previous_run_unknown(
    connect_as: ConnectAs,
) -> None:
    pa, u = await connect_as(Module.PA), await connect_as(Module.U)
    await NatsFactSink(pa).deliver(facts(1, 10))
    collected = Collected()
    consumer = NatsFactConsumer(imported_jetstream(u), collected.accept_batch, fetch_timeout_s=0.1)
    consuming = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(10):
            await consumer.wait_consumed(10)
            while (await pa.jetstream().stream_info("PA_FACTS")).state.messages:  # noqa: ASYNC110 - server state
                await asyncio.sleep(0.01)
    finally:
        consuming.cancel()

    with pytest.raises(FactHistoryUnavailable, match="retention removed what U acknowledged"):
        await NatsFactHistory(pa.jetstream()).last_fact()


async def test_a_pa_user_may_read_the_history_but_no_other_module_may(connect_as: ConnectAs) -> None:
    await NatsFactSink(await connect_as(Module.PA)).deliver(facts(1, 3))
    u = await connect_as(Module.U)

    with pytest.raises(FactHistoryUnavailable):  # U reads facts through its durable only
        await NatsFactHistory(imported_jetstream(u), timeout_s=0.5).last_fact()


def test_the_embedded_history_survives_a_restart_and_is_never_ahead_of_what_was_delivered(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "state" / "last-facts.json"
    first = FileFactHistory(path, clock, persist_every_s=1.0)
    first.note(facts(1, 4))  # written at once (the first batch)
    first.note(facts(5, 9))  # within the second: kept in memory only
    crashed = FileFactHistory(path, clock)  # a new process after a crash

    last = asyncio.run(crashed.last_fact())
    assert last is not None and last.delivery_seq == 4  # earlier than the truth (9), never later
    first.flush()  # a graceful stop writes the rest
    stopped = FileFactHistory(path, clock)
    assert asyncio.run(stopped.last_fact(FactKind.MARKET, Stream.QUOTE, 3512)).delivery_seq == 9  # type: ignore[union-attr]


def test_an_unreadable_embedded_history_is_unknown_not_empty(tmp_path: Path) -> None:
    path = tmp_path / "last-facts.json"
    path.write_bytes(msgspec.json.encode({"facts": [{"garbage": 1}]}))

    with pytest.raises(FactHistoryUnavailable, match="not what the PA wrote"):
        asyncio.run(FileFactHistory(path, ManualClock()).last_fact())
