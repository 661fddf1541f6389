"""Never twice (issue 17): one intent id reaches Tradovate at most once across PA restarts, whatever OE re-sends.

Each test runs the real PA (durable ledger and lease in a state directory, as `pa run` does) against one simulator,
"crashes" it (its task cancelled with no clean-up, its lock released as the OS would), starts a new PA on the same
state directory and simulator, and has OE re-send. The simulator's own recorder says what reached Tradovate.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from platform_adapter.composition import InProcStack, build_inproc_stack
from platform_adapter.config import Credentials, Settings
from platform_adapter.core.adapter import Role
from platform_adapter.core.clock import ManualClock
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckReason, AckStatus, HealthState, OrderAction, OrderType, SubmitOrder
from tradovate_sim import ManualClock as SimManualClock
from tradovate_sim import TradovateSim

from .harness import ACCOUNT_ID, settings_for, sim_config


def buy(intent_id: str) -> SubmitOrder:
    return SubmitOrder(
        intent_id=intent_id,
        account_id=ACCOUNT_ID,
        symbol="ESZ6",
        action=OrderAction.BUY,
        qty=1,
        order_type=OrderType.MARKET,
    )


async def until(predicate: Callable[[], bool], clock: ManualClock, what: str, timeout: float = 20.0) -> None:
    """Let real I/O run and the PA's clock advance a little at a time until `predicate` holds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await clock.advance(0.05)
        await asyncio.sleep(0.005)


class Pa:
    """One PA process, in-process: started, then crashed (or left running until the test ends)."""

    def __init__(self, settings: Settings, endpoints: tuple[str, str, str], clock: ManualClock) -> None:
        self.stack: InProcStack = build_inproc_stack(settings, Credentials(), endpoints, clock=clock, durable=True)
        self.clock = clock
        self.task: asyncio.Task[None] | None = None

    async def up(self) -> None:
        self.task = asyncio.create_task(self.stack.adapter.run())
        adapter = self.stack.adapter
        await until(lambda: adapter.role is Role.ACTIVE and adapter.health.state is HealthState.UP, self.clock, "PA_UP")

    async def crash(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        lease = self.stack.adapter.lease
        assert lease is not None
        await lease.release()  # what the OS does when the process dies

    async def call(self, intent: SubmitOrder) -> object:
        return await self.stack.intents.call(intent, OE_IDENTITY)


@contextlib.asynccontextmanager
async def simulator() -> AsyncIterator[tuple[TradovateSim, ManualClock]]:
    clock = ManualClock()
    async with TradovateSim(sim_config(clock=SimManualClock(start=clock.now_ns() / 1e9))) as sim:
        yield sim, clock


def endpoints_of(sim: TradovateSim) -> tuple[str, str, str]:
    return (sim.rest_url, sim.trading_ws_url, sim.md_ws_url)


async def test_a_resent_intent_after_a_restart_is_answered_from_the_ledger_and_placed_once(tmp_path: Path) -> None:
    async with simulator() as (sim, clock):
        settings = settings_for(sim, state_dir=tmp_path / "state")
        first = Pa(settings, endpoints_of(sim), clock)
        await first.up()
        ack = await first.call(buy("oe-1"))
        assert ack.status is AckStatus.ACCEPTED  # type: ignore[attr-defined]
        await first.crash()
        second = Pa(settings, endpoints_of(sim), clock)
        await second.up()
        try:
            repeats = [await second.call(buy("oe-1")) for _ in range(8)]  # OE re-sends eight times
        finally:
            await second.crash()
    assert all(r.duplicate and r.status is AckStatus.ACCEPTED for r in repeats)  # type: ignore[attr-defined]
    assert {r.platform_order_id for r in repeats} == {ack.platform_order_id}  # type: ignore[attr-defined]
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
    assert (repeat.status, repeat.duplicate) == (AckStatus.ACCEPTED, True)  # type: ignore[attr-defined]
    assert repeat.platform_order_id == ack.platform_order_id  # type: ignore[attr-defined]
    assert "already has a command" in repeat.detail  # type: ignore[attr-defined]
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
    assert (repeat.status, repeat.reason, repeat.duplicate) == (  # type: ignore[attr-defined]
        AckStatus.UNKNOWN,
        AckReason.INTERRUPTED,
        True,
    )
    assert "resolved: command found in sync snapshot" in repeat.detail  # type: ignore[attr-defined]
    assert len(sim.received_requests("order/placeorder")) == 1
