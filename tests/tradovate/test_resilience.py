"""The socket supervisor survives setup errors, and expired lock-outs clear by themselves."""

from __future__ import annotations

from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.tradovate.connection import TradovateSocket
from platform_adapter.tradovate.errors import PlatformStatusError

from ..integration.harness import running


async def test_a_subscription_answered_with_an_error_fails_the_connection_it_never_stops_the_pa() -> None:
    async with running() as h:
        await h.up()
        feed = h.stack.platform.market_data
        md = h.stack.platform.md
        assert feed is not None
        assert md is not None
        refused: list[int] = []

        async def refuse_once(socket: TradovateSocket, epoch: int) -> None:
            if not refused:
                refused.append(epoch)
                raise PlatformStatusError(500, "Internal error", "md/subscribeQuote")
            await feed.subscribe_all(socket, epoch)

        md.ready_hooks[:] = [refuse_once]
        await h.sim.faults.close_sockets("md")
        await h.until(lambda: HealthReason.SOCKET_CLOSED in h.stack.adapter.health.current.reasons, what="degraded")
        await h.advance(10.0)
        await h.up()
        assert not h.pa_task.done()  # the PA kept running, closed the bad connection and reconnected
        assert len(refused) == 1


async def test_a_lock_out_clears_by_itself_when_it_expires() -> None:
    async with running() as h:
        await h.up()
        h.stack.platform.budget.rate_limited("position/list")
        await h.until(lambda: h.stack.adapter.health.state is HealthState.DOWN, what="PA_DOWN")
        await h.advance(3601.0, step=60.0)
        await h.until(lambda: h.stack.adapter.health.state is HealthState.UP, what="lock-out expired")
