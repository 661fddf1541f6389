"""Fixtures: a started simulator with a manual clock, an HTTP session, and raw authorized sockets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from tradovate_sim import ManualClock, SimConfig, TradovateSim

from .rawclient import RawSocket

LOGIN = '{"name":"demo","password":"demo-password","appId":"Sample App","appVersion":"1.0","cid":0,"sec":"x"}'

SocketFactory = Callable[[str], Awaitable[RawSocket]]


def fast_config(**overrides: Any) -> SimConfig:
    """Small, fast settings: half an hour of history, manual stepping, no idle heartbeats unless asked."""
    settings: dict[str, Any] = {
        "seed": 7,
        "history_s": 1800.0,
        "heartbeat_interval_s": 30.0,
        "auth_timeout_s": 10.0,
        "client_timeout_s": 30.0,
        "clock": ManualClock(),
    }
    settings.update(overrides)
    return SimConfig(**settings)


@pytest.fixture
def config() -> SimConfig:
    """The simulator settings a test uses (override by redefining this fixture in a module)."""
    return fast_config()


@pytest.fixture
async def sim(config: SimConfig) -> AsyncIterator[TradovateSim]:
    """A started simulator on ephemeral loopback ports."""
    simulator = TradovateSim(config)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP/WebSocket client session."""
    async with aiohttp.ClientSession() as session:
        yield session


async def login(http: aiohttp.ClientSession, sim: TradovateSim) -> dict[str, Any]:
    """POST accesstokenrequest with the default credentials; returns the parsed body."""
    async with http.post(
        sim.rest_url + "/auth/accesstokenrequest", data=LOGIN, headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 200
        body: dict[str, Any] = json.loads(await response.text())
        return body


@pytest.fixture
async def tokens(http: aiohttp.ClientSession, sim: TradovateSim) -> dict[str, Any]:
    """A successful AccessTokenResponse."""
    return await login(http, sim)


@pytest.fixture
async def connect(http: aiohttp.ClientSession) -> AsyncIterator[SocketFactory]:
    """Open raw sockets by URL; all closed at teardown."""
    opened: list[RawSocket] = []

    async def open_socket(url: str) -> RawSocket:
        socket = RawSocket(await http.ws_connect(url, autoping=True))
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        await socket.ws.close()


@pytest.fixture
async def md(sim: TradovateSim, connect: SocketFactory, tokens: dict[str, Any]) -> RawSocket:
    """An authorized market-data socket."""
    socket = await connect(sim.md_ws_url)
    ack = await socket.authorize(tokens["mdAccessToken"])
    assert ack == {"s": 200, "i": 0}
    return socket


@pytest.fixture
async def trading(sim: TradovateSim, connect: SocketFactory, tokens: dict[str, Any]) -> RawSocket:
    """An authorized trading socket."""
    socket = await connect(sim.trading_ws_url)
    ack = await socket.authorize(tokens["accessToken"])
    assert ack == {"s": 200, "i": 0}
    return socket


@pytest.fixture
async def synced(trading: RawSocket) -> RawSocket:
    """A trading socket after `user/syncrequest` for the demo user."""
    response = await trading.request("user/syncrequest", 1, body='{"users":[5001]}')
    assert response["s"] == 200
    assert "users" in response["d"]
    return trading
