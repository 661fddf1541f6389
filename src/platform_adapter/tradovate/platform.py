"""`TradovatePlatform`: the one face `core` sees of Tradovate (the `Platform` port)."""

from __future__ import annotations

import asyncio
import random
import uuid

import aiohttp

from platform_adapter.config import ConfigError, Credentials, Mode, Settings
from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.ports import STARTUP_KEY, FactHistory, FactWriter, IntentLedgerView, Rejection
from platform_adapter.mic import AckReason, AckStatus, FactMode, HealthReason, HealthState, Intent, ReceiptAck
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.backoff import Backoff
from platform_adapter.tradovate.budget import RequestBudget
from platform_adapter.tradovate.connection import Role, TradovateSocket
from platform_adapter.tradovate.contracts import ReferenceData, load_reference_data
from platform_adapter.tradovate.correlation import Correlation
from platform_adapter.tradovate.errors import TradovateError, Unauthorized
from platform_adapter.tradovate.facts import FactBuilder
from platform_adapter.tradovate.market_data import MarketDataFeed
from platform_adapter.tradovate.observed import FactObserver, ObservedState
from platform_adapter.tradovate.orders import OrderExecutor
from platform_adapter.tradovate.rest import RestClient
from platform_adapter.tradovate.resume import ResumeGaps, learn_previous_run
from platform_adapter.tradovate.supervisor import SocketSupervisor
from platform_adapter.tradovate.user_sync import UserSync

_log = get_logger("pa.tradovate")


class TradovatePlatform:
    """Connects to Tradovate (REST + trading socket + market-data socket) and executes intents."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        health: HealthMonitor,
        clock: Clock,
        *,
        endpoints: tuple[str, str, str],
        rng: random.Random | None = None,
        history: FactHistory | None = None,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._health = health
        self._clock = clock
        self._rest_url, self._trading_url, self._md_url = endpoints
        self._rng = rng or random.Random()
        self._history = history  # where earlier runs' facts ended, to resume from (None: not asked)
        self.budget = RequestBudget(clock, health, settings.budget)
        self.reference: ReferenceData | None = None
        self.builder: FactBuilder | None = None
        self.trading: TradovateSocket | None = None
        self.md: TradovateSocket | None = None
        self.links: dict[Role, SocketSupervisor] = {}  # what keeps each socket connected, and its loss history
        self.market_data: MarketDataFeed | None = None
        self.sync: UserSync | None = None
        self.tokens: TokenManager | None = None
        self._orders: OrderExecutor | None = None
        self.observed = ObservedState()  # what the forwarded facts showed, for the intent gate's limits
        self.started = asyncio.Event()
        self.run_id = uuid.uuid4().hex[:16]  # identifies this PA run in every fact
        self.lease_epoch: int | None = None  # of the current tenure, on every fact

    # -- Platform port ------------------------------------------------------------------------------

    def validate(self, intent: Intent) -> Rejection | None:
        """Account, symbol, tick grid and instrument limits; refused while the platform side is not started."""
        if self._orders is None:
            return Rejection(AckReason.PA_DOWN, "the PA has not finished connecting to Tradovate yet")
        return self._orders.validate(intent)

    def known_outcome(self, intent: Intent, received_ts: int) -> ReceiptAck | None:
        """Accepted, duplicate, when a command with clOrdId = the intent id was seen (sync snapshot or event)."""
        builder = self.builder
        if builder is None:
            return None
        placed, order_id = builder.correlation.placed(intent.intent_id)
        if not placed:
            return None
        return ReceiptAck(
            intent_id=intent.intent_id,
            status=AckStatus.ACCEPTED,
            received_ts=received_ts,
            acked_ts=self._clock.now_ns(),
            detail=(
                "Tradovate already has a command with clOrdId = this intent id (sent earlier, by this or another "
                "PA run): not sent again"
            ),
            platform_order_id=order_id,
            duplicate=True,
        )

    async def execute(self, intent: Intent, received_ts: int) -> ReceiptAck:
        """Execute on the trading socket; never raises."""
        if self._orders is None:
            return ReceiptAck(
                intent_id=intent.intent_id,
                status=AckStatus.FAILED,
                received_ts=received_ts,
                acked_ts=self._clock.now_ns(),
                reason=AckReason.PA_DOWN,
                detail="the PA has not finished connecting to Tradovate yet",
            )
        return await self._orders.execute(intent, received_ts)

    def retry_login(self, credentials: Credentials) -> bool:
        """Take reloaded credentials; after a refused login, allow one new login (SIGHUP, ADR 0011).

        True if a refused login was latched and is now released.
        """
        self._credentials = credentials
        return self.tokens.release(credentials) if self.tokens is not None else False

    async def run(self, facts: FactWriter, ledger: IntentLedgerView, *, lease_epoch: int | None = None) -> None:
        """Load reference data (retrying), then keep both sockets up until cancelled (one tenure as active PA)."""
        self.lease_epoch = lease_epoch
        self._orders = None  # a new tenure: nothing is sent on an earlier tenure's connections
        async with aiohttp.ClientSession() as http:
            rest = RestClient(http, self._rest_url, self.budget, timeout_s=self.settings.heartbeat.request_timeout_s)
            tokens = TokenManager(rest, self._credentials, self.settings, self._clock, self._health)
            self.tokens = tokens
            reference = await self._load_reference(rest, tokens)
            self.reference = reference
            self.observed.watch_trades(
                {i.contract_id for i in reference.instruments.values() if i.settings.price_band_pct is not None}
            )
            mode = FactMode.SIM if self.settings.mode is Mode.SIM else FactMode.LIVE
            facts = FactObserver(facts, self.observed)
            symbols = {c: i.symbol for c, i in reference.by_contract.items()}
            correlation = Correlation()
            for intent_id in ledger.unresolved():  # a previous run's open intents: facts about them resolve them
                correlation.intent_sent(intent_id, 0)
            builder = FactBuilder(
                mode, facts, correlation, symbols=symbols, run_id=self.run_id, lease_epoch=lease_epoch
            )
            self.builder = builder
            resume = (
                ResumeGaps(await learn_previous_run(self._history, reference), builder, self._clock)
                if self._history is not None
                else None
            )
            if resume is not None:
                resume.begin()  # the previous run's end, before any fact of this tenure's connections
            md = self._link(Role.MD, self._md_url, http, tokens, builder)
            self.md = md.socket
            feed = MarketDataFeed(reference, builder, self.settings, self._clock, self._health)
            feed.attach(md)
            if resume is not None:
                resume.attach(md, feed)
            self.market_data = feed
            if self.settings.mode is Mode.LIVE:  # SIM: market ingress only (spec 3.1)
                trading = self._link(Role.TRADING, self._trading_url, http, tokens, builder)
                if resume is not None:
                    resume.attach(trading)
                sync = UserSync(
                    tokens,
                    builder,
                    ledger,
                    self._clock,
                    accounts=reference.accounts,
                    split_responses=self.settings.sync_split_responses,
                )
                sync.attach(trading)
                self.trading, self.sync = trading.socket, sync
                self._orders = OrderExecutor(
                    trading.socket,
                    reference,
                    tokens,
                    builder.correlation,
                    self._clock,
                    self.settings.heartbeat,
                    self.observed,
                )
            self.started.set()
            self._health.clear(STARTUP_KEY)  # each socket now reports its own link state
            async with asyncio.TaskGroup() as group:
                group.create_task(tokens.renew_forever(), name="token-renewal")
                group.create_task(self.budget.run(), name="request-budget")
                for role in (Role.TRADING, Role.MD):
                    if role in self.links:
                        group.create_task(self.links[role].run(), name=f"{role.value}-socket")

    def _link(
        self, role: Role, url: str, http: aiohttp.ClientSession, tokens: TokenManager, builder: FactBuilder
    ) -> SocketSupervisor:
        """A socket and the supervisor that keeps it connected."""
        socket = TradovateSocket(
            role,
            url,
            http=http,
            tokens=tokens,
            budget=self.budget,
            builder=builder,
            clock=self._clock,
            heartbeat=self.settings.heartbeat,
        )
        link = SocketSupervisor(
            socket,
            builder=builder,
            budget=self.budget,
            health=self._health,
            clock=self._clock,
            backoff=self.settings.backoff,
            rng=self._rng,
        )
        self.links[role] = link
        return link

    async def _load_reference(self, rest: RestClient, tokens: TokenManager) -> ReferenceData:
        backoff = Backoff(self.settings.backoff, self._rng)
        attempt = 0
        while True:
            try:
                await tokens.access_token()
                reference = await load_reference_data(rest, self.settings)
            except ConfigError as exc:  # an unknown symbol or account: retrying cannot help
                self._health.raise_condition(STARTUP_KEY, HealthReason.CONFIG_ERROR, HealthState.DOWN, detail=str(exc))
                raise
            except (TradovateError, aiohttp.ClientError, OSError) as exc:
                if isinstance(exc, Unauthorized):  # the token was refused: the next attempt asks for a new one
                    tokens.invalidate()
                self._health.raise_condition(
                    STARTUP_KEY,
                    HealthReason.CONNECTING,
                    HealthState.DEGRADED,
                    detail=f"cannot load Tradovate reference data yet: {type(exc).__name__}: {exc}",
                )
                _log.warning("reference_data_retry", attempt=attempt, error=f"{type(exc).__name__}: {exc}")
                await self._clock.sleep(backoff.delay(attempt))
                attempt += 1
                continue
            return reference
