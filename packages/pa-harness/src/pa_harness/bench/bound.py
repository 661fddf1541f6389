"""A measurement, not product code: the PA's hot-path work fused into one function per frame.

The production path is layered (ARCHITECTURE §3): the sans-I/O codec turns a frame into `Event` messages
with routing heads, `FactBuilder` turns each into an envelope, `Outbox.put` queues it. Every layer costs
CPython a call and an object per message. This module does the same work for the corpus with no layers —
one routed msgspec pass per one-message frame, the labels read straight from the decoded structs, the
envelope built and queued inline, the same counters, the same pump — to show how far the layering is
from what this architecture can reach at all in CPython. It reports a rate; nothing else uses it.

What it leaves out, so the bound is slightly generous: `props` correlation by intent (it keeps the first
entity's account and contract only), multi-item `md` labels, and the reader's response / shutdown checks.
Frames it cannot route in one pass (responses, unknown kinds) take the production `decode_frame` and get
unlabelled envelopes; they are rare in the corpus.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from typing import Final

import msgspec

from platform_adapter.mic import FactEnvelope, FactKind, FactMode, Stream
from platform_adapter.tradovate.protocol import MessagesFrame, decode_frame
from platform_adapter.tradovate.protocol.frames import RoutedChart, RoutedMd, RoutedProps
from tradovate_sim.contracts import ESZ6, NQZ6

from .corpus import CHART_BAR_ID, CHART_TICK_ID, Corpus
from .hotpath import CountingSink, MemoryFeed

_CONNECTION_ID: Final = "bound-md-1"


_FRAME: Final = msgspec.json.Decoder(list[RoutedMd | RoutedChart | RoutedProps])
_ITEMS: Final = msgspec.json.Decoder(list[msgspec.Raw])


class _Seen:
    __slots__ = ("last_bar_ts", "last_tick_id")

    def __init__(self) -> None:
        self.last_bar_ts: str | None = None
        self.last_tick_id: int | None = None


class FusedBound:
    """Reader, labels, envelope, queue and pump in as few Python frames as the work allows."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.sink = CountingSink()
        self.facts: deque[FactEnvelope] = deque()
        self.frames = 0
        self.received = 0
        self.peak_depth = 0
        self.high_watermark = 80_000
        self.last_frame = 0.0
        self.last_recv_ts = 0
        self.messages: dict[str, int] = {}
        self.by_stream: dict[Stream, int] = {}
        self.by_kind: dict[FactKind, int] = {}
        self.symbols = {ESZ6.id: ESZ6.name, NQZ6.id: NQZ6.name}
        self.charts: dict[tuple[str, int], tuple[str, int, str]] = {
            (_CONNECTION_ID, CHART_BAR_ID): (ESZ6.name, ESZ6.id, "1m"),
            (_CONNECTION_ID, CHART_TICK_ID): (ESZ6.name, ESZ6.id, "tick"),
        }
        self.seen: dict[tuple[str, str], _Seen] = {}
        self._seq = itertools.count(1).__next__
        self._work = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()

    async def pump(self) -> None:
        """Deliver in batches of up to 512, as `Outbox.run` does."""
        facts = self.facts
        while True:
            if not facts:
                self._work.clear()
                await self._work.wait()
                continue
            batch = list(itertools.islice(facts, 0, 512))
            await self.sink.deliver(batch)
            for _ in batch:
                facts.popleft()
            if not facts:
                self._drained.set()

    async def read(self, feed: MemoryFeed) -> None:
        """The whole hot path for every frame of `feed`."""
        facts, by_stream, by_kind, seq = self.facts, self.by_stream, self.by_kind, self._seq
        symbols, charts, seen, messages = self.symbols, self.charts, self.seen, self.messages
        raw_of, market, platform_event, live = msgspec.Raw, FactKind.MARKET, FactKind.PLATFORM_EVENT, FactMode.LIVE
        async for msg in feed:
            data = msg.data
            recv_ts = time.time_ns()
            self.last_frame = time.monotonic()
            self.last_recv_ts = recv_ts
            self.frames += 1
            if type(data) is not str or data[:1] != "a":
                continue
            try:
                routed: list[RoutedMd | RoutedChart | RoutedProps] | None = _FRAME.decode(data[1:])
            except (msgspec.DecodeError, ValueError):
                routed = None
            pairs: list[tuple[RoutedMd | RoutedChart | RoutedProps | None, msgspec.Raw]]
            if routed is None:  # responses, unknown kinds, odd shapes: rare; unlabelled here
                frame = decode_frame(data)
                if type(frame) is not MessagesFrame:
                    continue
                pairs = [(None, raw_of(item.raw)) for item in frame.messages]
            elif len(routed) == 1 and data[2:3] == "{" and data[-2:] == "}]":
                pairs = [(routed[0], raw_of(data[2:-1].encode()))]
            else:
                pairs = list(zip(routed, map(raw_of, map(bytes, _ITEMS.decode(data[1:]))), strict=True))
            messages["md"] = messages.get("md", 0) + len(pairs)
            for message, payload in pairs:
                kind = market
                platform_ts: str | None = None
                contract_id: int | None = None
                account_id: int | None = None
                symbol: str | None = None
                timeframe: str | None = None
                if isinstance(message, RoutedMd):
                    body = message.d
                    items = None
                    stream = Stream.MD
                    if body is not None:
                        if body.quotes is not None and body.doms is None and body.histograms is None:
                            items, stream = body.quotes, Stream.QUOTE
                        elif body.doms is not None and body.quotes is None and body.histograms is None:
                            items, stream = body.doms, Stream.DOM
                    if items is not None and len(items) == 1:
                        item_contract, item_ts = items[0].contract_id, items[0].timestamp
                        contract_id = item_contract if type(item_contract) is int else None
                        platform_ts = item_ts if type(item_ts) is str else None
                        symbol = symbols.get(contract_id) if contract_id is not None else None
                elif isinstance(message, RoutedChart):
                    packets = message.d.charts if message.d is not None else None
                    packet = packets[0] if packets else None
                    route = charts.get((_CONNECTION_ID, packet.id)) if packet is not None else None
                    bars = packet.bars if packet is not None else None
                    ticks = packet.tks if packet is not None else None
                    stream = Stream.CHART_TICK if ticks else Stream.CHART_BAR if bars else Stream.CHART
                    bar_ts = bars[-1].timestamp if bars else None
                    platform_ts = bar_ts if type(bar_ts) is str else None
                    tick_id = ticks[-1].id if ticks else None
                    if route is not None:
                        symbol, contract_id, timeframe = route
                        key = (symbol, timeframe)
                        state = seen.get(key)
                        if state is None:
                            state = seen[key] = _Seen()
                        if platform_ts is not None:
                            state.last_bar_ts = platform_ts
                        if type(tick_id) is int:
                            state.last_tick_id = tick_id
                elif isinstance(message, RoutedProps):
                    kind, stream = platform_event, Stream.PROPS
                    entity = message.d.entity if message.d is not None else None
                    first = entity[0] if isinstance(entity, list) and entity else entity
                    if first is not None and not isinstance(first, list):
                        account_id = first.account_id if type(first.account_id) is int else None
                        contract_id = first.contract_id if type(first.contract_id) is int else None
                        symbol = symbols.get(contract_id) if contract_id is not None else None
                else:
                    kind, stream = platform_event, Stream.EVENT
                envelope = FactEnvelope(  # 15 keywords, as the PA (`historical` is left at its default)
                    kind=kind,
                    stream=stream,
                    mode=live,
                    recv_ts=recv_ts,
                    connection="md",
                    connection_id=_CONNECTION_ID,
                    epoch=1,
                    delivery_seq=seq(),
                    payload=payload,
                    run_id="",
                    platform_ts=platform_ts,
                    contract_id=contract_id,
                    symbol=symbol,
                    account_id=account_id,
                    timeframe=timeframe,
                )
                by_stream[stream] = by_stream.get(stream, 0) + 1
                facts.append(envelope)
                self.received += 1
                by_kind[kind] = by_kind.get(kind, 0) + 1
                depth = len(facts)
                if depth > self.peak_depth:
                    self.peak_depth = depth
                if depth >= self.high_watermark:
                    raise RuntimeError("the bound's queue grew past its watermark: the pump is not running")
                if depth == 1:
                    self._drained.clear()
                    self._work.set()

    async def feed(self, feed: MemoryFeed) -> int:
        """Push every frame through and wait until the sink has every fact; returns facts delivered."""
        before = self.sink.count
        feed.rewind()
        await self.read(feed)
        await self._drained.wait()
        return self.sink.count - before
