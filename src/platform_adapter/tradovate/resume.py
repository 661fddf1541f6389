"""Where the previous PA run stopped, and what a new tenure owes U for it (issue 17, ADR 0012).

A tenure (a restart, a failover, a re-acquired lease) begins with connections of its own. What the previous run
received after its last fact stored for U went with it, and nothing was received while no PA was connected. At
the start of each tenure the PA asks the `FactHistory` (the facts stream on NATS, the state directory embedded)
for the last fact kept for U — overall, and per configured contract and market stream — and then:

- first thing in the tenure, before any connection is made, writes one `connection` gap fact per socket from the
  last fact's receive time, naming the run that wrote it (`previous_run_id`); written before any other fact of
  the run, they reach U before anything else the run delivers, so a run that dies right after starting has
  still reported the end of the one before it;
- on each socket's first connection, once it is authorized and before its subscriptions or sync snapshot, writes
  one gap fact per (contract, stream) on the md socket, from that stream's last fact and naming its run, with its
  last platform time; on the trading socket a `props` gap fact (the sync snapshot that follows restates orders,
  positions and fills);
- seeds the market-data feed's backfill anchors, so each chart is asked again from the last bar (or tick packet)
  U holds, its facts marked `backfill`; quotes and DOM cannot be replayed (`backfill: none`).

The first run ever owes nothing. A history that cannot be read still gets its gap facts, with unknown bounds and
the reason in `detail`: a restart is never silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec

from platform_adapter.config import Timeframe
from platform_adapter.core.clock import Clock
from platform_adapter.core.ports import FactHistory, FactHistoryUnavailable
from platform_adapter.mic import FactEnvelope, FactKind, GapDetail, Stream
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.connection import TradovateSocket
from platform_adapter.tradovate.contracts import Instrument, ReferenceData
from platform_adapter.tradovate.facts import FactBuilder, SocketContext
from platform_adapter.tradovate.market_data import TICK, MarketDataFeed, chart_specs
from platform_adapter.tradovate.protocol.routing import chart_head
from platform_adapter.tradovate.supervisor import SocketSupervisor

_log = get_logger("pa.resume")

RESTART = "pa_restart"
"""`GapDetail.reason` of the gaps a new PA run reports for the run before it."""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """One market stream of one configured contract, and the last fact of it U holds (None: never one)."""

    instrument: Instrument
    stream: Stream
    label: str | None  # the chart label (`1m`, `tick`) of a chart stream
    fact: FactEnvelope | None


@dataclass(frozen=True)
class PreviousRun:
    """What U holds of the runs before this tenure: the last fact overall and per market stream."""

    last: FactEnvelope | None
    ends: tuple[StreamEnd, ...]
    unknown: str | None = None  # why the history could not be read

    @property
    def owes_gaps(self) -> bool:
        """True unless this is the first run ever (nothing kept, nothing unknown)."""
        return self.last is not None or self.unknown is not None

    def chart_anchors(self) -> dict[tuple[str, str], tuple[str | None, int | None]]:
        """(symbol, chart label) -> (last bar timestamp, last tick packet `bt`) to backfill each chart from."""
        anchors: dict[tuple[str, str], tuple[str | None, int | None]] = {}
        for end in self.ends:
            if end.label is None or end.fact is None:
                continue
            if end.label == TICK:
                anchors[(end.instrument.symbol, TICK)] = (None, _tick_base_ms(end.fact))
            else:
                anchors[(end.instrument.symbol, end.label)] = (_bar_anchor(end.fact, end.label), None)
        return anchors


async def learn_previous_run(history: FactHistory, reference: ReferenceData) -> PreviousRun:
    """Ask the history where the last run stopped, overall and per configured market stream."""
    ends: list[StreamEnd] = []
    try:
        last = await history.last_fact()
        if last is None:
            return PreviousRun(None, ())
        for instrument in reference.instruments.values():
            asked: dict[Stream, FactEnvelope | None] = {}
            for stream, label in _market_streams(instrument):
                if stream not in asked:  # the bar charts of one contract share one stream (and subject)
                    asked[stream] = await history.last_fact(FactKind.MARKET, stream, instrument.contract_id)
                ends.append(StreamEnd(instrument, stream, label, asked[stream]))
    except FactHistoryUnavailable as exc:
        _log.error("previous_run_unknown", detail=str(exc))
        unknown = tuple(
            StreamEnd(i, s, label, None) for i in reference.instruments.values() for s, label in _market_streams(i)
        )
        return PreviousRun(None, unknown, unknown=str(exc))
    _log.info(
        "previous_run",
        run_id=last.run_id,
        lease_epoch=last.lease_epoch,
        delivery_seq=last.delivery_seq,
        recv_ts=last.recv_ts,
        streams=sum(end.fact is not None for end in ends),
    )
    return PreviousRun(last, tuple(ends))


class ResumeGaps:
    """Writes the gap facts a tenure owes for the previous run: its end at once, each socket's streams when ready."""

    def __init__(self, previous: PreviousRun, builder: FactBuilder, clock: Clock) -> None:
        self._previous = previous
        self._builder = builder
        self._clock = clock
        self._owed = {"md", "trading"} if previous.owes_gaps else set()

    def begin(self) -> None:
        """Report the previous run's end on both sockets now, before this tenure connects anything."""
        if not self._previous.owes_gaps:
            return
        now = self._clock.now_ns()
        for role in ("trading", "md"):
            # No connection of this tenure exists yet: the fact stands before its first one (epoch 0).
            context = SocketContext(role, f"{role}-0", 0)
            self._builder.gap(context, now, self.connection_gap(role))

    def attach(self, link: SocketSupervisor, feed: MarketDataFeed | None = None) -> None:
        """Report on `link`'s first connection, before its other ready hooks; seed `feed`'s chart backfill."""
        link.socket.ready_hooks.insert(0, self._on_ready)
        if feed is not None and self._previous.owes_gaps:
            feed.resume_from(self._previous.chart_anchors())

    async def _on_ready(self, socket: TradovateSocket, epoch: int) -> None:
        role = socket.role.value
        if role not in self._owed:
            return
        self._owed.discard(role)
        now = self._clock.now_ns()
        for gap in self.stream_gaps(role, epoch, now):
            self._builder.gap(socket.context, now, gap)

    def connection_gap(self, role: str) -> GapDetail:
        """The previous run's end on one socket: from its last fact for U, until this tenure connects."""
        previous, last = self._previous, self._previous.last
        if last is not None:
            ended = f"the previous PA run {last.run_id} (lease epoch {last.lease_epoch}) stopped"
            after = f"after its last fact stored for U (delivery_seq {last.delivery_seq})"
        else:
            ended = "a previous PA run stopped"
            after = f"at an unknown point ({previous.unknown})"
        return GapDetail(
            reason=RESTART,
            connection=role,
            from_epoch=last.epoch if last is not None and last.connection == role else 0,
            to_epoch=None,
            first_missing_recv_ts=last.recv_ts if last is not None else None,
            last_missing_recv_ts=None,
            streams=(Stream.CONNECTION.value,),
            detail=f"{ended}: what Tradovate sent on its {role} socket {after} was not delivered, and nothing is "
            "received until this run connects; per-stream gap facts follow on connecting",
            previous_run_id=last.run_id if last is not None else None,
        )

    def stream_gaps(self, role: str, epoch: int, now: int) -> list[GapDetail]:
        """What one socket's first connection owes: md, one per (contract, stream); trading, the props stream."""
        if role == "trading":
            last = self._previous.last
            return [
                GapDetail(
                    reason=RESTART,
                    connection=role,
                    from_epoch=last.epoch if last is not None and last.connection == role else 0,
                    to_epoch=epoch,
                    first_missing_recv_ts=last.recv_ts if last is not None else None,
                    last_missing_recv_ts=now,
                    backfill="requested",
                    streams=(Stream.PROPS.value,),
                    detail="account events may have been missed; a fresh user/syncrequest snapshot follows",
                    previous_run_id=last.run_id if last is not None else None,
                )
            ]
        return [self._stream_gap(end, epoch, now) for end in self._previous.ends]

    def _stream_gap(self, end: StreamEnd, epoch: int, now: int) -> GapDetail:
        fact = end.fact if end.fact is not None else self._previous.last
        chart = end.label is not None
        if not chart:
            detail = "Tradovate does not replay quotes/DOM; the first update after subscribing is current"
        elif end.fact is not None:
            detail = "chart history re-requested from the last bar (tick packet) U holds; backfilled facts are marked"
        else:
            detail = "U holds no fact of this chart: its configured history is requested; backfilled facts are marked"
        return GapDetail(
            reason=RESTART,
            connection="md",
            from_epoch=fact.epoch if fact is not None and fact.connection == "md" else 0,
            to_epoch=epoch,
            first_missing_recv_ts=fact.recv_ts if fact is not None else None,
            last_missing_recv_ts=now,
            last_seen_platform_ts=end.fact.platform_ts if end.fact is not None else None,
            backfill="requested" if chart else "none",
            streams=(end.stream.value,),
            contract_id=end.instrument.contract_id,
            symbol=end.instrument.symbol,
            detail=detail,
            previous_run_id=fact.run_id if fact is not None else None,
        )


def _market_streams(instrument: Instrument) -> list[tuple[Stream, str | None]]:
    streams: list[tuple[Stream, str | None]] = []
    if instrument.settings.quotes:
        streams.append((Stream.QUOTE, None))
    if instrument.settings.dom:
        streams.append((Stream.DOM, None))
    for spec in chart_specs(instrument.settings.parsed_timeframes()):
        streams.append((Stream.CHART_TICK if spec.label == TICK else Stream.CHART_BAR, spec.label))
    return streams


class _Message(msgspec.Struct):
    d: msgspec.Raw = msgspec.Raw(b"null")


def _tick_base_ms(fact: FactEnvelope) -> int | None:
    """`bt` of the last tick packet in a stored chart fact, as sent."""
    try:
        message = msgspec.json.decode(fact.payload, type=_Message)
    except msgspec.DecodeError:
        return None
    return chart_head(message.d).last_tick_base_ms


def _bar_anchor(fact: FactEnvelope, label: str) -> str | None:
    """How far back to ask `label`'s chart: its last bar's timestamp, or earlier when the last fact is another's.

    The bar charts of one contract share one stream, and the facts stream keeps only the last message of each:
    when that fact belongs to another timeframe, two of `label`'s bars before its last bar's time is a safe
    bound (asking from earlier repeats bars, marked `backfill`; asking from later would leave a hole).
    """
    if not isinstance(fact.platform_ts, str):
        return None
    if fact.timeframe == label:
        return fact.platform_ts
    try:
        at = datetime.fromisoformat(fact.platform_ts.replace("Z", "+00:00"))
        back = timedelta(seconds=2 * Timeframe.parse(label).seconds)
    except ValueError:
        return None
    return (at - back).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
