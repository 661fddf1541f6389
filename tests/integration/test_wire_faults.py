"""Wire faults through the whole PA: malformed, duplicated, reordered and co-batched frames lose nothing;
an unknown configured symbol stops the PA with an error naming it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec
import pytest

from platform_adapter.config import InstrumentSettings
from platform_adapter.mic import AckStatus, FactKind, HealthState, OrderAction, Stream
from platform_adapter.tradovate.errors import UnknownSymbol
from platform_adapter.tradovate.facts import FactBuilder, SocketContext
from platform_adapter.tradovate.protocol import Message

from .harness import ACCOUNT_ID, Transport, running


async def test_a_malformed_frame_is_forwarded_as_an_undecodable_fact_and_the_socket_lives_on(
    transport: Transport,
) -> None:
    async with running(transport) as h:
        await h.up()
        h.sim.faults.malformed_frame("md", text="a[{not json")
        await h.sim.step_market(20)
        await h.drained()
        undecodable = h.facts_of(FactKind.UNDECODABLE)
        assert len(undecodable) == 1
        assert msgspec.json.decode(bytes(undecodable[0].payload)) == "a[{not json"  # the raw text, kept
        assert h.stack.platform.md.epoch == 1  # type: ignore[union-attr]  # no reconnect needed
        assert h.stack.adapter.health.state is HealthState.UP


async def test_duplicated_and_reordered_frames_are_forwarded_exactly_as_sent(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        h.sim.faults.duplicate_frames("md", n=3)
        h.sim.faults.reorder_frames("md", n=2)
        await h.sim.step_market(40)
        await h.drained()
        sent = [m.text.encode() for m in h.sim.sent_messages(kind="md")]
        received = [bytes(f.payload) for f in h.u_facts() if f.connection == "md" and f.kind is not FactKind.GAP]
        assert received == sent  # duplicates kept, the platform's order kept: the PA never de-duplicates
        assert len(received) > len(set(received))


async def test_a_response_co_batched_with_events_is_matched_and_every_message_forwarded(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        h.sim.faults.co_batch("trading", n=1)
        ack = await h.oe.submit_market(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1)
        assert ack.status is AckStatus.ACCEPTED
        assert ack.platform_order_id is not None
        await h.drained()
        frames = [f.text for f in h.sim.sent_frames(kind="trading") if f.text.startswith("a[")]
        assert any('"i":' in text and '"e":"props"' in text for text in frames)  # really co-batched
        sent = [m.text.encode() for m in h.sim.sent_messages(kind="trading")]
        received = [bytes(f.payload) for f in h.u_facts() if f.connection == "trading" and f.kind is not FactKind.GAP]
        assert received == sent


async def test_an_unknown_configured_symbol_stops_the_pa_with_an_error_naming_it(transport: Transport) -> None:
    instruments = (InstrumentSettings(symbol="ESZ6"), InstrumentSettings(symbol="ZZZ9"))
    async with running(transport, instruments=instruments) as h:
        with pytest.raises(ExceptionGroup) as info:
            await asyncio.wait_for(asyncio.shield(h.pa_task), timeout=10)
        # The platform's task fails inside its tenure's task group, inside the adapter's: look at every leaf.
        assert info.value.subgroup(lambda e: isinstance(e, UnknownSymbol) and "ZZZ9" in str(e)) is not None
        assert h.stack.adapter.health.state is HealthState.DOWN
        assert "ZZZ9" in h.stack.adapter.health.current.detail
        assert not any(f.stream is Stream.QUOTE for f in h.u_facts())


async def test_a_frame_nested_a_thousand_deep_is_forwarded_raw_and_the_pa_lives_on(transport: Transport) -> None:
    # Issue 15: `a[` + 1,000 x `[` ... `]` raised RecursionError out of decode_frame and the process exited.
    text = "a[" + "[" * 1_000 + "]" * 1_000 + "]"
    async with running(transport) as h:
        await h.up()
        h.sim.faults.malformed_frame("md", text=text)
        await h.sim.step_market(20)
        await h.drained()
        undecodable = h.facts_of(FactKind.UNDECODABLE)
        assert [msgspec.json.decode(bytes(fact.payload)) for fact in undecodable] == [text]
        assert not h.pa_task.done()
        assert h.stack.adapter.health.state is HealthState.UP


async def test_a_fault_in_one_socket_s_reader_restarts_that_socket_never_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = FactBuilder.messages
    armed: list[bool] = []
    faults: list[int] = []

    def fail_once(self: FactBuilder, ctx: SocketContext, recv_ts: int, messages: Sequence[Message]) -> None:
        if armed and ctx.connection == "md" and not faults:
            faults.append(recv_ts)
            raise ZeroDivisionError("a bug nobody foresaw")
        original(self, ctx, recv_ts, messages)

    monkeypatch.setattr(FactBuilder, "messages", fail_once)  # the reader binds it when it starts
    async with running() as h:
        await h.up()
        md = h.stack.platform.md
        assert md is not None
        armed.append(True)
        await h.sim.step_market(5)
        await h.until(lambda: bool(faults), what="the fault")
        await h.advance(5.0)
        await h.until(lambda: md.epoch >= 2 and md.ready.is_set(), what="md reconnected")
        await h.up()
        await h.until(h.delivered_to_u, what="U to store every fact")  # messages sent after the fault are a gap
        assert not h.pa_task.done()
        flagged = h.facts_of(FactKind.UNDECODABLE)
        assert [f.connection for f in flagged] == ["md"]  # the frame that met the fault is forwarded raw, flagged
        assert msgspec.json.decode(bytes(flagged[0].payload)).startswith("a[")
        assert any(g.connection == "md" for g in h.facts_of(FactKind.GAP))  # the restart is reported as a gap
