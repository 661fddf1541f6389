"""`user/syncrequest` over the wire: with `splitResponses` configured, a snapshot split in several responses is read
whole (docs/simulator.md `sync_split`), known complete only once its last needed part came, and every part reaches U.
"""

from __future__ import annotations

import pytest

from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckStatus, Stream
from tradovate_sim import Variants

from .harness import ACCOUNT_ID, running
from .harness import market_order as order
from .test_execution import ESZ6_ID


@pytest.mark.parametrize("layout", ["multi_same_id", "multi_null_lists", "single"])
async def test_a_split_snapshot_is_read_whole_after_a_reconnect(layout: str) -> None:
    variants = Variants().with_changes({"sync_split": layout})
    async with running(sim_overrides={"variants": variants}, sync_split_responses=True) as h:
        await h.up()
        ack = await h.stack.intents.call(order("long-one"), OE_IDENTITY)
        assert ack.status is AckStatus.ACCEPTED
        observed = h.stack.platform.observed
        await h.until(lambda: observed.net_position(ACCOUNT_ID, ESZ6_ID) == 1, what="position seen")
        await h.sim.faults.close_sockets("trading")
        await h.until(lambda: not h.stack.platform.trading.ready.is_set(), what="trading down")  # type: ignore[union-attr]
        await h.advance(5.0)
        await h.up()
        await h.drained()

        sync = h.stack.platform.sync
        assert sync is not None and sync.snapshot is not None
        parts = 1 if layout == "single" else 3
        assert sync.snapshot.parts == parts
        assert sync.complete_for(ACCOUNT_ID)
        requests = h.sim.received_requests("user/syncrequest")
        assert all('"splitResponses":true' in r.body and '"entityTypes"' in r.body for r in requests)
        snapshots = [f for f in h.u_facts() if f.stream is Stream.SYNC_SNAPSHOT]
        assert len(snapshots) == 2 * parts  # every part of both snapshots, labelled as such
        # The position came in a later part: a part without positions did not wipe it (the position limit reads it).
        assert observed.net_position(ACCOUNT_ID, ESZ6_ID) == 1
