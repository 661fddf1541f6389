"""The built-in simulator as the PA's `simulator` environment (entry point `platform_adapter.environments`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from platform_adapter.config import Credentials, Settings
from tradovate_sim import SimConfig, TradovateSim


@contextlib.asynccontextmanager
async def embedded_simulator(
    settings: Settings, credentials: Credentials | None = None
) -> AsyncIterator[tuple[str, str, str]]:
    """Start the built-in simulator on 127.0.0.1 (ephemeral ports) and yield its endpoints.

    Its account takes the configured credentials when there are any (so they are exercised end to end,
    and shown never to leak), else the simulator's documented defaults.
    """
    sim_settings = settings.simulator
    password = credentials.password.get_secret_value() if credentials and credentials.password else None
    sim = TradovateSim(
        SimConfig(
            seed=sim_settings.seed,
            user=(credentials.username if credentials and credentials.username else None) or sim_settings.user,
            password=password or sim_settings.password,
            tick_interval_s=sim_settings.tick_interval_s,
        )
    )
    await sim.start(host="127.0.0.1", port=0, md_port=0)
    try:
        yield (sim.rest_url, sim.trading_ws_url, sim.md_ws_url)
    finally:
        await sim.stop()
