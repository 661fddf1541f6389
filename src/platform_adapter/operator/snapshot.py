"""`StatusSnapshot`: one frozen reading of a running PA, in plain values, for the live view and the report.

`StatusSource.snapshot()` is the only place that reads the PA's live objects (health monitor, outbox,
sockets, intent service, fact builder counters, the `FactTap`); everything downstream is a pure function
of the snapshot. Rates are differences of the PA's own counters over a short window, read at snapshot
time, so the hot path carries no extra work for them. Market values are shown exactly as the platform
sent them: the last forwarded envelope of a contract is decoded here, at most once per snapshot.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from platform_adapter.core.adapter import PlatformAdapter
from platform_adapter.mic import (
    Cancel,
    CancelReplace,
    FactEnvelope,
    Flatten,
    Intent,
    Kill,
    ReceiptAck,
    ResetKill,
    Stream,
    SubmitOrder,
)
from platform_adapter.mic.codec import decode_gap
from platform_adapter.operator.tap import FactTap
from platform_adapter.tradovate.connection import Role, TradovateSocket
from platform_adapter.tradovate.platform import TradovatePlatform


@dataclass(frozen=True, slots=True)
class ConditionStatus:
    """One raised health condition."""

    key: str
    reason: str
    state: str
    halt: bool
    detail: str


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """The health signal OE sees, and the conditions behind it."""

    state: str
    halt_required: bool
    reasons: tuple[str, ...]
    detail: str
    since_s: float  # seconds in this state, on the PA's clock
    conditions: tuple[ConditionStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class SocketStatus:
    """One Tradovate socket."""

    role: str
    state: str  # "up" | "connecting" | "reconnecting" | "not started"
    epoch: int
    frames: int
    frames_per_s: float
    reconnects: int
    last_loss: str = ""


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """The fact outbox: depth against its watermarks, and what went through it."""

    depth: int
    capacity: int
    low_watermark: int
    high_watermark: int
    in_backpressure: bool
    received: int
    delivered: int
    peak_depth: int
    telemetry_shed: int
    reader_pauses: int
    sink_failures: int
    facts_per_s: float


@dataclass(frozen=True, slots=True)
class StreamRate:
    """Facts of one stream built from platform messages."""

    stream: str
    total: int
    per_s: float


@dataclass(frozen=True, slots=True)
class ContractStatus:
    """What is subscribed for one contract, and the last market facts forwarded for it (values as sent)."""

    symbol: str
    subscriptions: tuple[str, ...] = ()
    quote: str = ""
    quote_ts: str = ""
    bar: str = ""
    bar_ts: str = ""
    tick: str = ""
    tick_ts: str = ""


@dataclass(frozen=True, slots=True)
class IntentStatus:
    """One recent intent, its receipt-ack, and what facts said about it."""

    intent_id: str
    what: str
    status: str
    reason: str
    detail: str
    platform_ids: str
    latency_ms: float
    duplicate: bool
    resolution: str  # "" | "resolved by facts: ..." | "unresolved: ..."
    facts: int  # facts forwarded with this intent as correlation id


@dataclass(frozen=True, slots=True)
class GapStatus:
    """One gap fact forwarded to U."""

    at: str
    connection: str
    reason: str
    epochs: str
    streams: str
    symbol: str
    backfill: str


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """Everything the status view shows, as plain values."""

    title: str
    mode: str
    run_id: str
    at: str  # wall time of the snapshot (UTC, PA clock)
    health: HealthStatus
    sockets: tuple[SocketStatus, ...]
    outbox: OutboxStatus
    streams: tuple[StreamRate, ...]
    contracts: tuple[ContractStatus, ...]
    intents: tuple[IntentStatus, ...]
    gaps: tuple[GapStatus, ...]
    undecodable: int = 0
    penalties: int = 0
    lockouts: int = 0
    requests_last_hour: int = 0  # sent to Tradovate in the rolling hour (ADR 0016)
    unresolved_intents: int = 0
    footer: str = ""


@dataclass
class _Reading:
    t: float
    counts: dict[str, int] = field(default_factory=dict)


class RateMeter:
    """Per-key rates from monotonically growing counters, over a sliding window of readings."""

    def __init__(self, window_s: float = 3.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._monotonic = monotonic
        self._readings: deque[_Reading] = deque()

    def update(self, counts: Mapping[str, int]) -> dict[str, float]:
        """Record a reading and return the rate per second of each key over the window."""
        now = self._monotonic()
        reading = _Reading(now, dict(counts))
        readings = self._readings
        readings.append(reading)
        while len(readings) > 2 and now - readings[1].t >= self._window_s:
            readings.popleft()
        oldest = readings[0]
        elapsed = now - oldest.t
        if elapsed <= 0:
            return dict.fromkeys(counts, 0.0)
        return {key: max(0, value - oldest.counts.get(key, 0)) / elapsed for key, value in counts.items()}


def utc_time(ns: int | None, *, millis: bool = True) -> str:
    """HH:MM:SS(.mmm) UTC of an epoch-ns instant, or '' for none."""
    if not ns:
        return ""
    moment = datetime.fromtimestamp(ns / 1e9, tz=UTC)
    text = moment.strftime("%H:%M:%S.%f")
    return text[:-3] if millis else text[:8]


class StatusSource:
    """Reads a running PA into `StatusSnapshot`s."""

    def __init__(
        self,
        adapter: PlatformAdapter,
        platform: TradovatePlatform,
        tap: FactTap | None = None,
        *,
        title: str = "Platform Adapter",
        intents_shown: int = 8,
        gaps_shown: int = 6,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.adapter = adapter
        self.platform = platform
        self.tap = tap
        self.title = title
        self.footer = ""  # a line under the view: where the endpoints and logs are
        self._intents_shown = intents_shown
        self._gaps_shown = gaps_shown
        self._rates = RateMeter(monotonic=monotonic)

    def snapshot(self) -> StatusSnapshot:
        """Read the PA now."""
        adapter, platform = self.adapter, self.platform
        now_ns = adapter.clock.now_ns()
        sockets = [s for s in (platform.trading, platform.md) if s is not None]
        counts: dict[str, int] = {"facts": adapter.outbox.counters.received}
        counts.update({f"socket.{s.role.value}": s.frames for s in sockets})
        builder = platform.builder
        by_stream = dict(builder.counters.by_stream) if builder is not None else {}
        counts.update({f"stream.{k}": v for k, v in by_stream.items()})
        rates = self._rates.update(counts)
        ledger = adapter.intents.ledger
        unresolved = ledger.unresolved()
        return StatusSnapshot(
            title=self.title,
            mode=adapter.settings.mode.value,
            run_id=platform.run_id,
            at=utc_time(now_ns, millis=False),
            health=self._health(now_ns),
            sockets=self._sockets(platform, rates),
            outbox=self._outbox(rates.get("facts", 0.0)),
            streams=tuple(
                StreamRate(str(stream), total, rates.get(f"stream.{stream}", 0.0))
                for stream, total in sorted(by_stream.items(), key=lambda item: str(item[0]))
            ),
            contracts=self._contracts(),
            intents=self._intents(dict(ledger.resolved), unresolved),
            gaps=self._gaps(),
            undecodable=builder.counters.undecodable if builder is not None else 0,
            penalties=platform.budget.penalties,
            lockouts=platform.budget.lockouts,
            requests_last_hour=platform.budget.sent_last_hour,
            unresolved_intents=len(unresolved),
            footer=self.footer,
        )

    def _health(self, now_ns: int) -> HealthStatus:
        health = self.adapter.health
        signal = health.current
        return HealthStatus(
            state=signal.state.value,
            halt_required=signal.halt_required,
            reasons=tuple(r.value for r in signal.reasons),
            detail=signal.detail,
            since_s=max(0.0, (now_ns - signal.since) / 1e9),
            conditions=tuple(
                ConditionStatus(key, c.reason.value, c.state.value, c.halt, c.detail)
                for key, c in sorted(health.conditions().items())
            ),
        )

    @staticmethod
    def _sockets(platform: TradovatePlatform, rates: Mapping[str, float]) -> tuple[SocketStatus, ...]:
        rows = []
        for role in (Role.TRADING, Role.MD):
            link = platform.links.get(role)
            if link is None:
                if role is Role.TRADING and platform.started.is_set():
                    continue  # SIM mode: market ingress only, no trading socket by design
                rows.append(SocketStatus(role.value, "not started", 0, 0, 0.0, 0))
                continue
            socket, loss = link.socket, link.last_loss
            rows.append(
                SocketStatus(
                    role=role.value,
                    state=_socket_state(socket),
                    epoch=socket.epoch,
                    frames=socket.frames,
                    frames_per_s=rates.get(f"socket.{role.value}", 0.0),
                    reconnects=link.reconnects,
                    last_loss=(
                        f"{loss.reason.value} at {utc_time(loss.lost_ts)}: {loss.detail}" if loss is not None else ""
                    ),
                )
            )
        return tuple(rows)

    def _outbox(self, facts_per_s: float) -> OutboxStatus:
        outbox = self.adapter.outbox
        counters = outbox.counters
        low, high = outbox.watermarks
        return OutboxStatus(
            depth=outbox.depth,
            capacity=outbox.capacity,
            low_watermark=low,
            high_watermark=high,
            in_backpressure=outbox.in_backpressure,
            received=counters.received,
            delivered=counters.delivered,
            peak_depth=counters.peak_depth,
            telemetry_shed=counters.telemetry_shed,
            reader_pauses=counters.reader_pauses,
            sink_failures=counters.sink_failures,
            facts_per_s=facts_per_s,
        )

    def _contracts(self) -> tuple[ContractStatus, ...]:
        market_data = self.platform.market_data
        subscriptions = dict(market_data.subscriptions) if market_data is not None else {}
        symbols = [i.symbol for i in self.platform.settings.instruments]
        last = self.tap.last if self.tap is not None else {}
        rows = []
        for symbol in symbols:
            quote = last.get((symbol, Stream.QUOTE))
            bar = last.get((symbol, Stream.CHART_BAR))
            tick = last.get((symbol, Stream.CHART_TICK))
            rows.append(
                ContractStatus(
                    symbol=symbol,
                    subscriptions=tuple(subscriptions.get(symbol, ())),
                    quote=describe_quote(quote) if quote is not None else "",
                    quote_ts=_platform_ts(quote),
                    bar=describe_bar(bar) if bar is not None else "",
                    bar_ts=_platform_ts(bar),
                    tick=describe_tick(tick) if tick is not None else "",
                    tick_ts=utc_time(tick.recv_ts) if tick is not None else "",
                )
            )
        return tuple(rows)

    def _intents(self, resolved: Mapping[str, str], unresolved: Mapping[str, int | None]) -> tuple[IntentStatus, ...]:
        recent = self.adapter.intents.recent[-self._intents_shown :]
        facts = self.tap.facts_by_intent if self.tap is not None else {}
        rows = []
        for intent, ack in reversed(recent):
            if intent.intent_id in unresolved:
                resolution = "unresolved: mutations of this order wait for platform facts"
            elif intent.intent_id in resolved:
                resolution = f"resolved by facts: {resolved[intent.intent_id]}"
            else:
                resolution = ""
            rows.append(
                IntentStatus(
                    intent_id=intent.intent_id,
                    what=describe_intent(intent),
                    status=ack.status.value,
                    reason=ack.reason.value if ack.reason is not None else "",
                    detail=ack.detail,
                    platform_ids=describe_platform_ids(ack),
                    latency_ms=max(0, ack.acked_ts - ack.received_ts) / 1e6,
                    duplicate=ack.duplicate,
                    resolution=resolution,
                    facts=facts.get(intent.intent_id, 0),
                )
            )
        return tuple(rows)

    def _gaps(self) -> tuple[GapStatus, ...]:
        if self.tap is None:
            return ()
        rows = []
        for envelope in list(self.tap.gaps)[-self._gaps_shown :][::-1]:
            try:
                gap = decode_gap(bytes(envelope.payload))
            except msgspec.DecodeError:
                rows.append(GapStatus(utc_time(envelope.recv_ts), envelope.connection, "?", "", "", "", ""))
                continue
            rows.append(
                GapStatus(
                    at=utc_time(envelope.recv_ts),
                    connection=gap.connection,
                    reason=gap.reason,
                    epochs=f"{gap.from_epoch}->{gap.to_epoch if gap.to_epoch is not None else '?'}",
                    streams=",".join(gap.streams),
                    symbol=gap.symbol or "",
                    backfill=gap.backfill,
                )
            )
        return tuple(rows)


def _socket_state(socket: TradovateSocket) -> str:
    if socket.ready.is_set():
        return "up"
    return "reconnecting" if socket.epoch else "connecting"


def _platform_ts(envelope: FactEnvelope | None) -> str:
    if envelope is None:
        return ""
    return str(envelope.platform_ts) if envelope.platform_ts is not None else utc_time(envelope.recv_ts)


def _decode(envelope: FactEnvelope) -> Any:
    try:
        return msgspec.json.decode(bytes(envelope.payload))
    except (msgspec.DecodeError, RecursionError):  # a fact forwarded raw may be anything
        return None


def _value(entry: Any, key: str) -> str:
    return str(entry[key]) if isinstance(entry, dict) and key in entry else "-"


def describe_quote(envelope: FactEnvelope) -> str:
    """Bid / offer / trade of the last quote, price x size exactly as sent."""
    body = _decode(envelope)
    try:
        entries = body["d"]["quotes"][-1]["entries"]
    except (KeyError, IndexError, TypeError):
        return "(quote not shown: unexpected shape)"
    parts = []
    for name, label in (("Bid", "bid"), ("Offer", "ask"), ("Trade", "last")):
        entry = entries.get(name) if isinstance(entries, dict) else None
        if entry is not None:
            parts.append(f"{label} {_value(entry, 'price')}x{_value(entry, 'size')}")
    return "  ".join(parts)


def describe_bar(envelope: FactEnvelope) -> str:
    """The last bar of the last chart fact, fields exactly as sent."""
    body = _decode(envelope)
    try:
        bar = body["d"]["charts"][-1]["bars"][-1]
    except (KeyError, IndexError, TypeError):
        return "(bar not shown: unexpected shape)"
    fields = " ".join(f"{label}{_value(bar, key)}" for key, label in _BAR_FIELDS)
    return f"{envelope.timeframe or '?'} {fields}{' (history)' if envelope.historical else ''}"


_BAR_FIELDS = (("open", "O "), ("high", "H "), ("low", "L "), ("close", "C "))


def describe_tick(envelope: FactEnvelope) -> str:
    """A tick packet is forwarded as the platform's packed form; the view only says how many ticks it held."""
    body = _decode(envelope)
    try:
        ticks = body["d"]["charts"][-1]["tks"]
    except (KeyError, IndexError, TypeError):
        return "tick packet"
    return f"packet of {len(ticks)} tick{'s' if len(ticks) != 1 else ''}"


def describe_intent(intent: Intent) -> str:
    """A short, human line for an intent (its fields, as OE sent them)."""
    if isinstance(intent, SubmitOrder):
        price = f" @{intent.price}" if intent.price is not None else ""
        stop = f" stop {intent.stop_price}" if intent.stop_price is not None else ""
        return f"submit {intent.order_type} {intent.action} {intent.qty} {intent.symbol}{price}{stop}"
    if isinstance(intent, CancelReplace):
        return f"modify order {intent.order_id}: {intent.order_type} {intent.qty}"
    if isinstance(intent, Cancel):
        return f"cancel order {intent.order_id}"
    if isinstance(intent, Flatten):
        return f"flatten {intent.symbol or 'all positions'}"
    if isinstance(intent, Kill):
        return f"kill ({intent.reason})" if intent.reason else "kill"
    if isinstance(intent, ResetKill):
        return "reset kill latch"
    return type(intent).__name__


def describe_platform_ids(ack: ReceiptAck) -> str:
    """The platform ids an ack carries."""
    parts = []
    if ack.platform_order_id is not None:
        parts.append(f"order {ack.platform_order_id}")
    if ack.platform_command_id is not None:
        parts.append(f"command {ack.platform_command_id}")
    if ack.platform_order_ids:
        parts.append("orders " + ",".join(str(i) for i in ack.platform_order_ids))
    return " ".join(parts)
