"""The nats-server helper: loopback, a free port, ready when it greets, stopped by pid with nothing left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pa_harness.nats_server import NatsServer, find_nats_server
from platform_adapter.transport.nats import Module, connect
from platform_adapter.transport.nats.connection import disconnect

from .conftest import NO_SERVER_REASON


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_server_accepts_module_users_and_stops_by_pid_leaving_no_process(tmp_path: Path) -> None:
    if find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    server = NatsServer(tmp_path)
    await server.start()
    pid = server.pid
    assert pid is not None
    assert server.url.startswith("nats://127.0.0.1:")
    client = await connect(server.url, server.auth(Module.OE), name="oe")
    await disconnect(client)

    await server.stop()

    assert gone(pid)
    assert not server.running


async def test_unauthenticated_clients_are_refused(tmp_path: Path) -> None:
    if find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    async with NatsServer(tmp_path) as server:
        with pytest.raises(ConnectionError, match="could not connect"):
            await connect(server.url, None, name="anonymous", first_connect_deadline_s=0.3)
