"""A running simulator + PA + reference U/Paper/OE, for tests against the real wire protocol on 127.0.0.1.

The PA talks to U and OE over one of two transports: `inproc` (in-process channels, the default) or `nats`
(a real nats-server, each module its own NATS user: see `over_nats`). Tests see the same `Harness` either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import msgspec
import pytest

from pa_harness.acceptance.variants import from_environment
from pa_harness.reference import IntentCaller, ReferenceOE, ReferencePaper, ReferenceSystem, ReferenceU
from platform_adapter.composition import InProcStack, build_inproc_stack
from platform_adapter.config import (
    BackoffSettings,
    Credentials,
    HeartbeatSettings,
    InstrumentSettings,
    Mode,
    OutboxSettings,
    Settings,
)
from platform_adapter.core.adapter import PlatformAdapter, Role
from platform_adapter.core.clock import ManualClock
from platform_adapter.mic import (
    FactEnvelope,
    FactKind,
    FactMode,
    HealthReason,
    HealthState,
    OrderAction,
    OrderType,
    PacketLabel,
    Stream,
    SubmitOrder,
)
from platform_adapter.tradovate.platform import TradovatePlatform
from platform_adapter.transport.nats import FactStreamConfig
from tradovate_sim import ManualClock as SimManualClock
from tradovate_sim import SimConfig, TradovateSim

from .over_nats import NatsWiring, over_nats

ACCOUNT_ID = 701234
Transport = Literal["inproc", "nats"]
TRANSPORTS: tuple[Transport, ...] = ("inproc", "nats")
_FACT_COLUMNS = (
    "kind",
    "stream",
    "mode",
    "recv_ts",
    "connection",
    "connection_id",
    "epoch",
    "delivery_seq",
    "platform_ts",
    "platform_seq",
    "contract_id",
    "symbol",
    "account_id",
    "correlation_id",
    "request_id",
    "timeframe",
    "historical",
    "backfill",
    "packets",
    "payload",
)


def market_order(intent_id: str, **fields: object) -> SubmitOrder:
    """A market buy of 1 ESZ6 on the simulator's account, as OE would send it; `fields` override any field."""
    values: dict[str, object] = {
        "intent_id": intent_id,
        "account_id": ACCOUNT_ID,
        "symbol": "ESZ6",
        "action": OrderAction.BUY,
        "qty": 1,
        "order_type": OrderType.MARKET,
    }
    values.update(fields)
    return SubmitOrder(**values)  # type: ignore[arg-type]


def settings_for(sim: TradovateSim, **overrides: Any) -> Settings:
    """Settings pointing at `sim`, with test-sized bounds (time only moves when a test advances it)."""
    values: dict[str, Any] = {
        "mode": Mode.LIVE,
        "rest_url": sim.rest_url,
        "trading_ws_url": sim.trading_ws_url,
        "md_ws_url": sim.md_ws_url,
        "instruments": (
            InstrumentSettings(symbol="ESZ6", timeframes=("1m", "15s"), quotes=True),
            InstrumentSettings(symbol="NQZ6", timeframes=(), quotes=True, dom=True),
        ),
        "backoff": BackoffSettings(initial_s=0.5, max_s=4.0, jitter=0.2, give_up_after_s=30.0),
        # The simulator's `h` runs on real time while tests advance the PA's clock by hand, so the silence
        # bound is generous here; the silence test sets the real default.
        "heartbeat": HeartbeatSettings(silence_timeout_s=1000.0, request_timeout_s=5.0, order_request_timeout_s=3.0),
        "outbox": OutboxSettings(capacity=100_000),
        "chart_history_bars": 20,
        "chart_history_ticks": 50,
    }
    values.update(overrides)
    return Settings(**values)


def sim_config(**overrides: Any) -> SimConfig:
    """A simulator stepped by hand (no wall-clock market), lenient about client heartbeats.

    Its variant set is the one `PA_SIM_VARIANTS` names (`pa acceptance --variants` and `pytest --sim-variants` set
    it), unless `overrides` has `variants`.
    """
    values: dict[str, Any] = {
        "seed": 7,
        "tick_interval_s": None,
        "client_timeout_s": 600.0,
        "history_s": 1800.0,
        "variants": from_environment(),
    }
    values.update(overrides)
    return SimConfig(**values)


class FactEnvelopeFields(msgspec.Struct):
    """The envelope's fields as U stored them, typed back (enums, bools) by msgspec."""

    kind: FactKind
    stream: Stream
    mode: FactMode
    recv_ts: int
    connection: str
    connection_id: str
    epoch: int
    delivery_seq: int
    platform_ts: str | int | None
    platform_seq: int | None
    contract_id: int | None
    symbol: str | None
    account_id: int | None
    correlation_id: str | None
    request_id: int | None
    timeframe: str | None
    historical: bool | None
    backfill: bool
    packets: tuple[PacketLabel, ...] | None


class PAStack(Protocol):
    """The PA as tests reach it, whatever the transport: `InProcStack`, or `NatsPAStack`."""

    @property
    def adapter(self) -> PlatformAdapter: ...

    @property
    def platform(self) -> TradovatePlatform: ...

    @property
    def intents(self) -> IntentCaller:
        """OE's side of the intent path: `call(intent, sender)` returns the PA's receipt-ack."""
        ...


class ReferenceModules(Protocol):
    """U, Paper and OE on one database: `ReferenceSystem` (in-process or NATS wiring)."""

    @property
    def db(self) -> sqlite3.Connection: ...

    @property
    def u(self) -> ReferenceU: ...

    @property
    def paper(self) -> ReferencePaper: ...

    @property
    def oe(self) -> ReferenceOE: ...


@dataclass
class Harness:
    """Everything a test may poke at."""

    sim: TradovateSim
    stack: PAStack
    system: ReferenceModules
    clock: ManualClock
    sim_clock: SimManualClock
    pa_task: asyncio.Task[None]
    transport: Transport
    inproc: InProcStack | None = None  # the in-process channels (transport "inproc")
    nats: NatsWiring | None = None  # the server, the PA's NATS ports, the stream's configuration (transport "nats")

    @property
    def oe(self) -> ReferenceOE:
        return self.system.oe

    def u_facts(self) -> list[FactEnvelope]:
        """Every envelope U stored (rebuilt from U's raw ingress log), in the order U received them."""
        cursor = self.system.db.execute(f"SELECT {', '.join(_FACT_COLUMNS)} FROM facts ORDER BY fact_id")
        facts = []
        for row in cursor.fetchall():
            fields = dict(zip(_FACT_COLUMNS, row, strict=True))
            payload = fields.pop("payload")
            for flag in ("historical", "backfill"):
                if fields[flag] is not None:
                    fields[flag] = bool(fields[flag])
            if fields["packets"] is not None:
                fields["packets"] = msgspec.json.decode(fields["packets"])
            converted = msgspec.convert(fields, FactEnvelopeFields, strict=False)
            facts.append(FactEnvelope(payload=msgspec.Raw(payload.encode()), **msgspec.structs.asdict(converted)))
        return facts

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        """Wait (bounded) until `predicate` holds; lets real socket I/O happen meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.005)

    async def up(self, timeout: float = 10.0) -> None:
        """Wait until the PA is PA_UP and OE has received that signal (OE refuses to trade while halted).

        Under the simulator variant `md_entitlement=none` Tradovate refuses every market-data request: the PA must
        then be PA_DOWN `md_refused` instead (asserted here, as OE sees it), and a scenario that needs PA_UP is
        skipped with that reason (`test_acceptance_A_a_refused_market_data_request_is_pa_down_*` covers the rest).
        """
        if self.sim.variants.current.md_entitlement == "none":
            health = self.stack.adapter.health
            await self.until(
                lambda: health.state is HealthState.DOWN and HealthReason.MD_REFUSED in health.current.reasons,
                timeout,
                "PA_DOWN md_refused (md_entitlement=none)",
            )
            await self.until(
                lambda: self.oe.health is not None and HealthReason.MD_REFUSED in self.oe.health.reasons,
                timeout,
                "OE to see PA_DOWN md_refused",
            )
            pytest.skip(
                "md_entitlement=none: every market-data request is refused, so the PA is PA_DOWN md_refused "
                "(asserted); this scenario needs PA_UP"
            )
        await self.until(lambda: self.stack.adapter.health.state is HealthState.UP, timeout, "PA_UP")
        await self.until(
            lambda: self.oe.health is not None and self.oe.health.state is HealthState.UP, timeout, "OE to see PA_UP"
        )

    def read_everything_sent(self) -> bool:
        """The PA has read as many messages on each socket as the simulator wrote (TCP keeps them in order)."""
        builder = self.stack.platform.builder
        if builder is None:
            return False
        read = builder.counters.messages
        return all(read.get(kind, 0) >= len(self.sim.sent_messages(kind=kind)) for kind in ("md", "trading"))

    def delivered_to_u(self) -> bool:
        """The outbox is empty and U has stored every fact the PA built."""
        outbox = self.stack.adapter.outbox
        return outbox.depth == 0 and self.system.u.counters.facts >= outbox.counters.received

    async def drained(self, timeout: float = 10.0) -> None:
        """Wait until the PA has read everything the simulator sent and U has stored every fact built from it."""
        await self.until(self.read_everything_sent, timeout, "the PA to read every message sent")
        await self.until(self.delivered_to_u, timeout, "U to store every fact")

    async def advance(self, seconds: float, step: float = 0.25) -> None:
        """Advance the PA's clock in small steps, letting I/O run between them."""
        moved = 0.0
        while moved < seconds:
            delta = min(step, seconds - moved)
            self.sim_clock.advance(delta)  # the simulator's wall clock (token expiry, p-time) moves in lockstep
            await self.clock.advance(delta)
            moved += step
            await asyncio.sleep(0.002)

    async def until_advancing(
        self, predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.25, what: str = "condition"
    ) -> None:
        """Wait (bounded) until `predicate` holds, advancing both clocks by `step` between looks.

        For a PA that waits on its own clock: the outbox retries a batch the transport refused after
        `retry_delay_s` of the PA's clock, which moves only when a test advances it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await self.advance(step, step)

    async def channel_to_u_full(self) -> bool:
        """The transport to U takes no more: its in-process queue is full, or the facts stream is at `max_msgs`."""
        if self.nats is not None:
            return await self.nats.stream_full()
        assert self.inproc is not None
        return self.inproc.facts.queue.full()

    def facts_of(self, kind: FactKind) -> list[FactEnvelope]:
        return [f for f in self.u_facts() if f.kind is kind]

    def chart_packets(self) -> list[ChartPacketFact]:
        """Every packet of every chart fact U stored, with the labels the PA gave that packet (ADR 0014)."""
        found = []
        for fact in self.u_facts():
            if fact.kind is not FactKind.MARKET or not fact.stream.startswith("chart"):
                continue
            packets = msgspec.json.decode(bytes(fact.payload))["d"]["charts"]
            for index, packet in enumerate(packets):
                label = fact.packets[index] if fact.packets is not None else fact
                found.append(
                    ChartPacketFact(fact, packet, label.symbol, label.timeframe, label.historical, label.backfill)
                )
        return found


@dataclass(frozen=True)
class ChartPacketFact:
    """One packet of a chart fact, as U stored it, with that packet's labels."""

    fact: FactEnvelope
    packet: dict[str, Any]
    symbol: str | None
    timeframe: str | None
    historical: bool | None
    backfill: bool


@contextlib.asynccontextmanager
async def running(
    transport: Transport = "inproc",
    sim_overrides: dict[str, Any] | None = None,
    arm: Callable[[TradovateSim], object] | None = None,
    fact_queue_size: int = 10_000,
    fact_stream: FactStreamConfig | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[Harness]:
    """Start a simulator, a PA on a ManualClock, and the reference system; stop all of them afterwards.

    `transport` carries facts, intents and health between the PA and U / OE. `fact_queue_size` bounds the
    in-process queue to U (inproc), `fact_stream` configures the facts stream (nats; the PA's default if None).
    `arm` runs after the simulator is up and before the PA starts (to inject a fault at login).
    """
    clock = ManualClock()
    sim_clock = SimManualClock(start=clock.now_ns() / 1e9)
    async with TradovateSim(sim_config(clock=sim_clock, **(sim_overrides or {}))) as sim:
        if arm is not None:
            arm(sim)
        settings = settings_for(sim, **settings_overrides)
        endpoints = (sim.rest_url, sim.trading_ws_url, sim.md_ws_url)
        if transport == "nats":
            async with over_nats(
                settings, endpoints, clock=clock, rng=random.Random(3), account_id=ACCOUNT_ID, stream=fact_stream
            ) as wiring:
                harness = Harness(sim, wiring.stack, wiring.system, clock, sim_clock, _start(wiring.stack), "nats")
                harness.nats = wiring
                async with _stopping(harness):
                    yield harness
            return
        stack = build_inproc_stack(
            settings, Credentials(), endpoints, clock=clock, rng=random.Random(3), fact_queue_size=fact_queue_size
        )
        async with ReferenceSystem(
            ":memory:", facts=stack.facts, health=stack.health, intents=stack.intents, account_id=ACCOUNT_ID
        ) as system:
            harness = Harness(sim, stack, system, clock, sim_clock, _start(stack), "inproc", inproc=stack)
            async with _stopping(harness):
                yield harness


def _start(stack: PAStack) -> asyncio.Task[None]:
    return asyncio.create_task(stack.adapter.run(), name="pa")


@contextlib.asynccontextmanager
async def _stopping(harness: Harness) -> AsyncIterator[None]:
    """Hand the PA over once it holds its lease (a standby's health says nothing of Tradovate); stop it after."""
    task = harness.pa_task
    adapter = harness.stack.adapter
    try:
        await harness.until(lambda: adapter.role is not Role.STANDBY or task.done(), what="the PA to hold its lease")
        yield
    finally:
        if task.done():  # it ended by itself (a test that expects the PA to stop): already observed
            if not task.cancelled():
                task.exception()
        else:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
