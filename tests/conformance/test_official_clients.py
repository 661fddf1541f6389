"""Tradovate's own clients against the simulator: the official `TradovateSocket` class step by step, and the request
shapes of the FAQ and strategy examples, under the simulator's defaults (since issue 18 phase 2 the evidence-based
ones everywhere) and under the variants that break them.

Where a client works under one variant and not the other, that is evidence for the default: docs/simulator.md
("What the official clients need") states each such case.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tradovate_sim import ManualClock, SimConfig, TradovateSim
from tradovate_sim.charts import ChartSpec
from tradovate_sim.variants import Variants
from tradovate_sim.wire import format_timestamp

from .faq_examples import MINUTE_BARS, bracket_strategy_body, get_all_bars, strat_order_body
from .official_socket import Item, OfficialClientError, OfficialSocket, access_token_request

# The FAQ large-chart example's credentials object (data.js), pointed at the simulator's demo user.
CREDENTIALS = {
    "name": "demo",
    "password": "demo-password",
    "appId": "Sample App",
    "appVersion": "1.0",
    "cid": 0,
    "sec": "x",
}
USER_ID = 5001
ACCOUNT_ID = 701234
ACCOUNT_SPEC = "DEMO701234"
ESZ6_ID = 3570918

EVIDENCE = Variants.evidence()
HISTORY_UNDER_HISTORICAL_ID = Variants().with_changes({"chart_history_id": "historical"})  # the old default
BOTH = pytest.mark.parametrize(
    "variants", [EVIDENCE, HISTORY_UNDER_HISTORICAL_ID], ids=["evidence", "history_under_historical_id"]
)


def test_the_defaults_are_the_evidence() -> None:
    assert Variants() == EVIDENCE


@dataclass
class Session:
    """A simulator, and the official class connected to both of its sockets."""

    sim: TradovateSim
    http: aiohttp.ClientSession
    tokens: dict[str, Any]
    md: OfficialSocket
    trading: OfficialSocket

    def socket(self, url: str, clock: Callable[[], float] | None = None, heartbeat_s: float = 2.5) -> OfficialSocket:
        return OfficialSocket(
            self.http,
            rest_url=self.sim.rest_url,
            md_url=self.sim.md_ws_url,
            trading_url=self.sim.trading_ws_url,
            access_token=self.tokens["accessToken"],
            clock=clock or asyncio.get_running_loop().time,
            heartbeat_s=heartbeat_s,
        )


@contextlib.asynccontextmanager
async def official(variants: Variants, heartbeat_s: float = 2.5, **settings: Any) -> AsyncIterator[Session]:
    """Start a simulator with `variants`; log in over REST; connect the class to the md and trading sockets."""
    values: dict[str, Any] = {
        "seed": 11,
        "history_s": 4 * 3600.0,
        "heartbeat_interval_s": 30.0,
        "client_timeout_s": 30.0,
        "clock": ManualClock(),
        "variants": variants,
    }
    values.update(settings)
    async with TradovateSim(SimConfig(**values)) as sim, aiohttp.ClientSession() as http:
        tokens = await access_token_request(http, sim.rest_url, CREDENTIALS)
        session = Session(sim, http, tokens, None, None)  # type: ignore[arg-type]
        session.md = session.socket(sim.md_ws_url, heartbeat_s=heartbeat_s)
        session.trading = session.socket(sim.trading_ws_url, heartbeat_s=heartbeat_s)
        async with asyncio.timeout(10):
            # The FAQ example authorizes the md socket with mdAccessToken, the tutorials with accessToken.
            await session.md.connect(sim.md_ws_url, tokens.get("mdAccessToken") or tokens["accessToken"])
            await session.trading.connect(sim.trading_ws_url, tokens["accessToken"])
        try:
            yield session
        finally:
            await session.md.close()
            await session.trading.close()


async def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait (bounded) for a condition the sockets will bring about."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def settled(socket: OfficialSocket) -> None:
    """A round trip on `socket`: every frame sent before its answer has been through the class's listeners."""
    await asyncio.wait_for(socket.send("md/subscribeQuote", body={"symbol": "@NQ"}), 5)


def chart_body(symbol: str, elements: int) -> dict[str, Any]:
    return {"symbol": symbol, "chartDescription": MINUTE_BARS, "timeRange": {"asMuchAsElements": elements}}


# -- login, authorize, request ids, bodies, answers ---------------------------------------------------------------


@BOTH
async def test_login_then_both_sockets_authorize_with_request_0_and_the_quoted_token(variants: Variants) -> None:
    async with official(variants) as s:
        frames = {conn.kind: s.sim.received_frames(conn.id)[0].text for conn in s.sim.connections()}

    # The recorder keeps the token itself as [REDACTED] (issue 15); that the class's quoted token is accepted shows
    # in each connection being authorized as the user.
    assert frames["md"] == "authorize\n0\n\n[REDACTED]"
    assert frames["trading"] == "authorize\n0\n\n[REDACTED]"
    assert all(conn.authorized for conn in s.sim.connections())
    assert s.tokens["mdAccessToken"] and s.tokens["accessToken"]


@BOTH
async def test_request_ids_follow_authorize_and_a_request_without_body_sends_undefined(variants: Variants) -> None:
    async with official(variants) as s:
        accounts = await asyncio.wait_for(s.trading.send("account/list"), 5)
        found = await asyncio.wait_for(s.trading.send("contract/find", query="name=ESZ6"), 5)

    assert s.trading.record.sent[1:3] == ["account/list\n1\n\nundefined", "contract/find\n2\nname=ESZ6\nundefined"]
    assert accounts["s"] == 200
    assert [account["id"] for account in accounts["d"]] == [ACCOUNT_ID]
    assert found["d"]["id"] == ESZ6_ID


@BOTH
async def test_a_non_200_answer_rejects_the_request_with_the_platforms_text(variants: Variants) -> None:
    async with official(variants) as s:
        with pytest.raises(OfficialClientError, match="Not found: md/getChart"):
            await asyncio.wait_for(s.trading.send("md/getChart", body=chart_body("@ES", 5)), 5)


# -- user sync and an order ---------------------------------------------------------------------------------------


@BOTH
async def test_sync_snapshot_then_the_props_of_an_order_reach_the_class(variants: Variants) -> None:
    async with official(variants) as s:
        delivered: list[Item] = []
        await s.trading.subscribe("user/syncrequest", {"users": [USER_ID]}, delivered.append)
        placed = await asyncio.wait_for(
            s.trading.send("order/placeOrder", body=strat_order_body(ACCOUNT_ID, ACCOUNT_SPEC, "ESZ6", "Buy")), 5
        )
        await until(lambda: any(d.get("entityType") == "cashBalance" for d in delivered[1:]), "the order's props")

    snapshot, *events = delivered
    assert [user["id"] for user in snapshot["users"]] == [USER_ID]
    assert [account["id"] for account in snapshot["accounts"]] == [ACCOUNT_ID]
    assert placed["d"]["orderId"] > 0
    kinds = {event["entityType"] for event in events}
    assert {"order", "executionReport", "fill", "position"} <= kinds


@pytest.mark.parametrize(
    "body",
    [
        {"users": [USER_ID]},  # FAQ user-sync-request; JS EX-07/EX-12
        {"accounts": [ACCOUNT_ID]},  # STRAT websocket/TradovateSocket.js
        {"splitResponses": True},  # C# Tradovate.Samples/Accounting.cs
        {"users": [USER_ID], "splitResponses": True},  # DOC20 userSyncRequest.md (B2B)
    ],
    ids=["users", "accounts", "splitResponses", "users+splitResponses"],
)
async def test_every_official_sync_body_delivers_the_whole_snapshot_under_the_evidence(body: dict[str, Any]) -> None:
    async with official(EVIDENCE) as s:
        await asyncio.wait_for(
            s.trading.send("order/placeorder", body=strat_order_body(ACCOUNT_ID, ACCOUNT_SPEC, "ESZ6", "Buy")), 5
        )
        delivered: list[Item] = []
        await s.trading.subscribe("user/syncrequest", body, delivered.append)

    snapshot = delivered[0]
    assert [position["netPos"] for position in snapshot["positions"]] == [1]
    assert [order["ordStatus"] for order in snapshot["orders"]] == ["Filled"]


async def test_a_snapshot_split_over_several_responses_loses_positions_and_orders_for_the_class() -> None:
    # The class keeps the first response of an id only (L110-113), so parts 2 and 3 never reach it: evidence
    # for `sync_split=single`.
    async with official(EVIDENCE.with_changes({"sync_split": "multi_same_id"})) as s:
        await asyncio.wait_for(
            s.trading.send("order/placeorder", body=strat_order_body(ACCOUNT_ID, ACCOUNT_SPEC, "ESZ6", "Buy")), 5
        )
        delivered: list[Item] = []
        await s.trading.subscribe("user/syncrequest", {"users": [USER_ID], "splitResponses": True}, delivered.append)
        await asyncio.wait_for(s.trading.send("account/list"), 5)

    assert len(delivered) == 1
    assert "positions" not in delivered[0]
    assert "orders" not in delivered[0]


# -- quotes and charts ---------------------------------------------------------------------------------------------


@BOTH
async def test_quotes_reach_the_class_through_its_contract_find_lookup(variants: Variants) -> None:
    async with official(variants) as s:
        quotes: list[Item] = []
        subscription = await s.md.subscribe("md/subscribeQuote", {"symbol": "ESZ6"}, quotes.append)
        before = len(quotes)
        await s.sim.market.step(3)
        await until(lambda: len(quotes) >= before + 3, "three quote updates")
        await subscription.unsubscribe()

    assert subscription.contract_id == ESZ6_ID
    assert {quote["contractId"] for quote in quotes} == {ESZ6_ID}
    assert s.sim.received_requests("contract/find")[0].query == "name=ESZ6"
    assert [text for text in s.md.record.sent if text != "[]"][-1] == 'md/unsubscribequote\n2\n\n{"symbol":"ESZ6"}'


@pytest.mark.parametrize(
    ("variants", "history_seen"),
    [(EVIDENCE, True), (HISTORY_UNDER_HISTORICAL_ID, False)],
    ids=["evidence", "history_under_historical_id"],
)
async def test_chart_history_reaches_the_class_only_under_the_realtime_id(
    variants: Variants, history_seen: bool
) -> None:
    async with official(variants) as s:
        packets: list[Item] = []
        subscription = await s.md.subscribe("md/getChart", chart_body("@ES", 30), packets.append)
        sent_eoh = lambda: any(  # noqa: E731 - a predicate read twice
            p.get("eoh") for m in s.sim.sent_messages(kind="md", event="chart") for p in m.data["d"]["charts"]
        )
        await until(sent_eoh, "the simulator to send the end of history")
        await settled(s.md)
        history = list(packets)
        await s.sim.market.step(2)
        await until(lambda: len(packets) >= len(history) + 2, "two live updates")
        await subscription.unsubscribe()
        frames_after_cancel = len(s.sim.sent_messages(kind="md", event="chart"))
        await s.sim.market.step(2)
        await settled(s.md)
        stopped = len(s.sim.sent_messages(kind="md", event="chart")) == frames_after_cancel

    bars = [bar for packet in history if not packet.get("eoh") for bar in packet["bars"]]
    assert (len(bars) == 30) is history_seen
    assert any(packet.get("eoh") for packet in history) is history_seen
    assert all(packet["id"] == subscription.realtime_id for packet in packets)
    assert stopped  # md/cancelChart {subscriptionId: realtimeId} ends the stream (cancel_chart_id=either)
    requests = [text for text in s.md.record.sent if text != "[]"]
    assert requests[3] == f'md/cancelChart\n3\n\n{{"subscriptionId":{subscription.realtime_id}}}'


@pytest.mark.parametrize(
    ("variants", "finishes"),
    [(EVIDENCE, True), (HISTORY_UNDER_HISTORICAL_ID, False)],
    ids=["evidence", "history_under_historical_id"],
)
async def test_faq_large_chart_paging_finishes_only_under_the_realtime_id(variants: Variants, finishes: bool) -> None:
    async with official(variants, max_history_elements=100) as s:
        closest = format_timestamp(s.sim.market.now_ms)
        as_far = format_timestamp(s.sim.market.now_ms - 3 * 3600 * 1000)
        result = await get_all_bars(s.md, "@ES", closest, as_far)
        if finishes:
            await asyncio.wait_for(result.finished.wait(), 10)
        else:
            await until(lambda: len(s.sim.received_requests("md/getChart")) == 1, "the first page")
            await settled(s.md)

    assert result.finished.is_set() is finishes
    assert result.errors == []
    if finishes:
        series = s.sim.market_data.charts.series(ESZ6_ID, ChartSpec("MinuteBar", 1))
        expected = {stamp for bar in series.bars if as_far <= (stamp := format_timestamp(bar.start_ms)) <= closest}
        assert {stamp for stamp, _ in result.bars} == expected
        assert len(result.requests) >= 2  # a server cap of 100 bars makes it page
    else:
        assert result.bars == []  # nothing passed the realtimeId filter: no page, no eoh, it never ends


# -- heartbeats and fragility --------------------------------------------------------------------------------------


async def test_an_idle_socket_stays_open_on_heartbeats_sent_only_when_frames_arrive() -> None:
    async with official(EVIDENCE, heartbeat_s=0.2, heartbeat_interval_s=0.05, client_timeout_s=1.0) as s:
        conn = s.sim.connections("md")[0]

        def received() -> list[str]:
            return [frame.text for frame in s.sim.received_frames(conn.id) if frame.text == "[]"]

        # The class records a heartbeat when it sends it; the server has it one loop turn later, so wait for both
        # (waiting for the class's count alone read the server's while the fourth `[]` was in flight).
        await until(lambda: len(s.md.record.heartbeats) >= 4, "four client heartbeats", timeout=15)
        await until(lambda: len(received()) >= 4, "four heartbeats at the server", timeout=15)
        open_now = not s.md.closed.is_set()

    assert set(s.md.record.heartbeats) == {"h"}  # each `[]` answered an inbound frame (the server's `h`)
    assert len(received()) >= 4
    assert open_now


async def test_without_server_heartbeats_on_an_idle_socket_the_class_sends_nothing_and_is_closed() -> None:
    # The class has no heartbeat timer (L243-252): a server that stays silent while idle (`h` only every 25 s,
    # as SockJS) gets no `[]` and closes it. Evidence for `server_heartbeat=idle` at the documented 2.5 s.
    async with official(
        EVIDENCE.with_changes({"server_heartbeat": "sockjs_25s"}), heartbeat_s=0.2, client_timeout_s=0.5
    ) as s:
        await asyncio.wait_for(s.md.closed.wait(), 10)
        closes = s.sim.sent_frames(kind="md", frame_type="c")

    assert "h" not in s.md.record.heartbeats  # (the JS answers the close frame itself with a `[]`)
    assert closes and closes[0].text == 'c[3002,"Heartbeat timeout"]'


async def test_a_message_without_d_throws_inside_the_classs_market_data_listener() -> None:
    # WS 429 has no `d` (partner docs, rate limits); the chart listener reads `data.d.charts` on every message
    # (L181). The simulator follows the docs; the test pins down what the class then does.
    async with official(EVIDENCE) as s:
        await s.md.subscribe("md/getChart", chart_body("@ES", 1), lambda _chart: None)
        s.sim.faults.rate_limit(n=1, channel="md")
        with pytest.raises(OfficialClientError):
            await asyncio.wait_for(s.md.send("md/subscribeQuote", body={"symbol": "@ES"}), 5)

    assert any(error.startswith("TypeError") or error.startswith("KeyError") for error in s.md.record.listener_errors)


@pytest.mark.parametrize(
    ("rule", "official_stops", "strat_stops"),
    [("either", True, True), ("realtime_only", True, False), ("historical_only", False, True)],
)
async def test_only_accepting_either_id_lets_both_official_clients_stop_a_chart(
    rule: str, official_stops: bool, strat_stops: bool
) -> None:
    # The official class cancels with realtimeId (L178); STRAT's MarketDataSocket.js cancels with historicalId.
    async with official(EVIDENCE.with_changes({"cancel_chart_id": rule})) as s:
        stopped = {}
        for client, id_key in (("official", "realtimeId"), ("strat", "historicalId")):
            ids = await asyncio.wait_for(s.md.send("md/getChart", body=chart_body("@ES", 1)), 5)
            await asyncio.wait_for(s.md.send("md/cancelChart", body={"subscriptionId": ids["d"][id_key]}), 5)
            before = len(s.sim.sent_messages(kind="md", event="chart"))
            await s.sim.market.step(1)
            await settled(s.md)
            live = [m for m in s.sim.sent_messages(kind="md", event="chart")[before:]]
            stopped[client] = not any(p["id"] == ids["d"]["realtimeId"] for m in live for p in m.data["d"]["charts"])
            await asyncio.wait_for(s.md.send("md/cancelChart", body={"subscriptionId": ids["d"]["realtimeId"]}), 5)
            await asyncio.wait_for(s.md.send("md/cancelChart", body={"subscriptionId": ids["d"]["historicalId"]}), 5)

    assert stopped == {"official": official_stops, "strat": strat_stops}


@BOTH
async def test_the_strategy_examples_bracket_order_starts_and_its_entities_reach_the_sync_listener(
    variants: Variants,
) -> None:
    async with official(variants) as s:
        delivered: list[Item] = []
        await s.trading.subscribe("user/syncrequest", {"users": [USER_ID]}, delivered.append)
        started = await asyncio.wait_for(
            s.trading.send(
                "orderStrategy/startOrderStrategy", body=bracket_strategy_body(ACCOUNT_ID, ACCOUNT_SPEC, "ESZ6", "Buy")
            ),
            5,
        )
        await until(lambda: sum(d.get("entityType") == "orderStrategyLink" for d in delivered[1:]) == 3, "three links")

    assert started["d"]["orderStrategy"]["status"] == "ActiveStrategy"
    kinds = [d["entityType"] for d in delivered[1:]]
    assert kinds[0] == "orderStrategy"
    labels = [d["entity"]["label"] for d in delivered[1:] if d["entityType"] == "orderStrategyLink"]
    assert labels == ["Entry", "Target", "Stop"]
