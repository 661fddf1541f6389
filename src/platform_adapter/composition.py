"""The composition root: the one place that wires configuration → Tradovate → core → a transport.

`pa run` lands here. Nothing below this module knows which transport or platform it runs with: `core` sees a
`Platform` and three ports, `transport` sees envelopes, acks and health, `tradovate` sees a `FactWriter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

import msgspec
from rich.console import Console

from platform_adapter import plugins
from platform_adapter.config import Credentials, Settings
from platform_adapter.core.adapter import PlatformAdapter
from platform_adapter.core.clock import Clock, SystemClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.operator import FactTap, OperatorSession
from platform_adapter.telemetry import configure_logging, get_logger
from platform_adapter.tradovate.platform import TradovatePlatform
from platform_adapter.transport.inproc import InProcFactChannel, InProcHealthChannel, InProcIntentChannel
from platform_adapter.transport.nats.connection import NatsAuth, NatsCredentialsError, connect, disconnect
from platform_adapter.transport.nats.facts import NatsFactSink
from platform_adapter.transport.nats.health import NatsHealthSink
from platform_adapter.transport.nats.intents import NatsIntentSource
from platform_adapter.transport.nats.streams import (
    FactStreamConfig,
    ProvisioningError,
    open_health_bucket,
    verify_fact_stream,
)

_log = get_logger("pa.composition")


def run_event_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run `main` on uvloop when it is installed (socket p50 latency 24 us vs 65 us on the stdlib loop,
    docs/performance.md), else on the stdlib loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


# -- the in-process transport -------------------------------------------------------------------------------


@dataclass
class InProcStack:
    """A PA on the in-process transport, with the channels U / OE attach to."""

    adapter: PlatformAdapter
    platform: TradovatePlatform
    facts: InProcFactChannel
    health: InProcHealthChannel
    intents: InProcIntentChannel


def build_inproc_stack(
    settings: Settings,
    credentials: Credentials,
    endpoints: plugins.Endpoints,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    fact_queue_size: int = 10_000,
    tap: FactTap | None = None,
) -> InProcStack:
    """Build (not start) a PA whose facts, health and intents travel over in-process channels.

    `tap` (the operator view's) sees each batch after the transport accepted it.
    """
    clock = clock or SystemClock()
    facts = InProcFactChannel(maxsize=fact_queue_size)
    health_channel = InProcHealthChannel()
    intents = InProcIntentChannel()
    health = HealthMonitor(clock, health_channel)
    platform = TradovatePlatform(settings, credentials, health, clock, endpoints=endpoints, rng=rng)
    sink = tap.wrap(facts, clock) if tap is not None else facts
    adapter = PlatformAdapter(settings.core(), platform, health, sink, intents, clock)
    return InProcStack(adapter, platform, facts, health_channel, intents)


# -- the NATS transport -------------------------------------------------------------------------------------


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
    endpoints: plugins.Endpoints,
    nc: Any,
    *,
    stream: FactStreamConfig | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> NatsStack:
    """Check the facts stream and health bucket `pa_admin` provisioned, and build (not start) a PA on `nc`."""
    # The PA creates nothing: ProvisioningError says what is missing and what to run (docs/transport-nats.md §9).
    clock = clock or SystemClock()
    js = nc.jetstream()
    await verify_fact_stream(js, (stream or FactStreamConfig()).name)
    health_sink = NatsHealthSink(nc, await open_health_bucket(js))
    health = HealthMonitor(clock, health_sink)
    platform = TradovatePlatform(settings, credentials, health, clock, endpoints=endpoints, rng=rng)
    facts = NatsFactSink(nc, run_id=platform.run_id, stream=(stream or FactStreamConfig()).name)
    intents = NatsIntentSource(nc, clock=clock)
    adapter = PlatformAdapter(settings.core(), platform, health, facts, intents, clock)
    return NatsStack(adapter, platform, facts, health_sink, intents, nc)


async def serve_pa_over_nats(
    settings: Settings,
    credentials: Credentials,
    nats_url: str,
    endpoints: plugins.Endpoints,
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


# -- `pa run` -----------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def environment_endpoints(settings: Settings, credentials: Credentials) -> AsyncIterator[plugins.Endpoints]:
    """The configured endpoints, or (when none are) those of an installed provider of the environment."""
    configured = settings.endpoints()
    if all(configured):
        yield configured
        return
    provider = plugins.environment(settings.environment.value)
    async with provider(settings, credentials) as endpoints:
        yield endpoints


def run_pa(settings: Settings, credentials: Credentials, *, tui: bool, transport: str | None) -> int:
    """`pa run`: the PA on the configured transport (in-process with the installed U / Paper / OE, or NATS)."""
    chosen = transport or settings.transport
    if chosen != "inproc" and not chosen.startswith(("nats://", "tls://")):
        print(f"pa: unknown transport {chosen!r}: use inproc or a nats:// URL", file=sys.stderr)
        return 2
    try:
        if chosen != "inproc":
            configure_logging(level=settings.log_level, log_dir=settings.log_dir, secrets=credentials.secret_values())
            return run_event_loop(_run_pa_over_nats(settings, credentials, chosen))
        with contextlib.ExitStack() as files:
            # With the live view on, the JSON logs go to <log_dir>/pa.jsonl only (the view owns the terminal).
            stream = files.enter_context(open(os.devnull, "w", encoding="utf-8")) if tui else None
            configure_logging(
                level=settings.log_level, log_dir=settings.log_dir, secrets=credentials.secret_values(), stream=stream
            )
            return run_event_loop(_run_pa(settings, credentials, tui=tui))
    except plugins.PluginMissing as exc:
        print(f"pa: {exc}", file=sys.stderr)
        return 2


async def _run_pa_over_nats(settings: Settings, credentials: Credentials, nats_url: str) -> int:
    """The PA alone, publishing facts and health to NATS JetStream and serving intents from it."""
    async with environment_endpoints(settings, credentials) as endpoints:
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await serve_pa_over_nats(settings, credentials, nats_url, endpoints)
            except (ProvisioningError, NatsCredentialsError, ConnectionError) as exc:
                print(f"pa: NATS: {exc}", file=sys.stderr)
                return 2
    return 0


async def _run_pa(settings: Settings, credentials: Credentials, *, tui: bool = False) -> int:
    modules = plugins.modules()
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    async with environment_endpoints(settings, credentials) as endpoints:
        tap = FactTap()
        stack = build_inproc_stack(settings, credentials, endpoints, tap=tap)
        async with (
            modules(facts=stack.facts, health=stack.health, intents=stack.intents, state_dir=settings.log_dir),
            OperatorSession.attach(
                stack.adapter,
                stack.platform,
                tap,
                console=Console(),
                tui=tui,
                port=settings.metrics_port or None,  # 0 = no endpoints
                title=f"Platform Adapter  logs {settings.log_dir / 'pa.jsonl'}",
            ),
        ):
            with contextlib.suppress(asyncio.CancelledError):
                await stack.adapter.run()
    return 0
