"""The hot path: one decoded platform message in, one FactEnvelope out, payload bytes untouched.

The PA adds metadata only (spec 0.2): which socket and epoch, the receive time, the stream, the
contract / account / intent the message concerns when the routing head says so. Nothing is merged,
filtered or de-duplicated; an unknown shape is still forwarded (as `undecodable` or a generic stream).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from platform_adapter.core.ports import FactWriter
from platform_adapter.mic import FactEnvelope, FactKind, FactMode, GapDetail, PacketLabel, Stream
from platform_adapter.tradovate.correlation import ChartRoute, Correlation
from platform_adapter.tradovate.protocol import (
    CloseFrame,
    Event,
    MalformedFrame,
    MalformedMessage,
    Message,
    Response,
)
from platform_adapter.tradovate.protocol.routing import ChartHead, ChartPacket, MdHead, PropsHead

_MD_STREAMS = {"quote": Stream.QUOTE, "dom": Stream.DOM, "histogram": Stream.HISTOGRAM, "md": Stream.MD}
_EVENT_STREAMS = {"shutdown": Stream.SHUTDOWN, "clock": Stream.CLOCK}
_encode = msgspec.json.encode
_Raw = msgspec.Raw
_replace = msgspec.structs.replace
_EMPTY = msgspec.Raw(b"null")
_T = TypeVar("_T")


def _chart_kind(has_bars: bool, has_ticks: bool, eoh: bool) -> Stream:
    """The stream of a chart message: what data it holds (an `eoh` beside bars does not hide them)."""
    if has_bars:
        return Stream.CHART if has_ticks else Stream.CHART_BAR
    if has_ticks:
        return Stream.CHART_TICK
    return Stream.CHART_EOH if eoh else Stream.CHART


def _shared(values: list[_T]) -> _T | None:
    """The value every item has, else None."""
    first = values[0]
    return first if all(value == first for value in values) else None


@dataclass(frozen=True, slots=True)
class SocketContext:
    """Where a message came from: the socket role, its connection id and reconnect epoch."""

    connection: str  # "md" | "trading"
    connection_id: str
    epoch: int


@dataclass
class FactCounters:
    """Platform messages seen, by connection and fact kind."""

    messages: dict[str, int] = field(default_factory=dict)
    undecodable: int = 0
    gaps: int = 0
    by_stream: dict[str, int] = field(default_factory=dict)


class FactBuilder:
    """Builds envelopes for both sockets and puts them in the outbox, in arrival order.

    Labels come from `symbols` (contract id -> configured symbol, fixed at start) and from `correlation`
    (requests, intents and chart subscriptions), which the builder asks and never writes to itself.
    """

    def __init__(
        self,
        mode: FactMode,
        writer: FactWriter,
        correlation: Correlation | None = None,
        *,
        symbols: Mapping[int, str] | None = None,
        run_id: str = "",
        lease_epoch: int | None = None,
    ) -> None:
        self._mode = mode
        self._writer = writer
        self.correlation = correlation if correlation is not None else Correlation()
        self._symbols: dict[int, str] = dict(symbols or {})
        self._chart_stream = self.correlation.chart_stream
        self.run_id = run_id
        self.lease_epoch = lease_epoch  # this tenure's, on every fact (fencing, ADR 0012)
        # Envelope templates: the fields fixed for a connection and a contract (or a chart subscription), so a
        # market fact is a `replace` of five fields (~0.33 us) instead of a build of fifteen (~0.7 us).
        self._md_templates: dict[tuple[str, int | None], FactEnvelope] = {}
        self._chart_templates: dict[tuple[str, int], tuple[ChartRoute, FactEnvelope]] = {}  # by (connection, route)
        self._templates_of = ""  # the md connection the templates are for (a reconnect starts afresh)
        self.on_chart: Callable[[ChartRoute, ChartHead | ChartPacket], None] | None = None  # per packet routed
        self.on_props: Callable[[PropsHead, Event], None] | None = None
        self.counters = FactCounters()

    @property
    def writer(self) -> FactWriter:
        """Where the facts go (the outbox): the readers watch its room to pause when U falls behind."""
        return self._writer

    # -- messages -------------------------------------------------------------------------------

    def message(self, ctx: SocketContext, recv_ts: int, message: Message) -> None:
        """Turn one platform message into one fact."""
        self.messages(ctx, recv_ts, (message,))

    def messages(self, ctx: SocketContext, recv_ts: int, messages: Sequence[Message]) -> None:
        """Turn the messages of one frame into facts, one each, in order."""
        counts = self.counters.messages
        connection = ctx.connection
        counts[connection] = counts.get(connection, 0) + len(messages)
        for message in messages:
            if isinstance(message, Event):
                head = message.head
                if isinstance(head, MdHead):
                    self._md(ctx, recv_ts, message.raw, head)
                elif isinstance(head, ChartHead):
                    self._chart(ctx, recv_ts, message.raw, head)
                elif isinstance(head, PropsHead):
                    self._props(ctx, recv_ts, message, head)
                else:
                    stream = _EVENT_STREAMS.get(message.kind, Stream.EVENT)
                    self._put(ctx, recv_ts, FactKind.PLATFORM_EVENT, stream, message.raw)
            elif isinstance(message, Response):
                self._response(ctx, recv_ts, message)
            else:
                self._undecodable(ctx, recv_ts, message)

    # The two market-data builders below are the hot path: each replaces the five per-message fields of a template
    # made once per connection and contract (or chart subscription), and skips `_put`'s generic labels.

    def _template(
        self, ctx: SocketContext, contract_id: int | None, symbol: str | None, **chart: object
    ) -> FactEnvelope:
        return FactEnvelope(
            kind=FactKind.MARKET,
            stream=Stream.MD,
            mode=self._mode,
            recv_ts=0,
            connection=ctx.connection,
            connection_id=ctx.connection_id,
            epoch=ctx.epoch,
            delivery_seq=0,
            payload=_EMPTY,
            run_id=self.run_id,
            contract_id=contract_id,
            symbol=symbol,
            lease_epoch=self.lease_epoch,
            **chart,  # type: ignore[arg-type]  # timeframe, historical, backfill of a chart subscription
        )

    def _fresh_templates(self, ctx: SocketContext) -> None:
        if ctx.connection_id != self._templates_of:
            self._md_templates.clear()
            self._chart_templates.clear()
            self._templates_of = ctx.connection_id

    def _md(self, ctx: SocketContext, recv_ts: int, raw: bytes, head: MdHead) -> None:
        contract_ids, timestamps = head.contract_ids, head.timestamps
        contract_id = contract_ids[0] if len(contract_ids) == 1 else None
        stream = _MD_STREAMS[head.stream]
        by_stream = self.counters.by_stream
        by_stream[stream] = by_stream.get(stream, 0) + 1
        template = self._md_templates.get((ctx.connection_id, contract_id))
        if template is None:
            self._fresh_templates(ctx)
            symbol = self._symbols.get(contract_id) if contract_id is not None else None
            template = self._md_templates[(ctx.connection_id, contract_id)] = self._template(ctx, contract_id, symbol)
        writer = self._writer
        writer.put(
            _replace(
                template,
                stream=stream,
                recv_ts=recv_ts,
                delivery_seq=writer.next_delivery_seq(),
                payload=_Raw(raw),
                platform_ts=timestamps[-1] if timestamps else None,
            )
        )

    def _chart(self, ctx: SocketContext, recv_ts: int, raw: bytes, head: ChartHead) -> None:
        if head.packets:  # several packets in one message: each is routed by its own id (ADR 0014)
            self._chart_packets(ctx, recv_ts, raw, head, head.packets)
            return
        stream = _chart_kind(head.has_bars, head.has_ticks, head.eoh)
        subscription_id = head.subscription_ids[0] if head.subscription_ids else None
        chart = self._chart_stream((ctx.connection_id, subscription_id)) if subscription_id is not None else None
        if chart is None or subscription_id is None:
            self._put(ctx, recv_ts, FactKind.MARKET, stream, raw, platform_ts=head.last_bar_timestamp)
            return
        route = chart.route(subscription_id, head.eoh)
        by_stream = self.counters.by_stream
        by_stream[stream] = by_stream.get(stream, 0) + 1
        writer = self._writer
        writer.put(
            _replace(
                self._chart_template(ctx, route),
                stream=stream,
                recv_ts=recv_ts,
                delivery_seq=writer.next_delivery_seq(),
                payload=_Raw(raw),
                platform_ts=head.last_bar_timestamp,
            )
        )
        if self.on_chart is not None:
            self.on_chart(route, head)

    def _chart_template(self, ctx: SocketContext, route: ChartRoute) -> FactEnvelope:
        key = (ctx.connection_id, id(route))
        cached = self._chart_templates.get(key)
        if cached is not None and cached[0] is route:
            return cached[1]
        self._fresh_templates(ctx)  # a new subscription part (or a new connection)
        template = self._template(
            ctx,
            route.contract_id,
            route.symbol,
            timeframe=route.timeframe,
            historical=route.historical,
            backfill=route.backfill,
        )
        self._chart_templates[key] = (route, template)
        return template

    def _chart_packets(
        self, ctx: SocketContext, recv_ts: int, raw: bytes, head: ChartHead, packets: tuple[ChartPacket, ...]
    ) -> None:
        """One message of several chart packets: one fact, labelled by what its packets share, and per packet."""
        lookup, connection_id = self._chart_stream, ctx.connection_id
        routes: list[ChartRoute | None] = []
        for packet in packets:  # in order: an `eoh` ends its subscription's history for the packets after it
            packet_id = packet.id
            chart = lookup((connection_id, packet_id)) if packet_id is not None else None
            routes.append(chart.route(packet_id, packet.eoh) if chart is not None and packet_id is not None else None)
        stream = _chart_kind(head.has_bars, head.has_ticks, head.eoh)
        first = routes[0]
        if all(route == first for route in routes):  # one subscription part: labelled like a one-packet message
            if first is None:
                self._put(ctx, recv_ts, FactKind.MARKET, stream, raw, platform_ts=head.last_bar_timestamp)
            else:
                self._put(
                    ctx,
                    recv_ts,
                    FactKind.MARKET,
                    stream,
                    raw,
                    platform_ts=head.last_bar_timestamp,
                    contract_id=first.contract_id,
                    symbol=first.symbol,
                    timeframe=first.timeframe,
                    historical=first.historical,
                    backfill=first.backfill,
                )
        else:
            labels = tuple(
                PacketLabel(
                    id=packet.id,
                    contract_id=route.contract_id,
                    symbol=route.symbol,
                    timeframe=route.timeframe,
                    historical=route.historical,
                    backfill=route.backfill,
                )
                if route is not None
                else PacketLabel(id=packet.id)
                for packet, route in zip(packets, routes, strict=True)
            )
            contract_id = _shared([label.contract_id for label in labels])
            by_stream = self.counters.by_stream
            by_stream[stream] = by_stream.get(stream, 0) + 1
            writer = self._writer
            envelope = self._template(
                ctx,
                contract_id,
                _shared([label.symbol for label in labels]),
                timeframe=_shared([label.timeframe for label in labels]),
                historical=_shared([label.historical for label in labels]),
                backfill=any(label.backfill for label in labels),
            )
            writer.put(
                _replace(
                    envelope,
                    stream=stream,
                    recv_ts=recv_ts,
                    delivery_seq=writer.next_delivery_seq(),
                    payload=_Raw(raw),
                    platform_ts=head.last_bar_timestamp,
                    packets=labels,
                )
            )
        on_chart = self.on_chart
        if on_chart is not None:
            for packet, route in zip(packets, routes, strict=True):
                if route is not None:
                    on_chart(route, packet)

    def _props(self, ctx: SocketContext, recv_ts: int, event: Event, props: PropsHead) -> None:
        account_id = props.account_ids[0] if len(props.account_ids) == 1 else None
        contract_id = props.contract_ids[0] if len(props.contract_ids) == 1 else None
        self._put(
            ctx,
            recv_ts,
            FactKind.PLATFORM_EVENT,
            Stream.PROPS,
            event.raw,
            platform_ts=props.timestamp,
            account_id=account_id,
            contract_id=contract_id,
            symbol=self._symbols.get(contract_id) if contract_id is not None else None,
            correlation_id=self.correlation.intent_of(props),
        )
        if self.on_props is not None:
            self.on_props(props, event)

    def _response(self, ctx: SocketContext, recv_ts: int, response: Response) -> None:
        route = self.correlation.answered(ctx.connection_id, response)  # ids correlated before the next message
        self._put(
            ctx,
            recv_ts,
            FactKind.PLATFORM_EVENT,
            route.stream if route else Stream.RESPONSE,
            response.raw,
            correlation_id=route.intent_id if route else None,
            request_id=response.request_id,
        )

    def _undecodable(self, ctx: SocketContext, recv_ts: int, message: MalformedMessage) -> None:
        self.counters.undecodable += 1
        text = message.raw.decode("utf-8", "replace")
        self._put(ctx, recv_ts, FactKind.UNDECODABLE, Stream.EVENT, _encode(text))

    def frame(self, ctx: SocketContext, recv_ts: int, frame: MalformedFrame | CloseFrame) -> None:
        """A whole frame that carries no messages: an undecodable frame, or the platform's close frame."""
        if isinstance(frame, MalformedFrame):
            self.counters.undecodable += 1
            text = frame.raw.decode("utf-8", "replace") if frame.raw is not None else frame.text
            self._put(ctx, recv_ts, FactKind.UNDECODABLE, Stream.FRAME, _encode(text))
        else:
            payload = _encode({"c": [frame.code, frame.reason]})
            self._put(ctx, recv_ts, FactKind.PLATFORM_EVENT, Stream.FRAME, payload)

    def gap(self, ctx: SocketContext, recv_ts: int, detail: GapDetail) -> None:
        """Report what the PA may have missed (a disconnect, a pause) as a gap fact."""
        self.counters.gaps += 1
        self._put(
            ctx,
            recv_ts,
            FactKind.GAP,
            Stream(detail.streams[0]) if len(detail.streams) == 1 else Stream.CONNECTION,
            _encode(detail),
            contract_id=detail.contract_id,
            symbol=detail.symbol,
        )

    # -- the write ----------------------------------------------------------------------------------

    def _put(
        self,
        ctx: SocketContext,
        recv_ts: int,
        kind: FactKind,
        stream: Stream,
        payload: bytes,
        *,
        platform_ts: str | int | None = None,
        contract_id: int | None = None,
        symbol: str | None = None,
        account_id: int | None = None,
        correlation_id: str | None = None,
        request_id: int | None = None,
        timeframe: str | None = None,
        historical: bool | None = None,
        backfill: bool = False,
    ) -> None:
        writer = self._writer
        by_stream = self.counters.by_stream
        by_stream[stream] = by_stream.get(stream, 0) + 1
        # At most 15 keyword arguments per call: CPython compiles a call with 16 or more into a dict build
        # and CALL_FUNCTION_EX, which makes each envelope ~0.5 us slower (docs/performance.md).
        envelope = FactEnvelope(
            kind=kind,
            stream=stream,
            mode=self._mode,
            recv_ts=recv_ts,
            connection=ctx.connection,
            connection_id=ctx.connection_id,
            epoch=ctx.epoch,
            delivery_seq=writer.next_delivery_seq(),
            payload=msgspec.Raw(payload),
            run_id=self.run_id,
            platform_ts=platform_ts,
            contract_id=contract_id,
            symbol=symbol,
            account_id=account_id,
            correlation_id=correlation_id,
        )
        if (
            request_id is not None
            or timeframe is not None
            or historical is not None
            or backfill
            or self.lease_epoch is not None
        ):
            envelope = _replace(
                envelope,
                request_id=request_id,
                timeframe=timeframe,
                historical=historical,
                backfill=backfill,
                lease_epoch=self.lease_epoch,
            )
        writer.put(envelope)
