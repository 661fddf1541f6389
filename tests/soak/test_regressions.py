"""Regression tests for PA bugs the seeded soak found; each names the seed that found it."""

from __future__ import annotations

from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.tradovate.budget import LOCKOUT_S
from tests.integration.harness import running


async def test_sockets_lost_during_a_429_lockout_wait_it_out_instead_of_reconnecting_every_backoff() -> None:
    """Soak seed 19: a 429 then a socket loss made each socket reconnect + authorize every 4 s for the hour."""
    async with running() as h:
        await h.up()
        h.sim.faults.rate_limit(n=1, endpoint="position/list")
        reference = h.stack.platform.reference
        assert reference is not None
        await h.oe.flatten(None, account_id=next(iter(reference.accounts)))  # the read that meets the 429
        await h.until(lambda: HealthReason.RATE_LIMITED in h.stack.adapter.health.current.reasons, what="429")
        authorizes_before = len([f for f in h.sim.received_frames() if f.text.startswith("authorize\n")])
        await h.sim.faults.close_sockets("all")
        await h.advance(600.0, step=5.0)
        authorizes = len([f for f in h.sim.received_frames() if f.text.startswith("authorize\n")])
        assert authorizes - authorizes_before <= 2  # at most one attempt per socket, not one per backoff
        assert h.stack.adapter.health.state is HealthState.DOWN
        await h.advance(LOCKOUT_S - 600.0 + 10.0, step=30.0)
        await h.up(timeout=15)
