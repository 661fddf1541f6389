"""Never twice (issue 17): one intent id reaches Tradovate at most once across PA restarts, whatever OE re-sends.

Each test runs the real PA (durable ledger and lease in a state directory, as `pa run` does) against one simulator,
"crashes" it (its task cancelled with no clean-up, its lock released as the OS would), starts a new PA on the same
state directory and simulator, and has OE re-send. The simulator's own recorder says what reached Tradovate.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from platform_adapter.mic import AckReason, AckStatus

from .harness import settings_for
from .restarts import Pa, buy, endpoints_of, simulator, until


async def test_a_resent_intent_after_a_restart_is_answered_from_the_ledger_and_placed_once(tmp_path: Path) -> None:
    async with simulator() as (sim, clock):
        settings = settings_for(sim, state_dir=tmp_path / "state")
        first = Pa(settings, endpoints_of(sim), clock)
        await first.up()
        ack = await first.call(buy("oe-1"))
        assert ack.status is AckStatus.ACCEPTED
        await first.crash()
        second = Pa(settings, endpoints_of(sim), clock)
        await second.up()
        try:
            repeats = [await second.call(buy("oe-1")) for _ in range(8)]  # OE re-sends eight times
        finally:
            await second.crash()
    assert all(r.duplicate and r.status is AckStatus.ACCEPTED for r in repeats)
    assert {r.platform_order_id for r in repeats} == {ack.platform_order_id}
    assert len(sim.received_requests("order/placeorder")) == 1


async def test_an_intent_the_ledger_lost_but_tradovate_shows_is_not_placed_again(tmp_path: Path) -> None:
    async with simulator() as (sim, clock):
        settings = settings_for(sim, state_dir=tmp_path / "state")
        first = Pa(settings, endpoints_of(sim), clock)
        await first.up()
        ack = await first.call(buy("oe-lost"))
        await first.crash()
        shutil.rmtree(tmp_path / "state")  # the ledger is gone (a new machine, a wiped disk)
        second = Pa(settings, endpoints_of(sim), clock)
        await second.up()
        try:
            repeat = await second.call(buy("oe-lost"))
        finally:
            await second.crash()
    assert (repeat.status, repeat.duplicate) == (AckStatus.ACCEPTED, True)
    assert repeat.platform_order_id == ack.platform_order_id
    assert "already has a command" in repeat.detail
    assert len(sim.received_requests("order/placeorder")) == 1


async def test_an_intent_in_flight_at_a_crash_is_unknown_then_resolved_by_the_snapshot_and_never_resent(
    tmp_path: Path,
) -> None:
    async with simulator() as (sim, clock):
        settings = settings_for(sim, state_dir=tmp_path / "state")
        first = Pa(settings, endpoints_of(sim), clock)
        await first.up()
        sim.faults.drop_order_replies(n=1)  # Tradovate takes the order; its answer never comes back
        call = asyncio.create_task(first.call(buy("oe-in-flight")))
        await until(lambda: len(sim.received_requests("order/placeorder")) == 1, clock, "the order to reach Tradovate")
        call.cancel()  # the process dies between Tradovate taking the order and the ack: no ack is ever written
        await asyncio.gather(call, return_exceptions=True)
        await first.crash()
        second = Pa(settings, endpoints_of(sim), clock)
        await second.up()
        try:
            ledger = second.stack.adapter.ledger
            await until(lambda: not ledger.unresolved(), clock, "the snapshot to resolve the open intent")
            repeat = await second.call(buy("oe-in-flight"))
        finally:
            await second.crash()
    assert (repeat.status, repeat.reason, repeat.duplicate) == (
        AckStatus.UNKNOWN,
        AckReason.INTERRUPTED,
        True,
    )
    assert "resolved: command found in sync snapshot" in repeat.detail
    assert len(sim.received_requests("order/placeorder")) == 1
