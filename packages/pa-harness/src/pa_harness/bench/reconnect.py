"""Benchmark 4: reconnect — from the simulator accepting connections again to PA_UP, subscriptions restored.

The PA (LIVE: trading + market-data sockets, the demo instruments) runs against an in-process simulator.
Each round takes the whole platform down (`faults.down()`: sockets dropped, listeners closed), lets the PA
notice and retry for a moment, then brings it back (`faults.up()`) and times from the listeners accepting
again to the PA's transition to PA_UP (the `since` of its health signal), which happens only after both
sockets re-authorized, the trading socket re-synced, and every quote / DOM / chart subscription (with
chart backfill) was re-made. The backoff is set tiny (≤ 2 ms) so the wait it adds is negligible.

Baseline (same run, same simulator): a raw client doing the same restoration work from scratch — open
both sockets, authorize, `user/syncrequest` on one, the same md subscriptions in the same order on the
other — timed to the last response. It speaks through the PA's sans-I/O `TradovateSession` (ids, matching,
the penalty decision) with nothing around it: no budget, timers, facts or hooks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

from platform_adapter.config import BackoffSettings
from platform_adapter.mic import HealthState
from platform_adapter.tradovate.protocol import TradovateSession, encode_body
from platform_adapter.tradovate.protocol.session import Answered, Opened, Refused, Resend, SessionEvent
from tradovate_sim import ESZ6, NQZ6, TradovateSim

from .loop import run
from .results import BenchResult, Row, Verdict, median, verdict
from .stack import pa_settings, running_pa, sim_config

TARGET_MS: Final = 500.0
BACKOFF: Final = BackoffSettings(initial_s=0.001, max_s=0.002, multiplier=2.0, jitter=0.0, give_up_after_s=300.0)
DOWN_S: Final = 0.05


@dataclass
class _Figures:
    pa_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    resubscribed: bool = True


class _RawSocket:
    """A bare client on the PA's own sans-I/O session: no budget, no timers, no facts, one request at a time."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.session: TradovateSession[None] = TradovateSession(time.monotonic(), open_timeout_s=5.0)

    async def authorize(self, token: str) -> None:
        await self._until(lambda event: type(event) is Opened)
        request = self.session.authorize(token, time.monotonic(), timeout_s=5.0, waiter=None)
        await self.ws.send_str(request.text)
        await self._until(lambda event: type(event) is Answered and event.request is request)

    async def request(self, endpoint: str, body: dict[str, Any]) -> None:
        request = self.session.request(endpoint, time.monotonic(), timeout_s=5.0, waiter=None, body=encode_body(body))
        await self.ws.send_str(request.text)
        await self._until(lambda event: type(event) is Answered and event.request is request)

    async def _until(self, match: Callable[[SessionEvent[None]], bool]) -> None:
        while True:
            message = await self.ws.receive(timeout=5)
            if message.type is not aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"raw socket closed: {message.type!r}")
            self.session.receive(message.data, time.monotonic())
            for event in self.session.take_events():
                if match(event):
                    return
                if type(event) is Refused or type(event) is Resend:  # a penalty or a 429: the run is void
                    raise RuntimeError(f"{event.request.endpoint} refused: {event}")


def _chart(symbol: int, underlying: str, elements: int) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "chartDescription": {
            "underlyingType": underlying,
            "elementSize": 1,
            "elementSizeUnit": "UnderlyingUnits",
            "withHistogram": False,
        },
        "timeRange": {"asMuchAsElements": elements},
    }


async def _raw_restore(http: aiohttp.ClientSession, sim: TradovateSim, token: str, md_token: str) -> float:
    """Open both sockets and redo the PA's subscriptions; seconds from start to the last response."""
    began = time.perf_counter()

    async def trading() -> None:
        async with http.ws_connect(sim.trading_ws_url, max_msg_size=0) as ws:
            socket = _RawSocket(ws)
            await socket.authorize(token)
            await socket.request("user/syncrequest", {"users": [sim.config.user_id]})

    async def market_data() -> None:
        async with http.ws_connect(sim.md_ws_url, max_msg_size=0) as ws:
            socket = _RawSocket(ws)
            await socket.authorize(md_token)
            await socket.request("md/subscribeQuote", {"symbol": ESZ6.id})
            await socket.request("md/getChart", _chart(ESZ6.id, "MinuteBar", 20))
            await socket.request("md/getChart", _chart(ESZ6.id, "Tick", 50))
            await socket.request("md/subscribeQuote", {"symbol": NQZ6.id})
            await socket.request("md/subscribeDOM", {"symbol": NQZ6.id})

    await asyncio.gather(trading(), market_data())
    return time.perf_counter() - began


async def _tokens(http: aiohttp.ClientSession, sim: TradovateSim) -> tuple[str, str]:
    body = {"name": sim.config.user, "password": sim.config.password, "appId": "bench", "appVersion": "1"}
    async with http.post(f"{sim.rest_url}/auth/accesstokenrequest", json=body) as response:
        answer = await response.json()
    return answer["accessToken"], answer.get("mdAccessToken") or answer["accessToken"]


async def _measure(quick: bool) -> _Figures:
    figures = _Figures()
    rounds = 3 if quick else 8
    async with TradovateSim(sim_config()) as sim, aiohttp.ClientSession() as http:
        await sim.step_market(30)
        settings = pa_settings(sim.rest_url, sim.trading_ws_url, sim.md_ws_url, backoff=BACKOFF)
        async with running_pa(settings) as pa:
            await pa.up()
            health = pa.stack.adapter.health
            token, md_token = await _tokens(http, sim)
            for _ in range(rounds):
                quotes_before = len(sim.received_requests("md/subscribeQuote"))
                charts_before = len(sim.received_requests("md/getChart"))
                await sim.faults.down()
                async with asyncio.timeout(10):
                    while health.state is HealthState.UP:  # noqa: ASYNC110 - health has no event to await
                        await asyncio.sleep(0.001)
                await asyncio.sleep(DOWN_S)  # the PA keeps retrying against refused connections
                await sim.faults.up()
                accepting_ns = time.time_ns()
                await pa.up(timeout_s=30)
                figures.pa_ms.append((health.current.since - accepting_ns) / 1e6)
                restored = (
                    len(sim.received_requests("md/subscribeQuote")) - quotes_before == 2
                    and len(sim.received_requests("md/getChart")) - charts_before == 2
                )
                figures.resubscribed = figures.resubscribed and restored
                await sim.step_market(5)
                await asyncio.sleep(0.05)
                figures.raw_ms.append(await _raw_restore(http, sim, token, md_token) * 1000)
    return figures


def bench_reconnect(*, quick: bool) -> BenchResult:
    """Run benchmark 4."""
    figures = run(_measure(quick))
    pa_ms, raw_ms = median(figures.pa_ms), median(figures.raw_ms)
    worst = max(figures.pa_ms)
    result = BenchResult("reconnect", "4. Reconnect: simulator accepting again → PA_UP with subscriptions restored")
    result.rows += [
        Row(
            "reconnect",
            f"accepting again → PA_UP, median of {len(figures.pa_ms)}",
            pa_ms,
            "ms",
            raw_ms,
            "raw client redoing the same setup",
            f"≤ {TARGET_MS:.0f} ms",
            verdict(pa_ms <= TARGET_MS and figures.resubscribed),
            note="" if figures.resubscribed else "subscriptions NOT all restored",
        ),
        Row(
            "reconnect",
            f"accepting again → PA_UP, worst of {len(figures.pa_ms)}",
            worst,
            "ms",
            max(figures.raw_ms),
            "raw, worst",
            "",
            Verdict.INFO,
        ),
    ]
    result.notes.append(
        f"Backoff initial {BACKOFF.initial_s * 1000:.0f} ms, max {BACKOFF.max_s * 1000:.0f} ms, no jitter, so at "
        f"most ~{BACKOFF.max_s * 1000:.0f} ms of each figure is backoff wait. PA_UP requires both sockets "
        "authorized, the trading socket re-synced (snapshot received) and every md subscription re-made, with "
        "chart backfill requested; the round checks that the simulator saw the quote and chart requests again. "
        "The simulator runs in the PA's process and event loop (as in `pa demo`), for both sides."
    )
    return result
