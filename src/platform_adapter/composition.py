"""The composition root: the one place that wires configuration → Tradovate → core → a transport.

`pa run` lands here. Nothing below this module knows which transport or platform it runs with: `core` sees a
`Platform` and three ports, `transport` sees envelopes, acks and health, `tradovate` sees a `FactWriter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import os
import random
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import msgspec
from rich.console import Console

from platform_adapter import plugins
from platform_adapter.config import ConfigError, Credentials, Settings, load_credentials
from platform_adapter.core.adapter import PlatformAdapter
from platform_adapter.core.clock import Clock, SystemClock
from platform_adapter.core.fact_history import FileFactHistory
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.intent_store import SqliteIntentStore
from platform_adapter.core.lease import FileLease
from platform_adapter.core.ports import FactSink
from platform_adapter.operator import FactTap, OperatorSession
from platform_adapter.telemetry import configure_logging, get_logger, redactor
from platform_adapter.tradovate.platform import TradovatePlatform
from platform_adapter.transport.inproc import InProcFactChannel, InProcHealthChannel, InProcIntentChannel
from platform_adapter.transport.nats.connection import NatsAuth, NatsCredentialsError, connect, disconnect
from platform_adapter.transport.nats.fact_history import NatsFactHistory
from platform_adapter.transport.nats.facts import NatsFactSink
from platform_adapter.transport.nats.health import NatsHealthSink
from platform_adapter.transport.nats.intent_store import NatsIntentStore, open_ledger_bucket
from platform_adapter.transport.nats.intents import NatsIntentSource
from platform_adapter.transport.nats.lease import NatsLease, open_lease_bucket
from platform_adapter.transport.nats.streams import (
    FactStreamConfig,
    ProvisioningError,
    open_health_bucket,
    verify_fact_stream,
)

_log = get_logger("pa.composition")


def run_event_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run `main` on uvloop when it is installed (socket p50 latency 24 us vs 65 us on the stdlib loop,
    docs/performance.md), else on the stdlib loop.

    Everything allocated so far (the imports: ~67k objects, whose full collection stalls the loop for 50-60 ms on
    the 2-core VM, docs/performance.md "Socket p99") is moved out of the collector's sight first: a PA's later
    generation-2 collections then scan only what the run itself allocates.
    """
    gc.collect()
    gc.freeze()
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
    history: FileFactHistory | None = None  # where the facts delivered to U ended (durable stacks only)


def build_inproc_stack(
    settings: Settings,
    credentials: Credentials,
    endpoints: plugins.Endpoints,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    fact_queue_size: int = 10_000,
    tap: FactTap | None = None,
    durable: bool = False,
) -> InProcStack:
    """Build (not start) a PA whose facts, health and intents travel over in-process channels.

    `tap` (the operator view's) sees each batch after the transport accepted it. `durable`: the intent ledger in
    SQLite, the lease as a lock file and where the facts delivered to U ended, all in `settings.state_dir` (what
    `pa run` uses); else in memory, no lease, and a new run does not resume from an earlier one.
    """
    clock = clock or SystemClock()
    facts = InProcFactChannel(maxsize=fact_queue_size)
    health_channel = InProcHealthChannel()
    intents = InProcIntentChannel()
    health = HealthMonitor(clock, health_channel)
    history = FileFactHistory(settings.state_dir / "last-facts.json", clock) if durable else None
    platform = TradovatePlatform(settings, credentials, health, clock, endpoints=endpoints, rng=rng, history=history)
    delivered: FactSink = history.wrap(facts) if history is not None else facts
    sink = tap.wrap(delivered, clock) if tap is not None else delivered
    lease, store = (
        (
            FileLease(settings.state_dir, clock, holder=instance_id(platform.run_id), poll_s=settings.lease.poll_s),
            SqliteIntentStore(settings.state_dir / "ledger.sqlite", settings.ledger),
        )
        if durable
        else (None, None)
    )
    adapter = PlatformAdapter(settings.core(), platform, health, sink, intents, clock, lease=lease, store=store)
    return InProcStack(adapter, platform, facts, health_channel, intents, history)


def instance_id(run_id: str) -> str:
    """Who this PA instance is, for the lease and the logs: host, process and run."""
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"


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
    tap: FactTap | None = None,
) -> NatsStack:
    """Check the objects `pa_admin` provisioned (facts stream; health, lease and ledger buckets), build a PA on `nc`.

    The PA creates nothing: ProvisioningError says what is missing and what to run (docs/transport-nats.md §9).
    `tap` (the operator endpoints') sees each batch after JetStream acknowledged it.
    """
    clock = clock or SystemClock()
    js = nc.jetstream()
    await verify_fact_stream(js, (stream or FactStreamConfig()).name)
    health_sink = NatsHealthSink(nc, await open_health_bucket(js))
    health = HealthMonitor(clock, health_sink)
    stream_name = (stream or FactStreamConfig()).name
    platform = TradovatePlatform(
        settings, credentials, health, clock, endpoints=endpoints, rng=rng, history=NatsFactHistory(js, stream_name)
    )
    facts = NatsFactSink(nc, run_id=platform.run_id, stream=stream_name)
    intents = NatsIntentSource(nc, clock=clock)
    sink = tap.wrap(facts, clock) if tap is not None else facts
    lease = NatsLease(
        await open_lease_bucket(js, settings.lease.ttl_s),
        clock,
        holder=instance_id(platform.run_id),
        key=lease_key(settings, credentials),
        ttl_s=settings.lease.ttl_s,
        renew_s=settings.lease.renew_s,
        poll_s=settings.lease.poll_s,
    )
    store = NatsIntentStore(await open_ledger_bucket(js, settings.ledger), settings.ledger)
    adapter = PlatformAdapter(settings.core(), platform, health, sink, intents, clock, lease=lease, store=store)
    return NatsStack(adapter, platform, facts, health_sink, intents, nc)


async def serve_pa_over_nats(
    settings: Settings,
    credentials: Credentials,
    nats_url: str,
    endpoints: plugins.Endpoints,
    *,
    auth: NatsAuth | None = None,
    stream: FactStreamConfig | None = None,
    metrics_port: int | None = None,
    reload_credentials: Callable[[], Credentials] | None = None,
) -> None:
    """`pa run --transport nats://...`: the PA alone as NATS user `pa`, until cancelled; its last word is PA_DOWN.

    With `metrics_port` (0 = any free port) it serves `/metrics` and `/healthz` on 127.0.0.1, as in-process;
    with `reload_credentials`, SIGHUP reloads the credentials (ADR 0011).
    """
    # Credentials: PA_NATS_USER / PA_NATS_PASSWORD unless `auth` is given. The final PA_DOWN keeps a
    # late-joining OE from reading a stale PA_UP out of the health bucket.
    nc = await connect(nats_url, auth if auth is not None else NatsAuth.from_env(), name="pa")
    try:
        tap = FactTap() if metrics_port is not None else None
        stack = await build_nats_stack(settings, credentials, endpoints, nc, stream=stream, tap=tap)
        _log.info("pa_on_nats", url=nats_url, run_id=stack.platform.run_id)
        async with contextlib.AsyncExitStack() as operator:
            if metrics_port is not None:
                await operator.enter_async_context(
                    OperatorSession.attach(
                        stack.adapter, stack.platform, tap, console=Console(stderr=True), tui=False, port=metrics_port
                    )
                )
            if reload_credentials is not None:
                operator.enter_context(reload_on_sighup(stack.platform, reload_credentials))
                operator.enter_context(stop_on_signals(stack.adapter))
            try:
                await stack.adapter.run()
            finally:
                await _publish_final_health(stack)
    finally:
        await disconnect(nc)


@contextlib.contextmanager
def stop_on_signals(adapter: PlatformAdapter) -> Iterator[None]:
    """While inside: SIGTERM or SIGINT stops the PA gracefully (`PlatformAdapter.stop`); a second one at once."""
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def stop(signum: int) -> None:
        if stopping:  # asked twice: stop now
            _log.warning("stop_forced", signal=signal.Signals(signum).name)
            if adapter.main_task is not None:
                adapter.main_task.cancel()
            return
        _log.info("stop_requested", signal=signal.Signals(signum).name)
        stopping.append(loop.create_task(adapter.stop(), name="graceful-stop"))

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        yield
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


@contextlib.contextmanager
def reload_on_sighup(platform: TradovatePlatform, load: Callable[[], Credentials]) -> Iterator[None]:
    """While inside: SIGHUP reloads the credentials and, after a refused login, allows one new login (ADR 0011).

    A signal, not an endpoint: only the PA's own user (or root) can send it.
    """
    loop = asyncio.get_running_loop()

    def reload() -> None:
        try:
            credentials = load()
        except ConfigError as exc:
            _log.error("credentials_reload_failed", error=str(exc))
            return
        redactor().add(credentials.secret_values())
        released = platform.retry_login(credentials)
        _log.warning("credentials_reloaded", login_released=released)

    try:
        loop.add_signal_handler(signal.SIGHUP, reload)
    except (AttributeError, NotImplementedError, RuntimeError):  # no SIGHUP here, or not the main thread
        _log.warning("sighup_unavailable", detail="restart the PA to reload its credentials")
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


async def _publish_final_health(stack: NatsStack) -> None:
    monitor = stack.adapter.health
    if not monitor.speaking:  # a standby (or deposed) instance must not overwrite the active one's health
        return
    last_seq = monitor.published[-1].seq if monitor.published else 0
    final = msgspec.structs.replace(monitor.current, seq=last_seq + 1, ts=stack.adapter.clock.now_ns())
    # Shielded: this runs while the PA is being cancelled, and the signal must still go out (bounded by the
    # sink's own KV timeout).
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(stack.health.publish(final))


def lease_key(settings: Settings, credentials: Credentials) -> str:
    """One lease per Tradovate user and set of accounts it trades (all of the user's when none is configured)."""
    scope = f"{credentials.username or settings.simulator.user}/{','.join(sorted(settings.accounts)) or '*'}"
    return "pa-" + hashlib.sha256(scope.encode("utf-8")).hexdigest()[:32]


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
    """`pa run`: the PA on the configured transport (in-process with the installed U / Paper / OE, or NATS).

    A configuration problem found only at run time (the log directory, the metrics port, a symbol or account
    Tradovate does not know) ends the run with one line on stderr and exit code 2, like a bad config file.
    """
    chosen = transport or settings.transport
    if chosen != "inproc" and not chosen.startswith(("nats://", "tls://")):
        print(f"pa: unknown transport {chosen!r}: use inproc or a nats:// URL", file=sys.stderr)
        return 2
    try:
        if chosen != "inproc":
            start_logging(settings, credentials)
            return run_event_loop(_run_pa_over_nats(settings, credentials, chosen))
        with contextlib.ExitStack() as files:
            # With the live view on, the JSON logs go to <log_dir>/pa.jsonl only (the view owns the terminal).
            stream = files.enter_context(open(os.devnull, "w", encoding="utf-8")) if tui else None
            start_logging(settings, credentials, stream=stream)
            return run_event_loop(_run_pa(settings, credentials, tui=tui))
    except plugins.PluginMissing as exc:
        print(f"pa: {exc}", file=sys.stderr)
        return 2
    except (ConfigError, BaseExceptionGroup) as exc:
        problem = config_problem(exc)
        if problem is None:
            raise
        print(f"pa: configuration error: {problem}", file=sys.stderr)
        return 2


def start_logging(settings: Settings, credentials: Credentials, *, stream: TextIO | None = None) -> None:
    """Configure the JSON logs; raises ConfigError when `log_dir` cannot be written."""
    try:
        configure_logging(
            level=settings.log_level, log_dir=settings.log_dir, secrets=credentials.secret_values(), stream=stream
        )
    except OSError as exc:
        raise ConfigError(
            f"cannot write the log to {str(settings.log_dir)!r}: {exc.strerror or exc}; "
            "set log_dir (or PA_LOG_DIR) to a directory this user can write"
        ) from None


def config_problem(exc: BaseException) -> ConfigError | None:
    """The configuration error that ended a run, if that is all that ended it (tasks fail in exception groups)."""
    if isinstance(exc, ConfigError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        found, rest = exc.split(ConfigError)
        if found is not None and rest is None:
            leaf: BaseException = found
            while isinstance(leaf, BaseExceptionGroup):
                leaf = leaf.exceptions[0]
            return leaf if isinstance(leaf, ConfigError) else None
    return None


async def _run_pa_over_nats(settings: Settings, credentials: Credentials, nats_url: str) -> int:
    """The PA alone, publishing facts and health to NATS JetStream and serving intents from it."""
    async with environment_endpoints(settings, credentials) as endpoints:
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await serve_pa_over_nats(
                    settings,
                    credentials,
                    nats_url,
                    endpoints,
                    metrics_port=settings.metrics_port or None,  # 0 = no endpoints
                    reload_credentials=_credentials_loader(settings),
                )
            except (ProvisioningError, NatsCredentialsError, ConnectionError) as exc:
                print(f"pa: NATS: {exc}", file=sys.stderr)
                return 2
    return 0


def _credentials_loader(settings: Settings) -> Callable[[], Credentials]:
    return functools.partial(load_credentials, policy=settings.secrets_permissions)


async def _run_pa(settings: Settings, credentials: Credentials, *, tui: bool = False) -> int:
    modules = plugins.modules()
    async with environment_endpoints(settings, credentials) as endpoints:
        tap = FactTap()
        stack = build_inproc_stack(settings, credentials, endpoints, tap=tap, durable=True)
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
            with (
                reload_on_sighup(stack.platform, _credentials_loader(settings)),
                stop_on_signals(stack.adapter),
                contextlib.suppress(asyncio.CancelledError),
            ):
                try:
                    await stack.adapter.run()
                finally:
                    if stack.history is not None:
                        stack.history.flush()  # where this run stopped, for the next one
    return 0
