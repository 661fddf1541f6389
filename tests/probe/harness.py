"""Probe test harness: a fast simulator, fast probe options, the credentials the tests must never see leak."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import SecretStr

from platform_adapter.config import Credentials
from platform_adapter.probe import ProbeOptions
from tradovate_sim import SimConfig, TradovateSim

USER = "probe-user"
PASSWORD = "probe-Password-7731"
SEC = "probe-API-secret-0042"
CID = "4242"
ENV = {
    "PA_TRADOVATE_USERNAME": USER,
    "PA_TRADOVATE_PASSWORD": PASSWORD,
    "PA_TRADOVATE_SEC": SEC,
    "PA_TRADOVATE_CID": CID,
    "PA_TRADOVATE_APP_ID": "probe-tests",
    "PA_TRADOVATE_APP_VERSION": "1.0",
    "PA_TRADOVATE_DEVICE_ID": "probe-test-device",
}
FAST = ProbeOptions(window_s=0.4, close_wait_s=3.0, heartbeat_s=0.15, quiet_s=0.2, duration_s=30.0)


def credentials() -> Credentials:
    """The test user's credentials (as `load_credentials` would read them from ENV)."""
    return Credentials(
        username=USER,
        password=SecretStr(PASSWORD),
        sec=SecretStr(SEC),
        cid=SecretStr(CID),
        app_id="probe-tests",
        app_version="1.0",
        device_id="probe-test-device",
    )


def sim_config(**overrides: Any) -> SimConfig:
    """A simulator that streams fast and times out fast, so every probe window sees something."""
    settings: dict[str, Any] = {
        "seed": 11,
        "user": USER,
        "password": PASSWORD,
        "history_s": 1800.0,
        "tick_interval_s": 0.02,
        "heartbeat_interval_s": 0.1,
        "auth_timeout_s": 0.6,
        "client_timeout_s": 0.6,
    }
    settings.update(overrides)
    return SimConfig(**settings)


def url_options(sim: TradovateSim) -> list[str]:
    """`pa probe` options pointing at a simulator."""
    return ["--rest-url", sim.rest_url, "--trading-ws-url", sim.trading_ws_url, "--md-ws-url", sim.md_ws_url]


def issued_tokens(sim: TradovateSim) -> set[str]:
    """Every access / market-data token the simulator handed out.

    Read from the simulator's authenticator: its recorder holds tokens only as `[REDACTED]` (issue 15).
    """
    return set(sim.auth._grants)


@dataclass
class SimInThread:
    """A simulator served from its own event loop thread, for code that calls `asyncio.run` itself."""

    sim: TradovateSim
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread


@contextmanager
def simulator_thread(config: SimConfig) -> Iterator[TradovateSim]:
    """Run a simulator in a background thread for the duration of the block."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    sim = TradovateSim(config)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(sim.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(sim.stop())
        loop.close()

    thread = threading.Thread(target=serve, name="probe-test-sim", daemon=True)
    thread.start()
    assert started.wait(10), "simulator did not start"
    try:
        yield sim
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@contextmanager
def logging_restored() -> Iterator[None]:
    """Put the root logging handlers and structlog configuration back after a command reconfigured them."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    saved = structlog.get_config()
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            if handler not in handlers:
                handler.close()
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        structlog.configure(**saved)
