"""The intent gate: OE only, LIVE only, validated, idempotent, kill-latched, unknown-latched."""

from __future__ import annotations

import asyncio

import pytest

from platform_adapter.config import Mode
from platform_adapter.core.clock import ManualClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.intent_store import LedgerEntry, MemoryIntentStore
from platform_adapter.core.intents import IntentService, _fingerprint
from platform_adapter.core.ledger import IntentLedger
from platform_adapter.core.ports import OE_IDENTITY, Rejection
from platform_adapter.mic import (
    AckReason,
    AckStatus,
    Cancel,
    CancelReplace,
    HealthReason,
    HealthState,
    Kill,
    OrderAction,
    OrderType,
    ResetKill,
    SubmitOrder,
)

from .fakes import FakePlatform, RecordingHealthSink


def _service(mode: Mode = Mode.LIVE, status: AckStatus = AckStatus.ACCEPTED) -> tuple[IntentService, FakePlatform]:
    platform = FakePlatform(status)
    clock = ManualClock()
    return IntentService(mode, platform, HealthMonitor(clock, RecordingHealthSink()), clock), platform


def market(intent_id: str = "i-1", qty: object = 1, **extra: object) -> SubmitOrder:
    return SubmitOrder(
        intent_id=intent_id,
        account_id=1,
        symbol="ESZ6",
        action=OrderAction.BUY,
        qty=qty,  # type: ignore[arg-type]
        order_type=OrderType.MARKET,
        **extra,  # type: ignore[arg-type]
    )


async def test_an_oe_submit_is_executed_and_accepted() -> None:
    service, platform = _service()
    ack = await service.handle(market(), OE_IDENTITY)
    assert ack.status is AckStatus.ACCEPTED
    assert ack.platform_order_id == 1001
    assert platform.executed == [market()]


async def test_intents_from_anyone_but_oe_are_refused_and_reach_no_platform() -> None:
    service, platform = _service()
    ack = await service.handle(market(), "SL")
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.NOT_FROM_OE)
    assert platform.executed == []
    assert (await service.handle(market(), OE_IDENTITY)).status is AckStatus.ACCEPTED  # not poisoned


@pytest.mark.parametrize("mode", [Mode.SIM, Mode.REPLAY])
async def test_intents_outside_live_mode_are_refused(mode: Mode) -> None:
    service, platform = _service(mode)
    ack = await service.handle(market(), OE_IDENTITY)
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.MODE_NOT_LIVE)
    assert mode.value in ack.detail
    assert platform.executed == []


@pytest.mark.parametrize(
    ("intent", "reason", "field"),
    [
        (market(qty=0), AckReason.INVALID_QTY, "qty"),
        (market(qty=-2), AckReason.INVALID_QTY, "qty"),
        (market(qty=1.5), AckReason.INVALID_QTY, "qty"),
        (market(qty=True), AckReason.INVALID_QTY, "qty"),
        (market(qty="1"), AckReason.INVALID_QTY, "qty"),
        (market(price=100.0), AckReason.UNEXPECTED_PRICE, "price"),
        (
            SubmitOrder(
                intent_id="i", account_id=1, symbol="ESZ6", action=OrderAction.BUY, qty=1, order_type=OrderType.LIMIT
            ),
            AckReason.MISSING_PRICE,
            "price",
        ),
        (
            SubmitOrder(
                intent_id="i",
                account_id=1,
                symbol="ESZ6",
                action=OrderAction.BUY,
                qty=1,
                order_type=OrderType.STOP_LIMIT,
                price=1.0,
            ),
            AckReason.MISSING_PRICE,
            "stop_price",
        ),
        (market(intent_id=""), AckReason.MALFORMED_INTENT, "intent_id"),
    ],
)
async def test_invalid_intents_fail_with_a_typed_reason_and_reach_no_platform(
    intent: SubmitOrder, reason: AckReason, field: str
) -> None:
    service, platform = _service()
    ack = await service.handle(intent, OE_IDENTITY)
    assert (ack.status, ack.reason, ack.field) == (AckStatus.FAILED, reason, field)
    assert ack.detail
    assert platform.executed == []


async def test_platform_validation_failures_reach_no_platform() -> None:
    service, platform = _service()
    platform.rejection = Rejection(AckReason.UNKNOWN_SYMBOL, "symbol 'XXZ9' is not configured", "symbol")
    ack = await service.handle(market(), OE_IDENTITY)
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.UNKNOWN_SYMBOL)
    assert platform.executed == []


async def test_a_repeated_intent_id_returns_the_first_ack_and_is_not_sent_again() -> None:
    service, platform = _service()
    first = await service.handle(market(), OE_IDENTITY)
    again = await service.handle(market(), OE_IDENTITY)
    assert again.duplicate
    assert again.platform_order_id == first.platform_order_id
    assert len(platform.executed) == 1


async def test_a_repeat_while_the_first_call_is_in_flight_waits_for_it() -> None:
    service, platform = _service()
    platform.release.clear()
    first = asyncio.create_task(service.handle(market(), OE_IDENTITY))
    second = asyncio.create_task(service.handle(market(), OE_IDENTITY))
    await asyncio.sleep(0)
    platform.release.set()
    acks = await asyncio.gather(first, second)
    assert len(platform.executed) == 1
    assert acks[0].platform_order_id == acks[1].platform_order_id
    assert acks[1].duplicate


async def test_a_reused_intent_id_with_different_content_fails() -> None:
    service, platform = _service()
    await service.handle(market(), OE_IDENTITY)
    ack = await service.handle(market(qty=2), OE_IDENTITY)
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.INTENT_ID_REUSED)
    assert len(platform.executed) == 1


async def test_kill_latches_submits_until_reset() -> None:
    service, platform = _service()
    assert (await service.handle(Kill(intent_id="k", account_id=1), OE_IDENTITY)).status is AckStatus.ACCEPTED
    ack = await service.handle(market("i-2"), OE_IDENTITY)
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.KILL_LATCHED)
    cancel = await service.handle(Cancel(intent_id="c", account_id=1, order_id=5), OE_IDENTITY)
    assert cancel.status is AckStatus.ACCEPTED  # cancels still go through while latched
    assert (await service.handle(ResetKill(intent_id="r", account_id=1), OE_IDENTITY)).status is AckStatus.ACCEPTED
    assert (await service.handle(market("i-3"), OE_IDENTITY)).status is AckStatus.ACCEPTED
    assert [i.intent_id for i in platform.executed] == ["k", "c", "i-3"]


async def test_pa_down_refuses_everything_but_kill() -> None:
    service, _ = _service()
    service._health.raise_condition("x", HealthReason.GAVE_UP, HealthState.DOWN, detail="platform unreachable")
    ack = await service.handle(market(), OE_IDENTITY)
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.PA_DOWN)
    assert "platform unreachable" in ack.detail
    assert (await service.handle(Kill(intent_id="k", account_id=1), OE_IDENTITY)).status is AckStatus.ACCEPTED


async def test_an_unknown_outcome_latches_the_order_until_facts_resolve_it() -> None:
    service, platform = _service(status=AckStatus.UNKNOWN)
    first = await service.handle(Cancel(intent_id="c1", account_id=1, order_id=77), OE_IDENTITY)
    assert first.status is AckStatus.UNKNOWN
    platform.status = AckStatus.ACCEPTED
    modify = CancelReplace(intent_id="m1", account_id=1, order_id=77, qty=2, order_type=OrderType.MARKET)
    ack = await service.handle(modify, OE_IDENTITY)
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.ORDER_OUTCOME_UNKNOWN)
    assert service.ledger.unresolved() == {"c1": 77}
    assert service.ledger.resolve("c1", order_id=77, detail="command seen in sync")
    modify2 = CancelReplace(intent_id="m2", account_id=1, order_id=77, qty=2, order_type=OrderType.MARKET)
    assert (await service.handle(modify2, OE_IDENTITY)).status is AckStatus.ACCEPTED
    assert [i.intent_id for i in platform.executed] == ["c1", "m2"]


async def test_facts_seen_before_an_unknown_ack_resolve_it_at_once() -> None:
    service, platform = _service(status=AckStatus.UNKNOWN)
    platform.release.clear()
    call = asyncio.create_task(service.handle(Cancel(intent_id="c9", account_id=1, order_id=9), OE_IDENTITY))
    await asyncio.sleep(0)
    assert not service.ledger.resolve("c9", detail="command event seen")  # before the ack: remembered
    platform.release.set()
    ack = await call
    assert ack.status is AckStatus.UNKNOWN
    assert service.ledger.unresolved() == {}
    assert service.ledger.latched_by(9) is None


class _InterleavingStore(MemoryIntentStore):
    """One store shared by two PA instances whose calls interleave, as over NATS KV (each call a round trip)."""

    async def get(self, intent_id: str) -> LedgerEntry | None:
        await asyncio.sleep(0)
        return await super().get(intent_id)

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        await asyncio.sleep(0)
        return await super().claim(entry)


async def test_two_instances_racing_for_one_intent_id_send_it_once() -> None:
    # Both look the id up before either claims it (a failover overlap, or OE's re-send reaching the new holder
    # while the old one still works on it): the store's atomic claim picks one; the other must not send it.
    store = _InterleavingStore()
    clock = ManualClock()
    platforms = [FakePlatform(), FakePlatform()]
    for platform in platforms:
        platform.release.clear()  # the winner's request is out; its answer has not come back yet
    services = [
        IntentService(Mode.LIVE, platform, HealthMonitor(clock, RecordingHealthSink()), clock, IntentLedger(store))
        for platform in platforms
    ]
    calls = [asyncio.create_task(service.handle(market("raced"), OE_IDENTITY)) for service in services]
    done, _ = await asyncio.wait(calls, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    assert done, "both instances are sending it"
    loser = done.pop().result()
    for platform in platforms:
        platform.release.set()
    acks = await asyncio.gather(*calls)

    assert sum(len(p.executed) for p in platforms) == 1
    assert (loser.status, loser.reason) == (AckStatus.UNKNOWN, AckReason.INTERRUPTED)
    assert sorted(a.status for a in acks) == sorted([AckStatus.ACCEPTED, AckStatus.UNKNOWN])


class _CountingStore(MemoryIntentStore):
    """Counts the store's calls: over NATS KV each one is a round trip OE waits for."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def get(self, intent_id: str) -> LedgerEntry | None:
        self.calls.append("get")
        return await super().get(intent_id)

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        self.calls.append("claim")
        return await super().claim(entry)

    async def update(self, entry: LedgerEntry) -> None:
        self.calls.append("update")
        await super().update(entry)


def _counted(store: MemoryIntentStore) -> tuple[IntentService, FakePlatform]:
    platform, clock = FakePlatform(), ManualClock()
    health = HealthMonitor(clock, RecordingHealthSink())
    return IntentService(Mode.LIVE, platform, health, clock, IntentLedger(store)), platform


async def test_a_new_intent_costs_the_store_a_claim_and_a_write_and_no_read() -> None:
    # docs/performance.md (issue 19): the read before the claim only repeated what the claim answers anyway.
    store = _CountingStore()
    service, platform = _counted(store)
    assert (await service.handle(market("fresh"), OE_IDENTITY)).status is AckStatus.ACCEPTED
    assert store.calls == ["claim", "update"]
    assert len(platform.executed) == 1


async def test_a_repeat_this_instance_has_not_seen_is_answered_from_the_store_and_not_sent() -> None:
    store = _CountingStore()
    first, first_platform = _counted(store)
    accepted = await first.handle(market("once"), OE_IDENTITY)
    second, second_platform = _counted(store)  # a restarted or standby instance: nothing cached
    repeat = await second.handle(market("once"), OE_IDENTITY)
    reused = await second.handle(market("once", qty=3), OE_IDENTITY)

    assert (repeat.status, repeat.duplicate, repeat.platform_order_id) == (AckStatus.ACCEPTED, True, 1001)
    assert (reused.status, reused.reason) == (AckStatus.FAILED, AckReason.INTENT_ID_REUSED)
    assert accepted.platform_order_id == 1001 and second_platform.executed == []
    assert len(first_platform.executed) == 1


async def test_a_refused_repeat_of_an_id_in_flight_elsewhere_is_unknown_not_failed() -> None:
    # Another instance claimed the id and is sending it; here the gate refuses (PA_DOWN). `failed` would tell OE
    # that nothing was placed, which the other instance may be doing right now.
    store = MemoryIntentStore()
    await store.claim(LedgerEntry(intent_id="busy", fingerprint=_fingerprint(market("busy")), received_ts=0))
    service, platform = _counted(store)
    service._health.raise_condition("x", HealthReason.GAVE_UP, HealthState.DOWN, detail="platform unreachable")

    ack = await service.handle(market("busy"), OE_IDENTITY)
    assert (ack.status, ack.reason) == (AckStatus.UNKNOWN, AckReason.INTERRUPTED)
    assert platform.executed == []


async def test_a_repeat_of_an_old_reset_kill_does_not_release_a_later_kill() -> None:
    store = MemoryIntentStore()
    first, _ = _counted(store)
    await first.handle(Kill(intent_id="k1", account_id=1), OE_IDENTITY)
    await first.handle(ResetKill(intent_id="r1", account_id=1), OE_IDENTITY)
    second, platform = _counted(store)  # after a failover: the ledger is shared, the cache is not
    await second.handle(Kill(intent_id="k2", account_id=1), OE_IDENTITY)

    repeat = await second.handle(ResetKill(intent_id="r1", account_id=1), OE_IDENTITY)
    assert repeat.duplicate and second.kill_latched
    ack = await second.handle(market("after"), OE_IDENTITY)
    assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.KILL_LATCHED)
    assert [i.intent_id for i in platform.executed] == ["k2"]
