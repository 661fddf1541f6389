"""Market data: quotes with partial updates, DOM, histogram, charts (bars, daily, ticks), cancel, backfill."""

from __future__ import annotations

from typing import Any

from tradovate_sim import TradovateSim

from .rawclient import Message, RawSocket


def chart_body(symbol: str, kind: str, size: int, time_range: str) -> str:
    return (
        f'{{"symbol":"{symbol}","chartDescription":{{"underlyingType":"{kind}","elementSize":{size},'
        f'"elementSizeUnit":"UnderlyingUnits","withHistogram":false}},"timeRange":{time_range}}}'
    )


def is_chart(message: Message) -> bool:
    return message.get("e") == "chart"


async def history(socket: RawSocket, request_id: int, body: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send md/getChart; return the response `d` and the chart objects up to and including eoh.

    One `chart` event may hold several packets, the last data packet and eoh among them (JS EX-11 README).
    """
    response = await socket.request("md/getChart", request_id, body=body)
    packets: list[dict[str, Any]] = []
    while True:
        charts = (await socket.until(is_chart))["d"]["charts"]
        packets.extend(charts)
        if charts[-1].get("eoh"):
            return response["d"], packets


async def test_subscribe_quote_sends_a_full_quote_then_partial_updates(sim: TradovateSim, md: RawSocket) -> None:
    response = await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    full = (await md.until(lambda m: m.get("e") == "md"))["d"]["quotes"][0]

    await sim.market.step(5)
    updates = [(await md.until(lambda m: m.get("e") == "md"))["d"]["quotes"][0] for _ in range(5)]

    assert response == {"s": 200, "i": 1, "d": {"mode": "RealTime"}}  # MD swagger: `mode` is required
    assert set(full["entries"]) == {
        "Bid",
        "TotalTradeVolume",
        "Offer",
        "LowPrice",
        "Trade",
        "OpenInterest",
        "OpeningPrice",
        "HighPrice",
        "SettlementPrice",
    }
    assert all({"Trade", "TotalTradeVolume"} <= set(u["entries"]) for u in updates)
    assert all("OpenInterest" not in u["entries"] for u in updates)
    volumes = [full["entries"]["TotalTradeVolume"]["size"]] + [
        u["entries"]["TotalTradeVolume"]["size"] for u in updates
    ]
    assert volumes == sorted(volumes)
    assert len(set(volumes)) == 6
    timestamps = [u["timestamp"] for u in updates]
    assert timestamps == sorted(timestamps)
    assert all(stamp.endswith("Z") for stamp in timestamps)


async def test_prices_sit_on_each_contracts_tick_grid(sim: TradovateSim, md: RawSocket) -> None:
    for request_id, symbol in enumerate(("ESZ6", "NQZ6", "MESZ6", "CLF7"), start=1):
        await md.request("md/subscribeQuote", request_id, body=f'{{"symbol":"{symbol}"}}')
    await sim.market.step(20)

    quotes = [m["d"]["quotes"][0] for m in sim.sent_messages(kind="md", event="md") for m in [m.data]]
    tick_size = {3570918: 0.25, 3570925: 0.25, 3570931: 0.25, 3570947: 0.01}

    assert len(quotes) == 4 + 4 * 20
    for quote in quotes:
        size = tick_size[quote["contractId"]]
        for entry in quote["entries"].values():
            if "price" in entry:
                steps = entry["price"] / size
                assert abs(steps - round(steps)) < 1e-9, (quote["contractId"], entry)


async def test_symbol_may_be_a_contract_id_or_continuous(sim: TradovateSim, md: RawSocket) -> None:
    by_id = await md.request("md/subscribeQuote", 1, body='{"symbol":3570947}')
    continuous = await md.request("md/subscribeDOM", 2, body='{"symbol":"@NQ"}')
    unknown = await md.request("md/subscribeQuote", 3, body='{"symbol":"ZZZ9"}')

    assert by_id["d"] == {"mode": "RealTime"}
    assert continuous["d"] == {"mode": "RealTime"}
    # The refusal the official JS tutorial logged (tradovate/example-api-js#7).
    assert unknown["d"] == {"errorText": "Symbol is inaccessible", "errorCode": "UnknownSymbol", "mode": "None"}


async def test_unsubscribe_stops_updates(sim: TradovateSim, md: RawSocket) -> None:
    await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    await md.request("md/subscribeDOM", 2, body='{"symbol":"ESZ6"}')
    await md.request("md/unsubscribeQuote", 3, body='{"symbol":"ESZ6"}')
    await md.request("md/unsubscribeDOM", 4, body='{"symbol":"ESZ6"}')
    before = len(sim.sent_messages(kind="md"))

    await sim.market.step(3)
    await md.request("md/subscribeHistogram", 5, body='{"symbol":"ESZ6"}')

    sent = sim.sent_messages(kind="md")[before:]
    assert [m.request_id for m in sent if m.request_id is not None] == [5]
    assert all("histograms" in m.data["d"] for m in sent if m.event == "md")


async def test_dom_and_histogram_update_on_each_print(sim: TradovateSim, md: RawSocket) -> None:
    await md.request("md/subscribeDOM", 1, body='{"symbol":"CLF7"}')
    await md.request("md/subscribeHistogram", 2, body='{"symbol":"CLF7"}')
    first = await md.until(lambda m: m.get("e") == "md" and "histograms" in m["d"])

    await sim.market.step(1)
    dom = (await md.until(lambda m: m.get("e") == "md" and "doms" in m["d"]))["d"]["doms"][0]
    update = (await md.until(lambda m: m.get("e") == "md" and "histograms" in m["d"]))["d"]["histograms"][0]

    assert first["d"]["histograms"][0]["refresh"] is True
    assert update["refresh"] is False
    assert len(update["items"]) == 1
    assert dom["bids"][0]["price"] < dom["offers"][0]["price"]
    assert [level["price"] for level in dom["bids"]] == sorted((level["price"] for level in dom["bids"]), reverse=True)


async def test_minute_bars_of_any_size_then_eoh_then_realtime(sim: TradovateSim, md: RawSocket) -> None:
    ids, packets = await history(md, 1, chart_body("ESZ6", "MinuteBar", 5, '{"asMuchAsElements":4}'))
    bars = [bar for packet in packets[:-1] for bar in packet["bars"]]

    await sim.market.step(1)
    live = (await md.until(is_chart))["d"]["charts"][0]

    assert ids == {"mode": "RealTime", "historicalId": 2, "realtimeId": 1}
    assert len(bars) == 4
    assert all(packet["id"] == ids["realtimeId"] for packet in packets)  # variant chart_history_id=realtime
    assert packets[-1] == {"id": ids["realtimeId"], "eoh": True}
    minutes = [int(bar["timestamp"][14:16]) for bar in bars]
    assert all(minute % 5 == 0 for minute in minutes)
    assert all(bar["timestamp"].endswith(":00.000Z") for bar in bars)
    assert live["id"] == ids["realtimeId"]
    assert live["bars"][0]["timestamp"] == bars[-1]["timestamp"]


async def test_forming_bar_is_resent_with_the_same_timestamp_on_every_trade(sim: TradovateSim, md: RawSocket) -> None:
    await history(md, 1, chart_body("NQZ6", "MinuteBar", 60, '{"asMuchAsElements":1}'))

    await sim.market.step(3)
    updates = [(await md.until(is_chart))["d"]["charts"][0]["bars"][0] for _ in range(3)]

    assert len({bar["timestamp"] for bar in updates}) == 1
    volumes = [bar["upVolume"] + bar["downVolume"] for bar in updates]
    assert volumes == sorted(volumes)
    assert len(set(volumes)) == 3


async def test_daily_bar_history(md: RawSocket) -> None:
    _, packets = await history(md, 1, chart_body("ESZ6", "DailyBar", 1, '{"asMuchAsElements":10}'))

    bars = packets[0]["bars"]
    assert packets[0]["td"] == 20261125
    assert [bar["timestamp"] for bar in bars] == ["2026-11-25T00:00:00.000Z"]


async def test_tick_chart_packets_have_increasing_tick_ids(sim: TradovateSim, md: RawSocket) -> None:
    ids, packets = await history(md, 1, chart_body("CLF7", "Tick", 1, '{"asMuchAsElements":50}'))
    await sim.market.step(3)
    live = [(await md.until(is_chart))["d"]["charts"][0] for _ in range(3)]

    historical = [tick for packet in packets[:-1] for tick in packet["tks"]]
    realtime = [tick for packet in live for tick in packet["tks"]]
    tick_ids = [tick["id"] for tick in historical + realtime]
    assert len(historical) == 50
    assert tick_ids == sorted(tick_ids)
    assert len(set(tick_ids)) == len(tick_ids)
    assert {packet["s"] for packet in packets[:-1]} == {"db"}
    assert {packet["s"] for packet in live} == {"rt"}
    assert all(packet["id"] == ids["realtimeId"] for packet in live)
    assert all(packet["ts"] == 0.01 for packet in live)
    packet = live[0]
    tick = packet["tks"][0]
    price = round((packet["bp"] + tick["p"]) * packet["ts"], 2)
    assert price == sim.market.contract(3570947).spec.price(sim.market.tape(3570947)[-3].price)


async def test_closest_tick_id_bounds_tick_history(sim: TradovateSim, md: RawSocket) -> None:
    newest = sim.market.tape(3570918)[-1].id

    _, packets = await history(
        md, 1, chart_body("ESZ6", "Tick", 1, f'{{"closestTickId":{newest - 10},"asMuchAsElements":5}}')
    )

    assert [tick["id"] for tick in packets[0]["tks"]] == list(range(newest - 14, newest - 9))


async def test_cancel_chart_accepts_either_id(sim: TradovateSim, md: RawSocket) -> None:
    first, _ = await history(md, 1, chart_body("ESZ6", "MinuteBar", 1, '{"asMuchAsElements":1}'))
    second, _ = await history(md, 2, chart_body("ESZ6", "Tick", 1, '{"asMuchAsElements":1}'))

    by_realtime = await md.request("md/cancelChart", 3, body=f'{{"subscriptionId":{first["realtimeId"]}}}')
    by_historical = await md.request("md/cancelChart", 4, body=f'{{"subscriptionId":{second["historicalId"]}}}')
    before = len(sim.sent_messages(kind="md", event="chart"))
    await sim.market.step(2)

    assert by_realtime["s"] == 200
    assert by_historical["s"] == 200
    assert len(sim.sent_messages(kind="md", event="chart")) == before


async def test_history_bars_equal_the_bars_the_live_stream_produced(
    sim: TradovateSim, md: RawSocket, connect: Any, tokens: dict[str, Any]
) -> None:
    # A client watching 1-minute bars loses its socket; later it backfills the gap with md/getChart.
    await history(md, 1, chart_body("ESZ6", "MinuteBar", 1, '{"asMuchAsElements":1}'))
    await sim.market.step(150)
    seen = [(await md.until(is_chart))["d"]["charts"][0]["bars"][0] for _ in range(150)]
    final_live: dict[str, dict[str, Any]] = {}
    for bar in seen:
        final_live[bar["timestamp"]] = bar
    await md.ws.close()
    await sim.market.step(100)

    backfill_socket = await connect(sim.md_ws_url)
    await backfill_socket.authorize(tokens["mdAccessToken"])
    _, packets = await history(
        backfill_socket,
        1,
        chart_body("ESZ6", "MinuteBar", 1, f'{{"asFarAsTimestamp":"{seen[0]["timestamp"]}"}}'),
    )
    backfilled = {bar["timestamp"]: bar for packet in packets[:-1] for bar in packet["bars"]}

    completed = sorted(final_live)[:-1]  # the last live bar kept forming during the gap
    assert len(completed) >= 2
    assert [backfilled[stamp] for stamp in completed] == [final_live[stamp] for stamp in completed]
    assert sorted(backfilled)[-1] > sorted(final_live)[-1]


async def test_time_range_timestamps_bound_bar_history(md: RawSocket) -> None:
    _, packets = await history(
        md,
        1,
        chart_body(
            "ESZ6",
            "MinuteBar",
            1,
            '{"closestTimestamp":"2026-11-25T14:20Z","asFarAsTimestamp":"2026-11-25T14:10:00.000Z"}',
        ),
    )

    stamps = [bar["timestamp"] for bar in packets[0]["bars"]]
    assert stamps[0] == "2026-11-25T14:10:00.000Z"
    assert stamps[-1] == "2026-11-25T14:20:00.000Z"
    assert len(stamps) == 11


async def test_unsupported_chart_descriptions_get_error_text(md: RawSocket) -> None:
    response = await md.request(
        "md/getChart",
        1,
        body='{"symbol":"ESZ6","chartDescription":{"underlyingType":"MinuteBar","elementSize":100,'
        '"elementSizeUnit":"Volume"},"timeRange":{"asMuchAsElements":10}}',
    )

    assert response["s"] == 200
    assert "Volume" in response["d"]["errorText"]
