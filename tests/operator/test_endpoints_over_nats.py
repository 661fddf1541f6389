"""`pa run --transport nats://...` serves `/healthz` and `/metrics` too (issue 15: it served none, the README said
it did), and SIGHUP reloads the credentials in that mode as in-process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from pa_harness.nats_server import NatsServer, find_nats_server
from platform_adapter.composition import serve_pa_over_nats
from platform_adapter.config import Credentials
from platform_adapter.transport.nats import Module
from tests.integration.harness import settings_for, sim_config
from tradovate_sim import TradovateSim


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    if find_nats_server() is None:
        pytest.skip("no nats-server binary")
    server = NatsServer(tmp_path / "nats")
    await server.start()
    await server.provision()  # as a desk does before the PA starts (docs/transport-nats.md §9)
    try:
        yield server
    finally:
        await server.stop()


async def until_status(http: aiohttp.ClientSession, url: str, status: int, timeout: float = 20.0) -> str:
    """Poll `url` (bounded) until it answers `status`; returns the body."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = "no answer"
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(url) as response:
                last = f"{response.status} {await response.text()}"
                if response.status == status:
                    return await response.text()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not answer {status}: {last}")


async def test_the_pa_on_nats_serves_healthz_and_metrics(nats_server: NatsServer) -> None:
    port = free_port()
    async with TradovateSim(sim_config(tick_interval_s=0.05)) as sim, aiohttp.ClientSession() as http:
        settings = settings_for(sim)
        endpoints = (sim.rest_url, sim.trading_ws_url, sim.md_ws_url)
        pa = asyncio.create_task(
            serve_pa_over_nats(
                settings,
                Credentials(),
                nats_server.url,
                endpoints,
                auth=nats_server.auth(Module.PA),
                metrics_port=port,
            )
        )
        try:
            body = await until_status(http, f"http://127.0.0.1:{port}/healthz", 200)
            assert '"state": "PA_UP"' in body or '"state":"PA_UP"' in body
            metrics = await until_status(http, f"http://127.0.0.1:{port}/metrics", 200)
            assert "pa_info{" in metrics
            assert "pa_facts_delivered" in metrics
        finally:
            pa.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pa
        with pytest.raises(aiohttp.ClientError):  # stopped with the PA
            async with http.get(f"http://127.0.0.1:{port}/healthz"):
                pass
