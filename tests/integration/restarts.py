"""A PA as `pa run` builds it in process (durable ledger, lease, fact history in a state directory), and its crash.

`Pa.crash` is a process dying without clean-up: its task cancelled, its lock released as the OS would. A new `Pa`
on the same state directory and simulator is the restarted process. The simulator is stepped by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from platform_adapter.composition import InProcStack, build_inproc_stack
from platform_adapter.config import Credentials, Settings
from platform_adapter.core.adapter import Role
from platform_adapter.core.clock import ManualClock
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import FactEnvelope, HealthState, OrderAction, OrderType, ReceiptAck, SubmitOrder
from tradovate_sim import ManualClock as SimManualClock
from tradovate_sim import TradovateSim

from .harness import ACCOUNT_ID, sim_config


def buy(intent_id: str) -> SubmitOrder:
    """A market buy of one ESZ6."""
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
        self.facts: list[FactEnvelope] = []  # what this run delivered to U, taken by `take_facts`

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

    async def call(self, intent: SubmitOrder) -> ReceiptAck:
        return await self.stack.intents.call(intent, OE_IDENTITY)

    def take_facts(self) -> list[FactEnvelope]:
        """Everything delivered to U's queue so far (this run's), appended to `facts`."""
        queue = self.stack.facts.queue
        while not queue.empty():
            self.facts.append(queue.get_nowait())
        return self.facts


@contextlib.asynccontextmanager
async def simulator() -> AsyncIterator[tuple[TradovateSim, ManualClock]]:
    """A simulator stepped by hand, its clock in step with the PA's ManualClock."""
    clock = ManualClock()
    async with TradovateSim(sim_config(clock=SimManualClock(start=clock.now_ns() / 1e9))) as sim:
        yield sim, clock


def endpoints_of(sim: TradovateSim) -> tuple[str, str, str]:
    return (sim.rest_url, sim.trading_ws_url, sim.md_ws_url)
