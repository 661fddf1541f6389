"""One active PA per account, a ledger that survives restarts, and a graceful stop (issue 17), at the core's level.

Each "PA instance" here is a PlatformAdapter on a fake platform; instances share a state directory (the lease's
lock file and the SQLite ledger), as two processes on one machine would. A crash is the instance's task cancelled
with no clean-up, plus its lock released (what the OS does when a process dies).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from platform_adapter.core.adapter import PlatformAdapter, Role
from platform_adapter.core.clock import ManualClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.intent_store import SqliteIntentStore
from platform_adapter.core.lease import FileLease, LeaseLost
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.core.settings import CoreSettings, StopSettings
from platform_adapter.mic import AckReason, AckStatus, HealthReason, HealthState, OrderAction, OrderType, SubmitOrder
from platform_adapter.transport.inproc import InProcIntentChannel

from .fakes import FakePlatform, GatedFactSink, RecordingHealthSink


def market(intent_id: str = "i-1") -> SubmitOrder:
    return SubmitOrder(
        intent_id=intent_id, account_id=1, symbol="ESZ6", action=OrderAction.BUY, qty=1, order_type=OrderType.MARKET
    )


@dataclass
class Instance:
    adapter: PlatformAdapter
    platform: FakePlatform
    health: RecordingHealthSink
    facts: GatedFactSink
    intents: InProcIntentChannel
    lease: FileLease
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.adapter.run())

    async def crash(self) -> None:
        """Gone without a word: no stop, no PA_DOWN; the OS releases its lock."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.lease.release()


def make(state_dir: Path, clock: ManualClock, holder: str, *, stop: StopSettings | None = None) -> Instance:
    platform, health, facts = FakePlatform(), RecordingHealthSink(), GatedFactSink()
    intents = InProcIntentChannel()
    monitor = HealthMonitor(clock, health)
    lease = FileLease(state_dir, clock, holder=holder, poll_s=0.5)
    store = SqliteIntentStore(state_dir / "ledger.sqlite")
    settings = CoreSettings(stop=stop or StopSettings())
    adapter = PlatformAdapter(settings, platform, monitor, facts, intents, clock, lease=lease, store=store)
    return Instance(adapter, platform, health, facts, intents, lease)


async def until(predicate: Callable[[], bool], clock: ManualClock | None = None) -> None:
    """Let the event loop run (and the clock advance, if given) until `predicate` holds; bounded."""
    for _ in range(2_000):
        if predicate():
            return
        if clock is not None:
            await clock.advance(0.05)
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


@asynccontextmanager
async def running(*instances: Instance) -> AsyncIterator[None]:
    for instance in instances:
        instance.start()
    try:
        yield
    finally:
        for instance in instances:
            if instance.task is not None and not instance.task.done():
                instance.task.cancel()
            await asyncio.gather(*(i.task for i in instances if i.task), return_exceptions=True)
            await instance.lease.release()


async def test_a_repeat_after_a_restart_gets_the_first_ack_and_is_never_sent_again(tmp_path: Path) -> None:
    clock = ManualClock()
    first = make(tmp_path, clock, "first")
    async with running(first):
        await until(lambda: first.adapter.role is Role.ACTIVE)
        ack = await first.intents.call(market(), OE_IDENTITY)
        assert ack.status is AckStatus.ACCEPTED
        assert ack.lease_epoch == 1
        await first.crash()
    second = make(tmp_path, clock, "second")
    async with running(second):
        await until(lambda: second.adapter.role is Role.ACTIVE)
        repeat = await second.intents.call(market(), OE_IDENTITY)
    assert repeat.duplicate
    assert (repeat.status, repeat.platform_order_id, repeat.lease_epoch) == (AckStatus.ACCEPTED, 1001, 1)
    assert second.platform.executed == []  # never sent again
    assert second.platform.runs == [2]  # the restarted instance's tenure has a greater epoch


async def test_an_intent_in_flight_at_a_crash_is_unknown_after_the_restart_and_latched(tmp_path: Path) -> None:
    clock = ManualClock()
    first = make(tmp_path, clock, "first")
    first.platform.release.clear()  # the request is out; the platform's answer never comes back
    async with running(first):
        await until(lambda: first.adapter.role is Role.ACTIVE)
        call = asyncio.create_task(first.intents.call(market("in-flight"), OE_IDENTITY))
        await until(lambda: bool(first.platform.executed))
        await first.crash()
        call.cancel()
    second = make(tmp_path, clock, "second")
    async with running(second):
        await until(lambda: second.adapter.role is Role.ACTIVE)
        assert second.adapter.ledger.unresolved() == {"in-flight": None}
        repeat = await second.intents.call(market("in-flight"), OE_IDENTITY)
    assert (repeat.status, repeat.reason, repeat.duplicate) == (AckStatus.UNKNOWN, AckReason.INTERRUPTED, True)
    assert second.platform.executed == []


async def test_a_standby_serves_nothing_says_nothing_to_oe_and_takes_over_when_the_holder_dies(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    active, standby = make(tmp_path, clock, "active"), make(tmp_path, clock, "standby")
    async with running(active):
        await until(lambda: active.adapter.role is Role.ACTIVE)
        async with running(standby):
            await until(
                lambda: (
                    clock.sleepers >= 2
                    and standby.adapter.intents.refusal is not None
                    and standby.adapter.intents.refusal.reason is AckReason.NOT_LEADER
                )
            )  # polling for the lease
            refused = await standby.adapter.intents.handle(market("to-standby"), OE_IDENTITY)
            assert (refused.status, refused.reason) == (AckStatus.FAILED, AckReason.NOT_LEADER)
            await clock.advance(6.0)  # long enough for a periodic health signal
            assert standby.platform.runs == []  # no socket to Tradovate
            assert standby.health.signals == []  # silent towards OE
            assert standby.adapter.health.state is HealthState.DOWN  # its own view says standby
            await active.crash()
            await until(lambda: standby.adapter.role is Role.ACTIVE, clock)
            assert standby.platform.runs == [2]
            ack = await standby.intents.call(market("after-takeover"), OE_IDENTITY)
            assert (ack.status, ack.lease_epoch) == (AckStatus.ACCEPTED, 2)
            await until(lambda: bool(standby.health.signals))
            assert {s.lease_epoch for s in standby.health.signals} == {2}


class LosableLease:
    """A lease the test takes away."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()
        self.released = False

    @property
    def holder(self) -> str:
        return "test"

    async def acquire(self) -> int:
        if self.lost.is_set():
            await asyncio.Event().wait()  # another instance holds it now
        return 7

    async def hold(self) -> None:
        await self.lost.wait()
        raise LeaseLost("taken over")

    def valid(self) -> bool:
        return not self.lost.is_set() and not self.paused

    paused = False

    async def release(self) -> None:
        self.released = True


async def test_losing_the_lease_stops_serving_at_once_lets_in_flight_finish_and_says_pa_down_once() -> None:
    clock = ManualClock()
    platform, sink = FakePlatform(), RecordingHealthSink()
    lease = LosableLease()
    adapter = PlatformAdapter(
        CoreSettings(), platform, HealthMonitor(clock, sink), GatedFactSink(), InProcIntentChannel(), clock, lease=lease
    )
    task = asyncio.create_task(adapter.run())
    try:
        await until(lambda: adapter.role is Role.ACTIVE and platform.runs == [7])
        platform.release.clear()
        in_flight = asyncio.create_task(adapter.intents.handle(market("in-flight"), OE_IDENTITY))
        await until(lambda: bool(platform.executed))
        lease.lost.set()
        await until(lambda: adapter.intents.refusal is not None)
        refused = await adapter.intents.handle(market("new"), OE_IDENTITY)
        assert (refused.status, refused.reason) == (AckStatus.FAILED, AckReason.NOT_LEADER)
        platform.release.set()
        assert (await in_flight).status is AckStatus.ACCEPTED  # its request was out: it gets its real ack
        await until(lambda: adapter.role is Role.STANDBY and not adapter.health.speaking)
        await adapter.health.flushed()
        assert platform.executed == [market("in-flight")]
        down = [s for s in sink.signals if HealthReason.NOT_LEADER in s.reasons]
        assert len(down) == 1
        assert (down[0].state, down[0].lease_epoch) == (HealthState.DOWN, 7)
        heard = len(sink.signals)
        await clock.advance(12.0)
        assert len(sink.signals) == heard  # deposed: silent from then on
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_graceful_stop_finishes_in_flight_drains_to_u_says_stopped_and_releases_the_lease(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    instance = make(tmp_path, clock, "only", stop=StopSettings(in_flight_s=5, drain_s=5))
    async with running(instance):
        await until(lambda: instance.adapter.role is Role.ACTIVE)
        instance.platform.release.clear()
        in_flight = asyncio.create_task(instance.intents.call(market("in-flight"), OE_IDENTITY))
        await until(lambda: bool(instance.platform.executed))
        stopping = asyncio.create_task(instance.adapter.stop())
        await until(lambda: instance.adapter.role is Role.STOPPING)
        refused = await instance.adapter.intents.handle(market("late"), OE_IDENTITY)
        assert (refused.status, refused.reason) == (AckStatus.FAILED, AckReason.SHUTTING_DOWN)
        instance.platform.release.set()
        assert (await in_flight).status is AckStatus.ACCEPTED
        await stopping
        assert instance.task is not None
        await asyncio.gather(instance.task, return_exceptions=True)
    last = instance.health.signals[-1]
    assert last.state is HealthState.DOWN
    assert HealthReason.STOPPED in last.reasons
    assert instance.adapter.outbox.depth == 0
    successor = FileLease(tmp_path, clock, holder="next")
    assert await asyncio.wait_for(successor.acquire(), 1) == 2  # released: no wait for the next instance
    await successor.release()


@pytest.mark.parametrize("stuck", [True, False])
async def test_a_graceful_stop_is_bounded_by_its_deadlines(tmp_path: Path, stuck: bool) -> None:
    clock = ManualClock()
    instance = make(tmp_path, clock, "only", stop=StopSettings(in_flight_s=2, drain_s=3))
    async with running(instance):
        await until(lambda: instance.adapter.role is Role.ACTIVE)
        if stuck:
            instance.platform.release.clear()
            asyncio.create_task(instance.intents.call(market("stuck"), OE_IDENTITY))  # noqa: RUF006
            await until(lambda: bool(instance.platform.executed))
        stopping = asyncio.create_task(instance.adapter.stop())
        await until(stopping.done, clock)  # the clock moves: the in-flight deadline passes, then it goes on
        assert instance.task is not None
        await asyncio.gather(instance.task, return_exceptions=True)
    assert HealthReason.STOPPED in instance.health.signals[-1].reasons


async def test_an_instance_that_cannot_confirm_its_lease_sends_nothing_and_records_nothing() -> None:
    # A paused process (SIGSTOP, a frozen VM) wakes up believing it is active: until its renewal answers, the
    # lease may already be a standby's. Nothing may reach Tradovate meanwhile, and the refusal is not recorded.
    clock = ManualClock()
    platform = FakePlatform()
    lease = LosableLease()
    adapter = PlatformAdapter(
        CoreSettings(), platform, HealthMonitor(clock, RecordingHealthSink()), GatedFactSink(), InProcIntentChannel(),
        clock, lease=lease,
    )  # fmt: skip
    task = asyncio.create_task(adapter.run())
    try:
        await until(lambda: adapter.role is Role.ACTIVE and platform.runs == [7])
        lease.paused = True
        refused = await adapter.intents.handle(market("woke-up"), OE_IDENTITY)
        lease.paused = False
        accepted = await adapter.intents.handle(market("woke-up"), OE_IDENTITY)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (refused.status, refused.reason) == (AckStatus.FAILED, AckReason.NOT_LEADER)
    assert (accepted.status, accepted.duplicate) == (AckStatus.ACCEPTED, False)
    assert platform.executed == [market("woke-up")]
