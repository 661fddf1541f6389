"""Every message kind the simulator sends has the shape of a verbatim sample from Tradovate's public docs."""

from __future__ import annotations

from typing import Any

from tradovate_sim import TradovateSim

from . import samples
from .conftest import SocketFactory
from .rawclient import RawSocket

CHART_BODY = (
    '{"symbol":"ESZ6","chartDescription":{"underlyingType":"%s","elementSize":%d,'
    '"elementSizeUnit":"UnderlyingUnits","withHistogram":false},"timeRange":{"asMuchAsElements":5}}'
)


async def test_authorize_ack_is_the_wsmd_frame_byte_for_byte(
    sim: TradovateSim, connect: SocketFactory, tokens: dict[str, Any]
) -> None:
    socket = await connect(sim.trading_ws_url)
    assert await socket.frame() == "o"

    await socket.send(f"authorize\n2\n\n{tokens['accessToken']}")

    assert await socket.frame() == samples.AUTHORIZE_ACK


async def test_contract_item_response_matches_the_docs_item_example(synced: RawSocket) -> None:
    response = await synced.request("contract/item", 23, query="id=3570918")

    assert set(response) == {"s", "i", "d"}
    assert samples.conforms(response["d"], samples.load(samples.CONTRACT_ITEM), exact=True) == []
    assert response["d"]["name"] == "ESZ6"
    assert response["d"]["providerTickSize"] == 0.25


async def test_order_props_event_has_exactly_the_docs_sample_fields(synced: RawSocket) -> None:
    sample = samples.load(samples.PROPS_FRAME)[0]
    await synced.send(
        'order/placeorder\n2\n\n{"accountSpec":"DEMO701234","accountId":701234,"action":"Sell",'
        '"symbol":"ESZ6","orderQty":1,"orderType":"Limit","price":9000,"isAutomated":true}'
    )

    created = await synced.until(lambda m: m.get("e") == "props" and m["d"]["entityType"] == "order")

    assert samples.conforms(created, sample, exact=True) == []
    assert created["d"]["eventType"] == "Created"
    assert created["d"]["entity"]["ordStatus"] == "PendingNew"


async def test_quote_event_fields_are_those_of_the_docs_md_sample(md: RawSocket) -> None:
    sample = samples.load(samples.QUOTE_EVENT)
    await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')

    full = await md.until(lambda m: m.get("e") == "md")

    assert samples.conforms(full, sample, exact=True) == []


async def test_dom_event_matches_the_ex09_sample(md: RawSocket) -> None:
    await md.request("md/subscribeDOM", 1, body='{"symbol":"NQZ6"}')

    dom = await md.until(lambda m: m.get("e") == "md")

    assert samples.conforms(dom, samples.load(samples.DOM_EVENT), exact=True) == []
    assert len(dom["d"]["doms"][0]["bids"]) == 10


async def test_histogram_event_matches_the_ex09_sample(md: RawSocket) -> None:
    sample = samples.load(samples.HISTOGRAM_EVENT)
    sample_items = sample["d"]["histograms"][0].pop("items")
    await md.request("md/subscribeHistogram", 1, body='{"symbol":"ESZ6"}')

    histogram = (await md.until(lambda m: m.get("e") == "md"))["d"]["histograms"][0]
    items = histogram.pop("items")

    assert samples.conforms({"e": "md", "d": {"histograms": [histogram]}}, sample, exact=True) == []
    assert all(int(key) == int(key) and isinstance(value, int) for key, value in items.items())
    assert all(isinstance(value, int) for value in sample_items.values())


async def test_get_chart_response_and_bar_event_match_mddoc(sim: TradovateSim, md: RawSocket) -> None:
    sim.variants.update({"chart_packing": "same_array"})
    response = await md.request("md/getChart", 13, body=CHART_BODY % ("MinuteBar", 15))
    bars = await md.until(lambda m: m.get("e") == "chart")

    # The MD swagger's ChartSubscriptionResult requires `mode`, which the MDDOC sample leaves out.
    assert response["d"].pop("mode") == "RealTime"
    assert samples.conforms(response, samples.load(samples.GET_CHART_RESPONSE), exact=True) == []
    # The bars and eoh share one `charts` array (JS EX-11 README) under the realtimeId (FAQ HowToHandleDataSizeLimits);
    # the MDDOC sample shows the bars alone.
    *data, end = bars["d"]["charts"]
    assert end == {"id": response["d"]["realtimeId"], "eoh": True}
    assert samples.conforms({**bars, "d": {"charts": data}}, samples.load(samples.CHART_EVENT), exact=True) == []


async def test_tick_packet_and_end_of_history_match_ex11(sim: TradovateSim, md: RawSocket) -> None:
    sim.variants.update({"chart_packing": "same_array"})
    sample = samples.load(samples.TICK_CHART)
    await md.request("md/getChart", 1, body=CHART_BODY % ("Tick", 1))

    event = (await md.until(lambda m: m.get("e") == "chart"))["d"]

    # As in the EX-11 sample, the last history packet and eoh share one `charts` array.
    packet, end = event["charts"]
    assert samples.conforms(packet, sample["charts"][0], exact=True) == []
    assert samples.conforms(end, sample["charts"][1], exact=True) == []


async def test_shutdown_event_matches_the_docs_sample(sim: TradovateSim, md: RawSocket) -> None:
    await sim.faults.shutdown("md", reason_code="Maintenance", reason="Planned maintenance")

    event = await md.until(lambda m: m.get("e") == "shutdown")

    assert event == samples.load(samples.SHUTDOWN_EVENT)


async def test_close_frame_matches_wsmd(sim: TradovateSim, md: RawSocket) -> None:
    await sim.faults.close_sockets("md")

    frames, code = await md.closed()

    assert [samples.load(frame) for frame in frames if frame.startswith("c")] == [samples.load(samples.CLOSE_FRAME)]
    assert code == 3000


async def test_penalty_fields_match_the_faq(sim: TradovateSim, synced: RawSocket) -> None:
    sim.faults.penalty(n=1, seconds=15)

    response = await synced.request("account/list", 5)

    assert samples.conforms(response["d"], samples.load(samples.PENALTY), exact=True) == []
    assert response["s"] == 200
    assert response["d"]["p-time"] == 15


async def test_wsmd_request_examples_are_parsed_and_answered(synced: RawSocket) -> None:
    await synced.send(samples.EXECUTION_REPORT_LIST_REQUEST)
    listed = await synced.response(4)
    await synced.send(samples.LDEPS_REQUEST)
    unknown = await synced.response(8)
    await synced.send(samples.ROLL_CONTRACT_REQUEST)
    roll = await synced.response(33)

    assert listed == {"s": 200, "i": 4, "d": []}
    assert unknown == {"s": 404, "i": 8, "d": "Not found: tradingPermission/ldeps"}
    assert roll["s"] == 404


async def test_docs_get_chart_wire_example_is_answered(md: RawSocket) -> None:
    await md.send(samples.GET_CHART_REQUEST)

    response = await md.response(0)

    # ESZ4 expired long ago; the request itself parses and gets a business answer, not a protocol error.
    assert response["s"] == 200
    assert response["d"]["errorCode"] == "UnknownSymbol"


async def test_get_chart_on_the_trading_socket_is_not_found_as_in_issue_38(synced: RawSocket) -> None:
    response = await synced.request("md/getChart", 9, body=CHART_BODY % ("MinuteBar", 1))

    assert response == {"s": 404, "i": 9, "d": samples.NOT_FOUND_GET_CHART}


async def test_body_on_the_query_line_fails_as_in_issue_32(md: RawSocket) -> None:
    await md.send('md/subscribeQuote\n3\n{"symbol":"ESZ6"}\n')

    response = await md.response(3)

    assert response == {"s": 400, "i": 3, "d": samples.MISSING_SYMBOL}
