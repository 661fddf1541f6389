"""A NATS server and a simulator with U and OE attached, in this process; PA instances as processes on top.

Everything runs on real time: the PA processes cannot share a clock with this one. nats-server is generated and
provisioned as a desk's `pa nats provision` does; the simulator runs in this process so its recorder (what reached
Tradovate) and its connections can be inspected and hooked; U reads the facts stream through its durable as user
`u`, and OE sends intents and follows health as user `oe` (`NatsIntentCaller`, `NatsHealthFollower`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from pa_harness.failover.instance import PaProcess
from pa_harness.failover.owners import socket_owner
from pa_harness.nats_server import NatsServer
from pa_harness.reference.oe import ReferenceOE
from pa_harness.reference.u import ReferenceU
from platform_adapter.transport.nats import (
    Module,
    NatsFactConsumer,
    NatsHealthFollower,
    NatsIntentCaller,
    PaAccountObjects,
    connect,
    imported_jetstream,
)
from platform_adapter.transport.nats.connection import PASSWORD_ENV, PASSWORD_FILE_ENV, USER_ENV, disconnect
from tradovate_sim import SimConfig, TradovateSim

ACCOUNT_ID = SimConfig().account_id

# What every PA instance runs with (as a desk's TOML file): the simulator's two default contracts, test-sized
# history and backoff; everything else (lease, ledger, heartbeats, stop deadlines) at its production default.
PA_CONFIG = """\
mode = "LIVE"
environment = "simulator"
chart_history_bars = 20
chart_history_ticks = 50

[[instruments]]
symbol = "ESZ6"
timeframes = ["1m", "15s"]
quotes = true

[[instruments]]
symbol = "NQZ6"
quotes = true
dom = true

[backoff]
initial_s = 0.2
max_s = 2.0
jitter = 0.2
give_up_after_s = 60.0
"""


@dataclass(frozen=True)
class WorldConfig:
    """The knobs of one world."""

    seed: int = 7
    tick_interval_s: float | None = 0.1  # the simulator's market moves on its own, in real time (None: stepped)
    intent_timeout_s: float = 10.0  # OE's request timeout (then `unknown`, `timeout`)
    extra_config: str = ""  # TOML appended to the PA's configuration
    lease_ttl_s: float = 3.0
    sim_overrides: dict[str, Any] = field(default_factory=dict)


class NatsWorld:
    """`async with NatsWorld(workdir) as world:` — then `world.pa("a").start()`, `world.oe.send(...)`, `world.u`."""

    def __init__(self, workdir: Path, config: WorldConfig | None = None) -> None:
        self.workdir = workdir
        self.config = config or WorldConfig()
        self.server = NatsServer(workdir / "nats")
        self.sim = TradovateSim(
            SimConfig(
                seed=self.config.seed,
                tick_interval_s=self.config.tick_interval_s,
                history_s=1800.0,
                **self.config.sim_overrides,
            )
        )
        self.connections: list[Any] = []  # every socket connection the simulator accepted, in order (kept)
        self.owners: dict[int, int | None] = {}  # simulator connection id -> pid of the process on the other end
        self.connection_hooks: list[Callable[[Any], None]] = []  # called with each connection as it is accepted
        self.instances: list[PaProcess] = []
        self.u: ReferenceU
        self.oe: ReferenceOE
        self.health: NatsHealthFollower
        self._clients: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> NatsWorld:
        try:
            await self._start()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop()

    async def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        await self.server.start()
        await self.server.provision(PaAccountObjects(lease_ttl_s=self.config.lease_ttl_s))
        await self.sim.start(host="127.0.0.1", port=0, md_port=0)
        self._keep_connections()
        u_nc = await self._client(Module.U)
        oe_nc = await self._client(Module.OE)
        self.u = ReferenceU(self.workdir / "u.sqlite")
        consumer = NatsFactConsumer(imported_jetstream(u_nc), self.u.accept_batch, fetch_timeout_s=0.05)
        self.health = NatsHealthFollower(oe_nc)
        self.oe = ReferenceOE(
            NatsIntentCaller(oe_nc, timeout_s=self.config.intent_timeout_s),
            self.workdir / "oe.sqlite",
            health=self.health.queue,
            account_id=ACCOUNT_ID,
        )
        for name, coro in (("u-consumer", consumer.run()), ("oe-health", self.health.run()), ("oe", self.oe.run())):
            self._tasks.append(asyncio.create_task(coro, name=f"world-{name}"))
        async with asyncio.timeout(10.0):
            await self.health.ready.wait()
        (self.workdir / "pa.toml").write_text(PA_CONFIG + self.config.extra_config, encoding="utf-8")

    def _keep_connections(self) -> None:
        registry = self.sim.registry
        add = registry.add
        kept = self.connections
        ports = {"trading": urlsplit(self.sim.trading_ws_url).port, "md": urlsplit(self.sim.md_ws_url).port}

        def add_and_keep(connection: Any) -> None:
            kept.append(connection)
            peer, port = connection.peer, ports.get(connection.kind)
            pids = [pid for instance in self.instances for pid in instance.pids[-1:]]
            # Looked up at once: the client's process is alive and holds the socket now.
            self.owners[connection.id] = (
                socket_owner(peer[1], port, pids) if peer is not None and port is not None else None
            )
            add(connection)
            for hook in self.connection_hooks:
                hook(connection)

        registry.add = add_and_keep  # type: ignore[method-assign]

    def instance_of(self, pid: int | None) -> PaProcess | None:
        """The instance whose latest process has `pid`."""
        return next((i for i in self.instances if pid is not None and i.pids[-1:] == [pid]), None)

    async def _client(self, module: Module) -> Any:
        nc = await connect(self.server.url, self.server.auth(module), name=module.value, reconnect_wait_s=0.05)
        self._clients.append(nc)
        return nc

    def pa(self, name: str) -> PaProcess:
        """A PA instance (not started) of this world's account, with its own state and log directories."""
        # Nothing of this process's own configuration or NATS identity leaks into the PA's.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PA_") and k not in (USER_ENV, PASSWORD_ENV, PASSWORD_FILE_ENV)
        }
        env.update(self.server.auth(Module.PA).env())
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "PA_CONFIG": str(self.workdir / "pa.toml"),
                "PA_REST_URL": self.sim.rest_url,
                "PA_TRADING_WS_URL": self.sim.trading_ws_url,
                "PA_MD_WS_URL": self.sim.md_ws_url,
            }
        )
        instance = PaProcess(name, self.workdir, self.server.url, env)
        self.instances.append(instance)
        return instance

    def placed(self, cl_ord_id: str) -> int:
        """How many `order/placeorder` requests with this clOrdId reached the simulator."""
        return sum(
            1
            for request in self.sim.received_requests("order/placeorder")
            if isinstance(body := request.json_body(), dict) and body.get("clOrdId") == cl_ord_id
        )

    async def _stop(self) -> None:
        for instance in self.instances:
            if instance.running:
                await instance.kill()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for module in ("oe", "u"):
            with contextlib.suppress(AttributeError):
                getattr(self, module).close()
        for nc in reversed(self._clients):
            await disconnect(nc)
        with contextlib.suppress(Exception):
            await self.sim.stop()
        await self.server.stop()
