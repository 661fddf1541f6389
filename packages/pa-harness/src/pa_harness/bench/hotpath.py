"""The PA's ingress hot path, in process: the real socket reader loop fed from memory, to a counting sink.

`HotPath` wires the production pieces exactly as `TradovatePlatform` does for the market-data socket:
`TradovateSocket`'s reader (`TradovateSession.receive` → `FactBuilder.messages` → `FactObserver.put` →
`Outbox.put`), the `Outbox` pump, the correlation, and the fact callbacks of `MarketDataFeed` and `UserSync`. Only
the WebSocket is replaced: frames come
from a list, as aiohttp hands them over (TEXT messages whose `data` is `str`), with a suspension every
`chunk` frames where a real reader would wait for the next socket read (so the pump delivers in batches,
as it does in production). The sink counts facts and keeps nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, cast

import aiohttp
import msgspec

from platform_adapter.config import Credentials, OutboxSettings, Settings
from platform_adapter.core.clock import SystemClock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.ledger import IntentLedger
from platform_adapter.core.outbox import Outbox
from platform_adapter.mic import FactEnvelope, FactMode, HealthSignal, Stream
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.budget import RequestBudget
from platform_adapter.tradovate.connection import Role, TradovateSocket
from platform_adapter.tradovate.contracts import ReferenceData
from platform_adapter.tradovate.correlation import ChartRequest, Correlation, RequestRoute
from platform_adapter.tradovate.facts import FactBuilder
from platform_adapter.tradovate.market_data import MarketDataFeed
from platform_adapter.tradovate.observed import FactObserver, ObservedState
from platform_adapter.tradovate.protocol import Response, TradovateSession, sync_snapshot_refs
from platform_adapter.tradovate.rest import RestClient
from platform_adapter.tradovate.user_sync import UserSync
from platform_adapter.tradovate.wire import SessionWire
from tradovate_sim.contracts import ESZ6, NQZ6

from .corpus import CHART_BAR_ID, CHART_TICK_ID, SYNC_REQUEST_ID, Corpus

READ_CHUNK = 64
"""Frames the memory feed hands over between two suspensions (about one 20 KiB socket read of this corpus)."""


class CountingSink:
    """A FactSink that counts, and optionally records when each fact arrived and its `recv_ts`."""

    def __init__(self, *, stamp: bool = False, keep: bool = False) -> None:
        self.count = 0
        self.stamp = stamp
        self.latencies_ns: list[int] = []
        self.keep = keep
        self.kept: list[FactEnvelope] = []

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        """Count the batch (and stamp it: now - recv_ts per fact; keep it, for tests)."""
        self.count += len(batch)
        if self.keep:
            self.kept.extend(batch)
        if self.stamp:
            now = time.time_ns()
            self.latencies_ns.extend(now - envelope.recv_ts for envelope in batch)


class NullHealthSink:
    """Health signals go nowhere in the in-process benchmarks."""

    async def publish(self, signal: HealthSignal) -> None:
        """Drop the signal."""


class MemoryFeed:
    """An async iterator of aiohttp TEXT messages standing in for `ClientWebSocketResponse`."""

    def __init__(self, frames: Sequence[str], chunk: int = READ_CHUNK) -> None:
        self._messages = [aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, frame, None) for frame in frames]
        self._chunk = chunk
        self._next = 0

    def rewind(self) -> None:
        """Start over."""
        self._next = 0

    def __aiter__(self) -> MemoryFeed:
        return self

    async def __anext__(self) -> aiohttp.WSMessage:
        index = self._next
        if index >= len(self._messages):
            raise StopAsyncIteration
        self._next = index + 1
        if index % self._chunk == self._chunk - 1:
            await asyncio.sleep(0)  # where the real reader waits for the next socket read
        return self._messages[index]


class HotPath:
    """The reader, fact builder, outbox and pump of one market-data socket, fed from memory."""

    def __init__(self, corpus: Corpus, http: aiohttp.ClientSession, *, capacity: int = 100_000) -> None:
        clock = SystemClock()
        settings = Settings(outbox=OutboxSettings(capacity=capacity))
        self.corpus = corpus
        self.sink = CountingSink()
        self.health = HealthMonitor(clock, NullHealthSink())
        self.outbox = Outbox(settings.outbox, self.sink, self.health, clock)
        self.facts = FactObserver(self.outbox, ObservedState())  # the intent gate's memory, as in production
        self.correlation = Correlation()
        self.builder = FactBuilder(
            FactMode.LIVE, self.facts, self.correlation, symbols={ESZ6.id: ESZ6.name, NQZ6.id: NQZ6.name}
        )
        self._clock = clock
        self._budget = budget = RequestBudget(clock, self.health)
        rest = RestClient(http, "http://127.0.0.1:9/v1", budget, timeout_s=1.0)  # never called
        tokens = TokenManager(rest, Credentials(), settings, clock, self.health)
        self.socket = TradovateSocket(
            Role.MD,
            "ws://127.0.0.1:9/v1/websocket",  # never connected: `feed` drives the reader directly
            http=http,
            tokens=tokens,
            budget=budget,
            builder=self.builder,
            clock=clock,
            heartbeat=settings.heartbeat,
        )
        # The fact callbacks production installs; only their per-fact hooks run here, never their I/O.
        MarketDataFeed(cast(ReferenceData, None), self.builder, settings, clock, self.health)
        self._sync = UserSync(tokens, self.builder, IntentLedger(), clock)
        for intent_id in corpus.intent_ids:
            self.correlation.intent_sent(intent_id, 0)
        self._pump: asyncio.Task[None] | None = None

    def _routes(self) -> None:
        """What the PA knows before the frames arrive: its chart subscriptions and its pending requests."""
        correlation, connection_id = self.correlation, self.socket.context.connection_id
        for request_id, (sub_id, timeframe) in enumerate(((CHART_BAR_ID, "1m"), (CHART_TICK_ID, "tick")), 1):
            # As production learns them: the md/getChart answer names the realtime subscription id.
            chart = ChartRequest(ESZ6.name, ESZ6.id, timeframe, backfill=False)
            correlation.expect(connection_id, -request_id, RequestRoute(chart=chart))
            answer = msgspec.Raw(b'{"realtimeId":%d}' % sub_id)
            correlation.answered(connection_id, Response(-request_id, 200, answer, b""))
        for request_id, intent_id in zip(self.corpus.order_request_ids, self.corpus.intent_ids, strict=True):
            correlation.expect(connection_id, request_id, RequestRoute(intent_id=intent_id, creates_orders=True))
        correlation.expect(connection_id, SYNC_REQUEST_ID, RequestRoute(Stream.SYNC_SNAPSHOT, on_response=_reconcile))

    async def __aenter__(self) -> HotPath:
        self._pump = asyncio.create_task(self.outbox.run(), name="bench-outbox")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    async def feed(self, feed: MemoryFeed) -> int:
        """Push every frame through the reader and wait until the sink has every fact; returns facts delivered."""
        self._routes()
        before = self.sink.count
        feed.rewind()
        session: TradovateSession[Any] = TradovateSession(self._clock.monotonic(), open_timeout_s=3600.0)
        wire = SessionWire("md", cast(aiohttp.ClientWebSocketResponse, feed), session, self._clock, self._budget)
        reader: Any = self.socket
        await reader._read(wire, _no_notice)  # the production reader loop, unchanged
        await self.outbox.drained()
        return self.sink.count - before


def _reconcile(response: Response) -> None:
    # What `UserSync` does with the snapshot response: read the command/order references out of it.
    sync_snapshot_refs(response.d)


def _no_notice(event: object) -> None:
    """The memory feed ends without a close frame or a shutdown: nothing to tell."""
