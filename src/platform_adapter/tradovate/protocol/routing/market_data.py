"""Routing heads of market-data events: ``md`` (quotes, DOM, histograms) and ``chart`` (bars, ticks).

The adapter forwards these payloads raw and must not compute or aggregate; a head only labels the
fact and remembers the last bar timestamp / tick id seen, so a reconnect can backfill with
``md/getChart`` (``closestTimestamp``, ``closestTickId``).

Shapes, with the public source of each (lead-sheet keys in brackets):

* ``md`` event ``d``: ``{"quotes":[{"timestamp","contractId","entries"}]}``, ``{"doms":[{"contractId",
  "timestamp","bids","offers"}]}``, ``{"histograms":[{"contractId","timestamp",...}]}``; throttling may
  merge several contracts into one message [JS:EX-08
  https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-08-Realtime-Market-Data;
  JS:EX-09 https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-09-Realtime-Market-Data-Pt2;
  DOCS wss-guide/message-protocol; COMM:2124].
* ``chart`` event ``d``: ``{"charts":[{"id","td","bars":[{"timestamp",...}]}]}``, end of history
  ``{"id":..,"eoh":true}``, tick packets ``{"id","s","td","bp","bt","ts","tks":[{"t","p","s","b","a",
  "bs","as","id"}]}``. The forming bar is re-sent with the same timestamp and ticks can arrive out of
  order, so "first"/"last" mean as sent [MDDOC Get-Chart, Using-Tick-Charts; JS:EX-10
  https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-10-Chart-Data; JS:EX-11
  https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-11-Tick-Charts].
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypeAlias

import msgspec

from ._salvage import (
    DECODE_ERRORS,
    EMPTY,
    Payload,
    int_or_none,
    salvage_items,
    str_or_none,
    unique_ints,
)

__all__ = [
    "ChartHead",
    "ChartPacket",
    "ChartsBody",
    "MdBody",
    "MdHead",
    "MdStream",
    "chart_head",
    "chart_label",
    "md_head",
    "md_label",
]

MdStream: TypeAlias = Literal["quote", "dom", "histogram", "md"]


class MdHead(msgspec.Struct, frozen=True, gc=False):
    """Label of an ``md`` event: which stream, and the contract ids and timestamps in it, as sent."""

    stream: MdStream
    contract_ids: tuple[int, ...]
    timestamps: tuple[str, ...]


class _MdItem(msgspec.Struct, gc=False, rename="camel"):
    # ``Any`` leaves: a value of the wrong type drops that value, not the whole head.
    contract_id: Any = None
    timestamp: Any = None


class MdBody(msgspec.Struct, gc=False):
    """The keys of an ``md`` event ``d`` a head reads; a frame decoder may read it in the message's own pass."""

    quotes: list[_MdItem] | None = None
    doms: list[_MdItem] | None = None
    histograms: list[_MdItem] | None = None


class _MdSections(msgspec.Struct, gc=False):
    quotes: msgspec.Raw = EMPTY
    doms: msgspec.Raw = EMPTY
    histograms: msgspec.Raw = EMPTY


_MD: Final = msgspec.json.Decoder(MdBody)
_MD_SECTIONS: Final = msgspec.json.Decoder(_MdSections)
_MD_ITEM: Final = msgspec.json.Decoder(_MdItem)
_MD_UNKNOWN: Final = MdHead("md", (), ())


def md_head(d: Payload) -> MdHead:
    """Label an ``md`` event ``d`` as quote, dom or histogram (``"md"`` if mixed or unknown)."""
    if d is None:
        return _MD_UNKNOWN
    try:
        body = _MD.decode(d)
    except DECODE_ERRORS:
        salvaged = _salvage_md(d)
        if salvaged is None:
            return _MD_UNKNOWN
        body = salvaged
    return md_label(body)


def md_label(body: MdBody | None) -> MdHead:
    """The head of an ``md`` event whose ``d`` was already read as `MdBody` (None: absent)."""
    if body is None:
        return _MD_UNKNOWN
    quotes, doms, histograms = body.quotes, body.doms, body.histograms
    stream: MdStream
    if doms is None and histograms is None and quotes is not None:
        stream, items = "quote", quotes
    elif quotes is None and histograms is None and doms is not None:
        stream, items = "dom", doms
    elif quotes is None and doms is None and histograms is not None:
        stream, items = "histogram", histograms
    else:
        stream, items = "md", [*(quotes or ()), *(doms or ()), *(histograms or ())]
    if len(items) == 1:  # the usual case: one contract per message
        contract_id, timestamp = items[0].contract_id, items[0].timestamp
        return MdHead(
            stream,
            (contract_id,) if type(contract_id) is int else (),
            (timestamp,) if type(timestamp) is str else (),
        )
    return MdHead(
        stream,
        tuple([item.contract_id for item in items if type(item.contract_id) is int]),
        tuple([item.timestamp for item in items if type(item.timestamp) is str]),
    )


def _salvage_md(d: msgspec.Raw | bytes) -> MdBody | None:
    try:
        sections = _MD_SECTIONS.decode(d)
    except DECODE_ERRORS:
        return None
    return MdBody(
        salvage_items(sections.quotes, _MD_ITEM)[0],
        salvage_items(sections.doms, _MD_ITEM)[0],
        salvage_items(sections.histograms, _MD_ITEM)[0],
    )


class ChartPacket(msgspec.Struct, frozen=True, gc=False):
    """Label of one packet of a ``charts`` array: its subscription id, end of history, last bar and tick as sent."""

    id: int | None
    eoh: bool
    has_bars: bool
    has_ticks: bool
    last_bar_timestamp: str | None
    last_tick_id: int | None
    last_tick_base_ms: int | None


class ChartHead(msgspec.Struct, frozen=True, gc=False):
    """Label of a ``chart`` event: subscription ids, end of history, first/last bar and tick as sent.

    One ``charts`` array may hold several packets: the last history packet and ``eoh`` [JS:EX-11], and, when
    Tradovate throttles, packets of several subscriptions [COMM:2124]. Then ``packets`` labels each packet, in
    order, so each can be routed by its own ``id``; for a message of one packet it is empty and the head's own
    fields describe that packet.
    """

    subscription_ids: tuple[int, ...]
    eoh: bool
    has_bars: bool
    has_ticks: bool
    first_bar_timestamp: str | None
    last_bar_timestamp: str | None
    first_tick_id: int | None
    last_tick_id: int | None
    last_tick_base_ms: int | None = None  # `bt` of the last tick packet, as sent (platform epoch ms)
    packets: tuple[ChartPacket, ...] = ()


class _Bar(msgspec.Struct, gc=False):
    timestamp: Any = None


class _Tick(msgspec.Struct, gc=False):
    id: Any = None


class _Packet(msgspec.Struct, gc=False):
    id: Any = None
    eoh: Any = None
    bt: Any = None
    # Only the routing key of each bar / tick is read; msgspec skips the rest of each object in the same pass.
    bars: list[_Bar] | None = None
    tks: list[_Tick] | None = None


class _RawPacket(msgspec.Struct, gc=False):
    # The second-chance shape: bars and ticks as Raw, so one malformed bar does not hide the others.
    id: Any = None
    eoh: Any = None
    bt: Any = None
    bars: list[msgspec.Raw] | None = None
    tks: list[msgspec.Raw] | None = None


class ChartsBody(msgspec.Struct, gc=False):
    """The keys of a ``chart`` event ``d`` a head reads; a frame decoder may read it in the message's own pass."""

    charts: list[_Packet] | None = None


class _ChartSections(msgspec.Struct, gc=False):
    charts: msgspec.Raw = EMPTY


class _PacketIdentity(msgspec.Struct, gc=False):
    id: Any = None
    eoh: Any = None


_CHARTS: Final = msgspec.json.Decoder(ChartsBody)
_CHART_SECTIONS: Final = msgspec.json.Decoder(_ChartSections)
_PACKET: Final = msgspec.json.Decoder(_Packet)
_RAW_PACKET: Final = msgspec.json.Decoder(_RawPacket)
_PACKET_IDENTITY: Final = msgspec.json.Decoder(_PacketIdentity)
_RAW_ITEM: Final = msgspec.json.Decoder(msgspec.Raw)
_BAR: Final = msgspec.json.Decoder(_Bar)
_TICK: Final = msgspec.json.Decoder(_Tick)
_CHART_UNKNOWN: Final = ChartHead((), False, False, False, None, None, None, None)


def chart_head(d: Payload) -> ChartHead:
    """Label a ``chart`` event ``d`` made of bar packets, tick packets and ``eoh`` packets."""
    if d is None:
        return _CHART_UNKNOWN
    try:
        packets = _CHARTS.decode(d).charts
    except DECODE_ERRORS:
        packets = _salvage_packets(d)
    return _chart_packets_label(packets)


def chart_label(body: ChartsBody | None) -> ChartHead:
    """The head of a ``chart`` event whose ``d`` was already read as `ChartsBody` (None: absent)."""
    return _chart_packets_label(body.charts if body is not None else None)


def _chart_packets_label(packets: list[_Packet] | None) -> ChartHead:
    if not packets:
        return _CHART_UNKNOWN
    eoh = False
    first_bar: _Bar | None = None
    last_bar: _Bar | None = None
    first_tick: _Tick | None = None
    last_tick: _Tick | None = None
    last_base: Any = None
    for packet in packets:
        if packet.eoh is True:
            eoh = True
        if packet.bars:
            if first_bar is None:
                first_bar = packet.bars[0]
            last_bar = packet.bars[-1]
        if packet.tks:
            if first_tick is None:
                first_tick = packet.tks[0]
            last_tick = packet.tks[-1]
            last_base = packet.bt
    only = packets[0].id if len(packets) == 1 else None
    # Narrowed inline (as `str_or_none` / `int_or_none` do): this runs for every chart event.
    first_ts = first_bar.timestamp if first_bar is not None else None
    last_ts = last_bar.timestamp if last_bar is not None else None
    first_id = first_tick.id if first_tick is not None else None
    last_id = last_tick.id if last_tick is not None else None
    return ChartHead(
        (only,) if type(only) is int else unique_ints(packet.id for packet in packets),
        eoh,
        first_bar is not None,
        first_tick is not None,
        first_ts if type(first_ts) is str else None,
        last_ts if type(last_ts) is str else None,
        first_id if type(first_id) is int else None,
        last_id if type(last_id) is int else None,
        last_base if type(last_base) is int else None,
        tuple([_packet_label(packet) for packet in packets]) if len(packets) > 1 else (),
    )


def _packet_label(packet: _Packet) -> ChartPacket:
    bars, ticks = packet.bars, packet.tks
    last_ts = bars[-1].timestamp if bars else None
    last_id = ticks[-1].id if ticks else None
    return ChartPacket(
        int_or_none(packet.id),
        packet.eoh is True,
        bool(bars),
        bool(ticks),
        last_ts if type(last_ts) is str else None,
        last_id if type(last_id) is int else None,
        int_or_none(packet.bt) if ticks else None,
    )


def _salvage_packets(d: msgspec.Raw | bytes) -> list[_Packet]:
    try:
        section = _CHART_SECTIONS.decode(d).charts
    except DECODE_ERRORS:
        return []
    packets: list[_Packet] = []
    for raw_packet in salvage_items(section, _RAW_ITEM)[0] or ():
        try:
            packets.append(_PACKET.decode(raw_packet))
            continue
        except DECODE_ERRORS:
            pass
        try:
            loose = _RAW_PACKET.decode(raw_packet)
        except DECODE_ERRORS:
            # Bars or ticks that do not fit: the packet still says which subscription it belongs to
            # and whether it ends the history.
            try:
                identity = _PACKET_IDENTITY.decode(raw_packet)
            except DECODE_ERRORS:
                continue
            packets.append(_Packet(identity.id, identity.eoh))
            continue
        # Only the first and the last bar / tick matter to the head: read them one by one.
        bars = [_Bar(_bar_timestamp(loose.bars[0])), _Bar(_bar_timestamp(loose.bars[-1]))] if loose.bars else None
        ticks = [_Tick(_tick_id(loose.tks[0])), _Tick(_tick_id(loose.tks[-1]))] if loose.tks else None
        packets.append(_Packet(loose.id, loose.eoh, loose.bt, bars, ticks))
    return packets


def _bar_timestamp(bar: msgspec.Raw | None) -> str | None:
    if bar is None:
        return None
    try:
        return str_or_none(_BAR.decode(bar).timestamp)
    except DECODE_ERRORS:
        return None


def _tick_id(tick: msgspec.Raw | None) -> int | None:
    if tick is None:
        return None
    try:
        return int_or_none(_TICK.decode(tick).id)
    except DECODE_ERRORS:
        return None
