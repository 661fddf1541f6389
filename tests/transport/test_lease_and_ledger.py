"""The NATS lease and intent store, over a real nats-server as the `pa` user (two PA instances = two clients).

`pa_admin` provisions both buckets; every PA instance, active or standby, opens them as `pa` and checks their bounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from pa_harness.nats_server import NatsServer
from platform_adapter.core.clock import ManualClock, SystemClock
from platform_adapter.core.intent_store import LedgerEntry
from platform_adapter.core.lease import LeaseLost
from platform_adapter.core.settings import LedgerSettings
from platform_adapter.mic import AckStatus, ReceiptAck
from platform_adapter.transport.nats import Module, PaAccountObjects, ProvisioningError
from platform_adapter.transport.nats.intent_store import NatsIntentStore, open_ledger_bucket
from platform_adapter.transport.nats.lease import NatsLease, open_lease_bucket

from .conftest import ConnectAs


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (bounded) for real socket I/O to make `predicate` true."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - polls state that network I/O changes
            await asyncio.sleep(0.005)


async def test_one_holder_at_a_time_and_the_next_epoch_is_greater(connect_as: ConnectAs) -> None:
    first_nc, second_nc = await connect_as(Module.PA), await connect_as(Module.PA)
    clock = ManualClock()
    first = NatsLease(await open_lease_bucket(first_nc.jetstream(), 3.0), clock, holder="a")
    second = NatsLease(await open_lease_bucket(second_nc.jetstream(), 3.0), clock, holder="b")
    epoch = await first.acquire()
    standby = asyncio.create_task(second.acquire())
    for attempt in range(1, 4):  # each poll asks the server again, and is refused, then sleeps
        await until(lambda: clock.sleepers == 1)
        assert second.attempts == attempt
        await clock.advance(0.25)
    assert not standby.done()
    await first.release()
    await clock.advance(0.25)
    assert await asyncio.wait_for(standby, 5) > epoch
    await second.release()


async def test_a_holder_that_was_not_renewed_for_most_of_a_ttl_no_longer_counts_itself_valid(
    connect_as: ConnectAs,
) -> None:
    # After a pause of the process, the renewal that finds out takes a round trip: until then `valid` says whether
    # the key may have lapsed (the intent gate sends nothing while it is False).
    clock = ManualClock()
    lease = NatsLease(await open_lease_bucket((await connect_as(Module.PA)).jetstream(), 3.0), clock, holder="a")
    assert not lease.valid()  # not acquired
    await lease.acquire()
    assert lease.valid()
    await clock.advance(2.4)
    assert lease.valid()
    await clock.advance(0.2)  # 2.6 s since the create was sent: within half a renewal of the TTL
    assert not lease.valid()
    await lease.release()
    assert not lease.valid()


@pytest.mark.parametrize("pa_objects", [PaAccountObjects(lease_ttl_s=1.0)], ids=["ttl=1s"])
async def test_a_dead_holder_s_lease_lapses_by_its_ttl_and_a_standby_takes_over(connect_as: ConnectAs) -> None:
    holder_nc, standby_nc = await connect_as(Module.PA), await connect_as(Module.PA)
    ttl_s = 1.0
    holder = NatsLease(
        await open_lease_bucket(holder_nc.jetstream(), ttl_s), SystemClock(), holder="dead", ttl_s=ttl_s, renew_s=0.25
    )
    standby = NatsLease(
        await open_lease_bucket(standby_nc.jetstream(), ttl_s),
        SystemClock(),
        holder="standby",
        ttl_s=ttl_s,
        renew_s=0.25,
        poll_s=0.05,
    )
    epoch = await holder.acquire()
    loop = asyncio.get_running_loop()
    died = loop.time()  # the holder never renews: as if SIGKILLed right after acquiring
    taken = await asyncio.wait_for(standby.acquire(), timeout=10)
    assert taken > epoch
    assert loop.time() - died < 5.0  # the takeover bound (measured properly by the crash soak)
    # The deposed holder's next renewal is refused: it learns it lost the lease.
    with pytest.raises(LeaseLost):
        await asyncio.wait_for(holder.hold(), timeout=5)
    await standby.release()


async def test_an_intent_id_is_claimed_once_across_instances_and_kept(connect_as: ConnectAs) -> None:
    retention = LedgerSettings()
    one = NatsIntentStore(await open_ledger_bucket((await connect_as(Module.PA)).jetstream(), retention))
    other = NatsIntentStore(await open_ledger_bucket((await connect_as(Module.PA)).jetstream(), retention))
    first = LedgerEntry(intent_id="oe-1/ü", fingerprint="a" * 64, received_ts=1)
    assert await one.claim(first) is None
    assert await other.claim(LedgerEntry(intent_id="oe-1/ü", fingerprint="b" * 64, received_ts=2)) == first
    ack = ReceiptAck(intent_id="oe-1/ü", status=AckStatus.UNKNOWN, received_ts=1, acked_ts=3)
    await one.update(LedgerEntry(intent_id="oe-1/ü", fingerprint="a" * 64, received_ts=1, ack=ack))
    await one.claim(
        LedgerEntry(
            intent_id="done",
            fingerprint="c" * 64,
            received_ts=4,
            ack=ReceiptAck(intent_id="done", status=AckStatus.ACCEPTED, received_ts=4, acked_ts=5),
        )
    )
    assert [e.intent_id for e in await other.open_entries()] == ["oe-1/ü"]
    assert await other.get("missing") is None


async def test_a_pa_instance_refuses_buckets_provisioned_with_other_bounds_than_its_own(
    nats_server: NatsServer, connect_as: ConnectAs
) -> None:
    # The key's expiry is the bucket's TTL, and the ledger's prune keeps open entries within its bounds: a PA
    # holding the lease with another TTL in mind, or pruning for other bounds, would be wrong without noticing.
    js = (await connect_as(Module.PA)).jetstream()

    with pytest.raises(ProvisioningError, match=r"TTL 3\.0 s \(needs 10\.0 s\)"):
        await open_lease_bucket(js, 10.0)
    with pytest.raises(ProvisioningError, match="keeps 100000 entries"):
        await open_ledger_bucket(js, LedgerSettings(max_entries=5))

    await nats_server.provision(PaAccountObjects(lease_ttl_s=10.0, ledger=LedgerSettings(max_entries=5)))
    await open_lease_bucket(js, 10.0)
    await open_ledger_bucket(js, LedgerSettings(max_entries=5))
