"""The PA's own rolling-hour request budget (ADR 0016): market data waits for room below the order reserve, orders
are refused (never wait) once the whole budget is spent, kill and flatten are never held back; logins and renewals
are held to a rolling minute instead.

The findings: nothing counted requests, so at 200 instruments (600 md requests a connect) seven md reconnects in an
hour spent Tradovate's 5,000 an hour, and the 429 that follows locks every request out for an hour, the kill too;
and nothing counted logins: with the token revoked at every reconnect the PA logged in 35 times in a minute
(Tradovate publishes 10 a minute for authentication; more earn a penalty, then a captcha).
"""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from platform_adapter.config import BudgetSettings
from platform_adapter.core.clock import ManualClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.tradovate.budget import RequestBudget, Urgency
from platform_adapter.tradovate.errors import BudgetExhausted

from ..core.fakes import RecordingHealthSink

LIMITS = BudgetSettings(requests_per_hour=10, order_reserve=3, auth_requests_per_minute=2)  # md 7 an hour; orders 10


def budget_on(clock: ManualClock) -> tuple[RequestBudget, HealthMonitor]:
    health = HealthMonitor(clock, RecordingHealthSink())
    return RequestBudget(clock, health, LIMITS), health


async def spend(budget: RequestBudget, n: int, urgency: Urgency = Urgency.READ) -> None:
    for _ in range(n):
        await budget.acquire(urgency=urgency)


async def test_market_data_waits_once_the_hour_has_no_room_below_the_reserve_and_goes_when_the_oldest_ages_out() -> (
    None
):
    clock = ManualClock()
    budget, health = budget_on(clock)
    await spend(budget, 4)
    await clock.advance(600.0)
    await spend(budget, 3)  # 7 in the hour: the market-data limit

    eighth = asyncio.ensure_future(budget.acquire())
    await clock.advance(0)
    assert not eighth.done()
    assert health.state is HealthState.DEGRADED
    assert health.current.reasons == (HealthReason.REQUEST_BUDGET,)
    assert not health.current.halt_required  # orders and the kill still go
    assert "7 requests in the last hour" in health.current.detail

    await clock.advance(2999.0)  # the first four were sent at 0: they leave the hour at 3600
    assert not eighth.done()
    await clock.advance(1.0)
    await eighth
    assert health.state is HealthState.UP
    assert budget.sent_last_hour == 4  # the three sent at 600 and the eighth
    assert budget.holds == 1


async def test_an_order_never_waits_it_uses_the_reserve_and_is_refused_once_the_whole_budget_is_spent() -> None:
    clock = ManualClock()
    budget, _ = budget_on(clock)
    await spend(budget, 7)  # market data has no room left
    for _ in range(3):
        await budget.acquire(wait=False, urgency=Urgency.ORDER)  # the reserve
    with pytest.raises(BudgetExhausted, match=r"10 requests in the last hour \(limit 10") as refused:
        await budget.acquire(wait=False, urgency=Urgency.ORDER)
    assert refused.value.retry_after_s == pytest.approx(3600.0)
    assert budget.refused == 1
    assert budget.sent_last_hour == 10  # the refused order was not counted: nothing went out


async def test_the_kill_and_the_session_token_are_never_held_back_by_the_hour() -> None:
    clock = ManualClock()
    budget, _ = budget_on(clock)
    await spend(budget, 10, Urgency.ORDER)
    for _ in range(5):
        await budget.acquire(wait=False, urgency=Urgency.ESSENTIAL)
    await spend(budget, 2, Urgency.AUTH)
    assert budget.sent_last_hour == 17  # counted all the same: they take room from what follows


async def test_logins_beyond_the_minutes_limit_wait_for_the_oldest_to_age_out() -> None:
    clock = ManualClock()
    budget, health = budget_on(clock)
    await spend(budget, 2, Urgency.AUTH)
    await clock.advance(20.0)
    third = asyncio.ensure_future(budget.acquire(urgency=Urgency.AUTH))
    await clock.advance(0)
    assert not third.done()
    assert health.current.reasons == (HealthReason.REQUEST_BUDGET,)
    assert "2 logins / token renewals in the last minute (limit 2" in health.current.detail
    await spend(budget, 3)  # market data is not held back by the logins' minute
    await clock.advance(39.0)
    assert not third.done()
    await clock.advance(1.0)  # the first two were sent at 0: they leave the minute at 60
    await third
    assert health.state is HealthState.UP


async def test_a_waiting_request_that_is_cancelled_leaves_no_condition_behind() -> None:
    clock = ManualClock()
    budget, health = budget_on(clock)
    runner = asyncio.ensure_future(budget.run())
    await spend(budget, 7)
    waiting = asyncio.ensure_future(budget.acquire())
    await clock.advance(0)
    assert health.state is HealthState.DEGRADED
    waiting.cancel()  # its socket closed
    await clock.advance(1.0)
    assert health.state is HealthState.UP
    runner.cancel()


def test_the_reserve_must_leave_room_for_market_data() -> None:
    with pytest.raises(ValidationError, match=r"order_reserve \(10\) must be < requests_per_hour \(10\)"):
        BudgetSettings(requests_per_hour=10, order_reserve=10)
