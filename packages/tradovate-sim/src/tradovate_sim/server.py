"""`TradovateSim`: wires the simulator together and serves it on loopback (main port + market-data port)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from tradovate_sim.accounts import AccountBook
from tradovate_sim.auth import Authenticator
from tradovate_sim.config import SimConfig
from tradovate_sim.connection import ConnectionRegistry, SimConnection, SocketKind
from tradovate_sim.contracts import ContractCatalog
from tradovate_sim.control import add_control_routes
from tradovate_sim.endpoints import TradovateApi
from tradovate_sim.entities import EntityStore, StaticEntity
from tradovate_sim.faults import FaultInjector, RequestFaults
from tradovate_sim.market import Market
from tradovate_sim.market_data import MarketDataService
from tradovate_sim.orders import OrderEngine
from tradovate_sim.penalties import PenaltyBox
from tradovate_sim.recorder import (
    Channel,
    FrameType,
    ReceivedFrame,
    ReceivedRequest,
    Recorder,
    SentFrame,
    SentMessage,
)
from tradovate_sim.rest import RestGateway
from tradovate_sim.schedule import ScheduleRunner
from tradovate_sim.strategies import OrderStrategies
from tradovate_sim.sync import UserSync
from tradovate_sim.variant_routes import add_variant_routes
from tradovate_sim.variants import VariantState
from tradovate_sim.websocket import WebSocketGateway
from tradovate_sim.wire import format_timestamp


class SimNotStarted(RuntimeError):
    """A URL was asked for before `start()`."""


class TradovateSim:
    """A Tradovate platform on 127.0.0.1: REST, trading socket, market-data socket, faults and records."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config = config or SimConfig()
        self.variants = VariantState(config.variants)
        self.recorder = Recorder(limit=config.max_records)
        self.catalog = ContractCatalog(config.contracts)
        self.market = Market(config, self.catalog.contracts)
        self.store = EntityStore()
        self._load_catalog()
        self.accounts = AccountBook(config, self.store, self.catalog, lambda: self.market.now_ms)
        self.orders = OrderEngine(
            self.store, self.accounts, self.market, self.catalog, self.variants, config.seed, config.partial_fill_qty
        )
        self.strategies = OrderStrategies(
            self.store, self.accounts, self.orders, self.catalog, lambda: self.market.now_ms
        )
        self.auth = Authenticator(config, self.variants)
        self.penalties = PenaltyBox(config.clock, config.seed)
        self.registry = ConnectionRegistry()
        self.request_faults = RequestFaults()
        self.sync = UserSync(self.store, self.accounts)
        self.market_data = MarketDataService(config, self.variants, self.market, self.catalog)
        self.faults = FaultInjector(self.registry, self.auth, self.request_faults, self)
        self.schedule = ScheduleRunner(config.fault_schedule, self.faults.apply)
        self.api = TradovateApi(
            config,
            self.variants,
            self.auth,
            self.penalties,
            self.request_faults,
            self.store,
            self.accounts,
            self.orders,
            self.strategies,
            self.sync,
            self.market_data,
            self.catalog,
            self.schedule,
        )
        self.rest = RestGateway(self.api, self.recorder)
        self.websockets = WebSocketGateway(
            config, self.variants, self.registry, self.recorder, self.auth, self.api, self.market_data, self.sync
        )
        self.store.add_listener(self.sync.on_props)
        self.market.add_listener(self.market_data.on_trades)
        self.market.add_listener(self.orders.on_trades)
        self.market.add_listener(lambda _ticks: self.schedule.on_step(self.market.step_count))
        self._host = "127.0.0.1"
        self._ports: dict[str, int] = {}
        self._runners: dict[str, web.AppRunner] = {}
        self._sites: dict[str, web.TCPSite] = {}

    def _load_catalog(self) -> None:
        for spec in self.catalog.contracts:
            self.store.load(StaticEntity("contract", spec.id, spec.as_contract(), spec.maturity_id))
            self.store.load(StaticEntity("contractMaturity", spec.maturity_id, spec.as_maturity(), spec.product_id))
            self.store.load(StaticEntity("product", spec.product_id, spec.as_product()))
        self.store.load(StaticEntity("currency", 1, {"id": 1, "name": "USD", "symbol": "$"}))

    async def start(self, host: str = "127.0.0.1", port: int = 0, md_port: int = 0) -> None:
        """Listen on loopback only: `port` for REST, trading socket and control; `md_port` for market data."""
        if not _is_loopback(host):
            raise ValueError(f"the simulator serves on loopback only, not {host!r}")
        self._host = host
        base = "/" + self.config.base_path.strip("/") if self.config.base_path.strip("/") else ""
        main = web.Application()
        main.router.add_get(f"{base}/websocket", self.websockets.handler("trading"))
        main.router.add_get("/md" + f"{base}/websocket", self.websockets.handler("md"))
        add_control_routes(main, self)
        add_variant_routes(main, self.variants)
        main.router.add_route("*", f"{base}/{{tail:.*}}", self.rest.handle)
        md = web.Application()
        md.router.add_get(f"{base}/websocket", self.websockets.handler("md"))
        for name, app, requested in (("main", main, port), ("md", md, md_port)):
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
            await runner.setup()
            self._runners[name] = runner
            self._ports[name] = requested
            await self.start_listener(name)
        self.schedule.start()
        if self.config.tick_interval_s is not None and self.config.tick_interval_s > 0:
            self.market.start_auto(self.config.tick_interval_s)

    async def stop(self) -> None:
        """Close every socket and listener and stop timers."""
        await self.market.stop_auto()
        await self.schedule.stop()
        await self.faults.stop()
        self.websockets.cancel_pending_replies()
        self.rest.stop()
        for conn in self.registry.all():
            await conn.close(1001, "Simulator stopping")
        for name in list(self._sites):
            await self.stop_listener(name)
        for runner in self._runners.values():
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> TradovateSim:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop_listener(self, name: str) -> None:
        """Stop accepting connections on one listener (`main` or `md`); open connections stay."""
        site = self._sites.pop(name, None)
        if site is not None:
            await site.stop()

    def drop_connections(self, name: str) -> None:
        """Drop every open TCP connection of a listener, so keep-alive HTTP clients see the outage too."""
        server = self._runners[name].server
        for handler in server.connections if server is not None else []:
            handler.force_close()

    async def start_listener(self, name: str) -> None:
        """(Re)open a listener on its port (the same port after the first start)."""
        if name in self._sites:
            return
        site = web.TCPSite(self._runners[name], self._host, self._ports[name], reuse_address=True)
        await site.start()
        self._ports[name] = site.port
        self._sites[name] = site

    def _port(self, name: str) -> int:
        if name not in self._ports:
            raise SimNotStarted("call await sim.start() first")
        return self._ports[name]

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (control endpoint lives under `/sim`)."""
        return f"http://{self._host}:{self._port('main')}"

    @property
    def rest_url(self) -> str:
        """REST base, e.g. `http://127.0.0.1:PORT/v1`."""
        return self.base_url + "/" + self.config.base_path.strip("/")

    @property
    def trading_ws_url(self) -> str:
        """Trading socket, e.g. `ws://127.0.0.1:PORT/v1/websocket`."""
        return f"ws://{self._host}:{self._port('main')}/{self.config.base_path.strip('/')}/websocket"

    @property
    def md_ws_url(self) -> str:
        """Market-data socket on its own port, e.g. `ws://127.0.0.1:MDPORT/v1/websocket`."""
        return f"ws://{self._host}:{self._port('md')}/{self.config.base_path.strip('/')}/websocket"

    @property
    def md_alias_ws_url(self) -> str:
        """The market-data socket's alias on the main port, `ws://127.0.0.1:PORT/md/v1/websocket`."""
        return f"ws://{self._host}:{self._port('main')}/md/{self.config.base_path.strip('/')}/websocket"

    def sent_messages(
        self,
        kind: Channel | None = None,
        conn_id: int | None = None,
        event: str | None = None,
        request_id: int | None = None,
        entity_type: str | None = None,
    ) -> list[SentMessage]:
        """Every message sent (`kind` = `md`, `trading` or `rest`), optionally filtered."""
        return self.recorder.sent_messages(kind, conn_id, event, request_id, entity_type)

    def sent_frames(
        self, kind: Channel | None = None, conn_id: int | None = None, frame_type: FrameType | None = None
    ) -> list[SentFrame]:
        """Every frame sent, exactly as written."""
        return self.recorder.sent_frames(kind, conn_id, frame_type)

    def received_requests(
        self, endpoint: str | None = None, kind: Channel | None = None, conn_id: int | None = None
    ) -> list[ReceivedRequest]:
        """Every request received (before faults decided its answer), optionally filtered."""
        return self.recorder.received_requests(endpoint, kind, conn_id)

    def received_frames(self, conn_id: int | None = None) -> list[ReceivedFrame]:
        """Raw client frames (requests and `[]` heartbeats)."""
        return self.recorder.received_frames(conn_id)

    def connections(self, kind: SocketKind | None = None) -> list[SimConnection]:
        """Open connections."""
        return self.registry.all(kind)

    async def step_market(self, n: int) -> int:
        """Step the market n times; returns the step count."""
        await self.market.step(n)
        return self.market.step_count

    def status(self) -> dict[str, Any]:
        """A summary for the control endpoint."""
        return {
            "restUrl": self.rest_url,
            "tradingWsUrl": self.trading_ws_url,
            "mdWsUrl": self.md_ws_url,
            "listening": sorted(self._sites),
            "stepCount": self.market.step_count,
            "marketTime": format_timestamp(self.market.now_ms),
            "variants": self.variants.current.label,
            "connections": [{"id": conn.id, "kind": conn.kind, "userId": conn.user_id} for conn in self.registry.all()],
            "faults": [{"kind": record.kind, "affected": record.affected} for record in self.faults.log],
        }

    def received_summary(self, endpoint: str | None) -> list[dict[str, Any]]:
        """Received requests as JSON."""
        requests: Sequence[ReceivedRequest] = self.recorder.received_requests(endpoint)
        return [
            {
                "connId": r.conn_id,
                "kind": r.kind,
                "endpoint": r.endpoint,
                "id": r.request_id,
                "query": r.query,
                "body": r.body,
            }
            for r in requests
        ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
