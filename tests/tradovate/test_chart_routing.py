"""Chart facts: history vs live by position relative to `eoh`, and routing per packet of a `charts` array (ADR 0014).

The layouts are the simulator's variants (docs/simulator.md "Variants"): history under the realtimeId or the
historicalId (`chart_history_id`), one packet per message, the last history packet sharing its array with `eoh`, or
packets of several subscriptions in one message (`chart_packing`).
"""

from __future__ import annotations

import json

import msgspec

from platform_adapter.mic import FactEnvelope, FactMode, PacketLabel, Stream
from platform_adapter.tradovate.correlation import ChartRequest, ChartRoute, RequestRoute
from platform_adapter.tradovate.facts import FactBuilder, SocketContext
from platform_adapter.tradovate.protocol import ChartHead, ChartPacket, Response, decode_frame
from platform_adapter.tradovate.protocol.frames import MessagesFrame

from ..core.fakes import ListWriter

CTX = SocketContext("md", "md-1", 1)
ES, NQ = 3570918, 3570925


def _builder(*charts: tuple[int, str, str, bool, int, int]) -> tuple[FactBuilder, ListWriter, list[tuple[str, str]]]:
    """A builder whose correlation knows these charts: (request id, symbol, timeframe, backfill, hist id, rt id)."""
    writer = ListWriter()
    builder = FactBuilder(FactMode.LIVE, writer, run_id="charts")
    seen: list[tuple[str, str]] = []

    def on_chart(route: ChartRoute, packet: ChartHead | ChartPacket) -> None:
        seen.append((f"{route.symbol} {route.timeframe}", packet.last_bar_timestamp or "-"))

    builder.on_chart = on_chart
    for request_id, symbol, timeframe, backfill, historical_id, realtime_id in charts:
        contract = ES if symbol == "ESZ6" else NQ
        route = RequestRoute(chart=ChartRequest(symbol, contract, timeframe, backfill))
        builder.correlation.expect(CTX.connection_id, request_id, route)
        answer = {"mode": "RealTime", "historicalId": historical_id, "realtimeId": realtime_id}
        body = json.dumps({"s": 200, "i": request_id, "d": answer}).encode()
        d = msgspec.Raw(json.dumps(answer).encode())
        builder.messages(CTX, 1, [Response(request_id, 200, d, body)])
    writer.facts.clear()
    return builder, writer, seen


def _feed(builder: FactBuilder, *charts: list[dict[str, object]]) -> None:
    """One frame per list: one `chart` event per list holding those packets."""
    for packets in charts:
        frame = decode_frame("a" + json.dumps([{"e": "chart", "d": {"charts": packets}}]))
        assert isinstance(frame, MessagesFrame)
        builder.messages(CTX, 2, frame.messages)


def _bar(sub: int, ts: str) -> dict[str, object]:
    return {"id": sub, "td": 20261125, "bars": [{"timestamp": ts, "open": 1, "high": 1, "low": 1, "close": 1}]}


def _labels(fact: FactEnvelope) -> tuple[object, ...]:
    return (fact.stream, fact.symbol, fact.timeframe, fact.historical, fact.backfill)


def test_history_under_the_realtime_id_is_marked_historical_and_backfill_until_its_eoh() -> None:
    # chart_history_id=realtime, chart_packing=separate: FAQ HowToHandleDataSizeLimits.
    builder, writer, _ = _builder((4, "ESZ6", "1m", True, 32, 31))
    _feed(builder, [_bar(31, "T1")], [_bar(31, "T2")], [{"id": 31, "eoh": True}], [_bar(31, "T3")])

    assert [_labels(f) for f in writer.facts] == [
        (Stream.CHART_BAR, "ESZ6", "1m", True, True),
        (Stream.CHART_BAR, "ESZ6", "1m", True, True),
        (Stream.CHART_EOH, "ESZ6", "1m", True, True),
        (Stream.CHART_BAR, "ESZ6", "1m", False, False),  # live: never backfill
    ]


def test_history_under_the_historical_id_is_marked_the_same_way() -> None:
    # chart_history_id=historical: MarketData.md ("id matches either historicalId or realtimeId").
    builder, writer, _ = _builder((4, "ESZ6", "1m", True, 32, 31))
    _feed(builder, [_bar(32, "T1")], [{"id": 32, "eoh": True}], [_bar(31, "T2")])

    assert [(f.historical, f.backfill) for f in writer.facts] == [(True, True), (True, True), (False, False)]


def test_bars_sharing_their_array_with_eoh_are_history_bars_in_one_fact() -> None:
    # chart_packing=same_array: JS EX-11 README (a `db` packet and `eoh` in one `charts` array).
    builder, writer, seen = _builder((4, "ESZ6", "1m", False, 32, 31))
    _feed(builder, [_bar(31, "T1"), {"id": 31, "eoh": True}], [_bar(31, "T2")])

    first, live = writer.facts
    assert _labels(first) == (Stream.CHART_BAR, "ESZ6", "1m", True, False)  # the bars are not hidden by `eoh`
    assert first.packets is None  # one subscription part: the envelope's labels hold for every packet
    assert _labels(live) == (Stream.CHART_BAR, "ESZ6", "1m", False, False)
    assert seen == [("ESZ6 1m", "T1"), ("ESZ6 1m", "-"), ("ESZ6 1m", "T2")]


def test_packets_of_several_subscriptions_in_one_message_are_labelled_each_in_one_envelope() -> None:
    # chart_packing=merged: COMM 2124 (a throttled message may combine several symbols).
    builder, writer, seen = _builder((4, "ESZ6", "1m", True, 32, 31), (5, "NQZ6", "5m", True, 34, 33))
    _feed(builder, [{"id": 31, "eoh": True}, {"id": 33, "eoh": True}])
    writer.facts.clear()
    seen.clear()
    raw = [_bar(33, "NQ-T1"), _bar(31, "ES-T1")]
    _feed(builder, raw)

    (fact,) = writer.facts  # one platform message, one envelope (ADR 0002)
    assert msgspec.json.decode(bytes(fact.payload))["d"]["charts"] == raw  # untouched
    assert (fact.symbol, fact.contract_id, fact.timeframe) == (None, None, None)  # they differ
    assert (fact.stream, fact.historical, fact.backfill) == (Stream.CHART_BAR, False, False)  # shared
    assert fact.packets == (
        PacketLabel(id=33, contract_id=NQ, symbol="NQZ6", timeframe="5m", historical=False),
        PacketLabel(id=31, contract_id=ES, symbol="ESZ6", timeframe="1m", historical=False),
    )
    # Each packet moves its own subscription's backfill anchor, never the first packet's.
    assert seen == [("NQZ6 5m", "NQ-T1"), ("ESZ6 1m", "ES-T1")]


def test_eoh_and_the_first_live_packet_in_one_message_are_history_then_live() -> None:
    builder, writer, _ = _builder((4, "ESZ6", "1m", True, 32, 31))
    _feed(builder, [_bar(31, "T1"), {"id": 31, "eoh": True}, _bar(31, "T2")])

    (fact,) = writer.facts
    assert (fact.symbol, fact.timeframe, fact.historical, fact.backfill) == ("ESZ6", "1m", None, True)
    assert fact.packets is not None
    assert [(p.historical, p.backfill) for p in fact.packets] == [(True, True), (True, True), (False, False)]


def test_a_packet_of_an_unknown_subscription_is_forwarded_with_its_id_only() -> None:
    builder, writer, seen = _builder((4, "ESZ6", "1m", False, 32, 31))
    _feed(builder, [{"id": 31, "eoh": True}], [_bar(99, "X"), _bar(31, "T1")])

    fact = writer.facts[-1]
    assert fact.packets == (
        PacketLabel(id=99),
        PacketLabel(id=31, contract_id=ES, symbol="ESZ6", timeframe="1m", historical=False),
    )
    assert seen[-1] == ("ESZ6 1m", "T1")
