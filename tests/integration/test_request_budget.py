"""Reconnect storms against a Tradovate that enforces its rolling-hour limit (simulator `hourly_request_limit`).

The finding (issue 19's scale run, noticed and left then): every md connect re-sends each instrument's
subscriptions (600 requests at 200 instruments), nothing counted them, so a few md reconnects in an hour spend
Tradovate's 5,000 — and the 429 locks every request out for an hour, the kill included. With the PA's own budget
under Tradovate's limit (ADR 0016) market data waits for room, orders use the reserve, and no 429 ever comes.

Scaled down: Tradovate's limit here is 40 an hour, the PA's budget 30 (10 kept for orders and the trading socket).
At PA_UP the PA has sent 10 counted requests; each md connect sends 5 (ESZ6 quote + two charts, NQZ6 quote + DOM).
"""

from __future__ import annotations

from platform_adapter.config import BudgetSettings
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckStatus, HealthReason, HealthState

from .harness import Harness, market_order, running

TRADOVATE_LIMIT = {"hourly_request_limit": 40}
UNDER_THE_LIMIT = BudgetSettings(requests_per_hour=30, order_reserve=10)


async def md_reconnects(h: Harness, n: int) -> None:
    """Close the md socket `n` times, each time until it is up again, held by the budget, or locked out."""
    md, budget = h.stack.platform.md, h.stack.platform.budget
    assert md is not None
    for _ in range(n):
        if md.ready.is_set():
            await h.sim.faults.close_sockets("md")
            await h.until(lambda: not md.ready.is_set(), what="the md socket to close")
        await h.advance(5.0)  # past the reconnect backoff (at most 4 s here)
        await h.until(lambda: md.ready.is_set() or budget.holds > 0 or budget.lockouts > 0, what="what follows")


async def test_with_the_pas_budget_under_tradovates_limit_a_reconnect_storm_waits_and_is_never_locked_out() -> None:
    async with running(sim_overrides=TRADOVATE_LIMIT, budget=UNDER_THE_LIMIT) as h:
        await h.up()
        budget = h.stack.platform.budget
        await md_reconnects(h, 4)
        health = h.stack.adapter.health
        await h.until(lambda: HealthReason.REQUEST_BUDGET in health.current.reasons, what="request_budget")
        assert budget.sent_last_hour == 20  # the market-data limit: 30 - 10
        assert health.state is HealthState.DEGRADED

        # The reserve is the orders': a submit goes while market data waits (OE itself halts on the closed md
        # socket, so the intent goes straight to the PA's intent port, as OE would send it).
        ack = await h.stack.intents.call(market_order("budget-submit"), OE_IDENTITY)
        assert ack.status is AckStatus.ACCEPTED
        kill = await h.oe.kill("budget test")
        assert kill.status is AckStatus.ACCEPTED

        assert budget.lockouts == 0
        assert HealthReason.RATE_LIMITED not in {r for s in h.oe.health_transitions() for r in s.reasons}
        # Two quote subscriptions a connect: the first connect, then two reconnects had room (10 + 5 + 5 = 20).
        assert len(h.sim.received_requests("md/subscribeQuote")) == 2 * 3

        await h.advance(3600.0, step=30.0)  # the first requests age out of the hour: market data goes again
        await h.until(lambda: HealthReason.REQUEST_BUDGET not in health.current.reasons, what="room again")
        await h.until(lambda: len(h.sim.received_requests("md/subscribeQuote")) >= 2 * 4, what="md subscribed again")
        assert budget.lockouts == 0


async def test_without_a_budget_under_tradovates_limit_the_same_storm_locks_every_request_out_for_an_hour() -> None:
    # The PA's default budget (3,000 an hour) is far above this simulator's 40: what the PA did before ADR 0016.
    async with running(sim_overrides=TRADOVATE_LIMIT) as h:
        await h.up()
        await md_reconnects(h, 7)
        health = h.stack.adapter.health
        await h.until(lambda: HealthReason.RATE_LIMITED in health.current.reasons, what="the 429 lock-out")
        assert health.state is HealthState.DOWN
        assert h.stack.platform.budget.lockouts == 1


async def test_a_token_revoked_at_every_reconnect_costs_at_most_the_minutes_logins_and_the_pa_comes_back() -> None:
    # Before: 35 logins in one minute of this storm (Tradovate publishes 10 a minute for authentication).
    async with running() as h:
        await h.up()
        logins: list[int] = []  # logins so far, one look a second
        for _ in range(90):
            h.sim.faults.revoke_tokens()
            await h.sim.faults.close_sockets("all")
            await h.advance(1.0)
            logins.append(len(h.sim.received_requests("auth/accesstokenrequest")))
        busiest_minute = max(later - earlier for earlier, later in zip(logins, logins[60:], strict=False))
        assert 0 < busiest_minute <= h.stack.platform.settings.budget.auth_requests_per_minute
        assert HealthReason.REQUEST_BUDGET in {r for s in h.oe.health_transitions() for r in s.reasons}

        await h.advance(60.0, step=5.0)  # the storm is over
        await h.up()
