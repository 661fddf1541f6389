"""The PA on the NATS transport: its three ports on one connection as the `pa` user, and a run to completion."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from typing import Any

import msgspec

from platform_adapter.config import Credentials, Settings
from platform_adapter.core.adapter import PlatformAdapter
from platform_adapter.core.clock import Clock, SystemClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.platform import TradovatePlatform
from platform_adapter.transport.nats.connection import NatsAuth, connect, disconnect
from platform_adapter.transport.nats.facts import NatsFactSink
from platform_adapter.transport.nats.health import NatsHealthSink
from platform_adapter.transport.nats.intents import NatsIntentSource
from platform_adapter.transport.nats.streams import FactStreamConfig, ensure_fact_stream, ensure_health_bucket

_log = get_logger("pa.nats.adapter")


@dataclass
class NatsStack:
    """A PA whose facts, health and intents travel over NATS, with each piece reachable for views and tests."""

    adapter: PlatformAdapter
    platform: TradovatePlatform
    facts: NatsFactSink
    health: NatsHealthSink
    intents: NatsIntentSource
    nc: Any


async def build_nats_stack(
    settings: Settings,
    credentials: Credentials,
    endpoints: tuple[str, str, str],
    nc: Any,
    *,
    stream: FactStreamConfig | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> NatsStack:
    """Create the facts stream and health bucket if missing, and build (not start) a PA on `nc`."""
    clock = clock or SystemClock()
    js = nc.jetstream()
    await ensure_fact_stream(js, stream)
    health_sink = NatsHealthSink(nc, await ensure_health_bucket(js))
    health = HealthMonitor(clock, health_sink)
    platform = TradovatePlatform(settings, credentials, health, clock, endpoints=endpoints, rng=rng)
    facts = NatsFactSink(nc, run_id=platform.run_id)
    intents = NatsIntentSource(nc, clock=clock)
    adapter = PlatformAdapter(settings, platform, health, facts, intents, clock)
    return NatsStack(adapter, platform, facts, health_sink, intents, nc)


async def serve_pa_over_nats(
    settings: Settings,
    credentials: Credentials,
    nats_url: str,
    endpoints: tuple[str, str, str],
    *,
    auth: NatsAuth | None = None,
    stream: FactStreamConfig | None = None,
) -> None:
    """`pa run --transport nats://...`: the PA alone as NATS user `pa`, until cancelled; its last word is PA_DOWN."""
    # Credentials: PA_NATS_USER / PA_NATS_PASSWORD unless `auth` is given. The final PA_DOWN keeps a
    # late-joining OE from reading a stale PA_UP out of the health bucket.
    nc = await connect(nats_url, auth if auth is not None else NatsAuth.from_env(), name="pa")
    try:
        stack = await build_nats_stack(settings, credentials, endpoints, nc, stream=stream)
        _log.info("pa_on_nats", url=nats_url, run_id=stack.platform.run_id)
        try:
            await stack.adapter.run()
        finally:
            await _publish_final_health(stack)
    finally:
        await disconnect(nc)


async def _publish_final_health(stack: NatsStack) -> None:
    monitor = stack.adapter.health
    last_seq = monitor.published[-1].seq if monitor.published else 0
    final = msgspec.structs.replace(monitor.current, seq=last_seq + 1, ts=stack.adapter.clock.now_ns())
    # Shielded: this runs while the PA is being cancelled, and the signal must still go out (bounded by the
    # sink's own KV timeout).
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(stack.health.publish(final))
