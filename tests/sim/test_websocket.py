"""WebSocket protocol: `o`, authorize, heartbeats both ways, timeouts, routing per socket, 401/404/429."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tradovate_sim import SimConfig, TradovateSim

from .conftest import SocketFactory, fast_config
from .rawclient import RawSocket


@pytest.fixture
def config() -> SimConfig:
    # Short timers so the timeout tests finish in a fraction of a second.
    return fast_config(heartbeat_interval_s=0.05, auth_timeout_s=0.3, client_timeout_s=0.4)


async def test_first_frame_is_open(sim: TradovateSim, connect: SocketFactory) -> None:
    socket = await connect(sim.trading_ws_url)

    assert await socket.frame() == "o"


async def test_an_invalid_token_is_refused_with_401(sim: TradovateSim, connect: SocketFactory) -> None:
    socket = await connect(sim.trading_ws_url)

    ack = await socket.authorize("not-a-token", request_id=5)

    assert ack == {"s": 401, "i": 5, "d": "Invalid access token"}


async def test_md_access_token_authorizes_only_the_md_socket(
    sim: TradovateSim, connect: SocketFactory, tokens: dict[str, Any]
) -> None:
    md = await connect(sim.md_ws_url)
    trading = await connect(sim.trading_ws_url)

    md_ack = await md.authorize(tokens["mdAccessToken"])
    trading_ack = await trading.authorize(tokens["mdAccessToken"])

    assert md_ack["s"] == 200
    assert trading_ack["s"] == 401


async def test_socket_not_authorized_in_time_is_closed(sim: TradovateSim, connect: SocketFactory) -> None:
    socket = await connect(sim.trading_ws_url)

    frames, code = await socket.closed(within=2.0)

    assert frames[0] == "o"
    assert frames[-1] == 'c[3001,"Authorization timeout"]'
    assert code == 3001


async def test_client_that_stops_sending_heartbeats_is_closed(trading: RawSocket) -> None:
    frames, code = await trading.closed(within=2.0)

    assert frames[-1] == 'c[3002,"Heartbeat timeout"]'
    assert code == 3002


async def test_client_heartbeats_keep_the_socket_open(sim: TradovateSim, trading: RawSocket) -> None:
    conn = sim.connections("trading")[0]
    deadline = conn.opened_at + 2 * 0.4  # twice the client-silence timeout
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        await trading.send("[]")
        await trading.frame()  # the server's own `h` paces the client, as official clients do

    assert not conn.is_closing
    assert [f.text for f in sim.received_frames(conn.id)].count("[]") >= 3


async def test_server_sends_h_while_idle(trading: RawSocket) -> None:
    frames = [await trading.frame() for _ in range(3)]

    assert frames == ["h", "h", "h"]


async def test_requests_before_authorize_are_refused(sim: TradovateSim, connect: SocketFactory) -> None:
    socket = await connect(sim.trading_ws_url)
    assert await socket.frame() == "o"

    response = await socket.request("account/list", 3)

    assert response == {"s": 401, "i": 3, "d": "Access is denied"}


async def test_every_rest_endpoint_answers_on_the_trading_socket(synced: RawSocket) -> None:
    requests = [
        ("account/list", "", ""),
        ("contract/find", "name=ESZ6", ""),
        ("contract/item", "id=3570918", ""),
        ("contract/suggest", "t=NQ&l=5", ""),
        ("order/list", "", ""),
        ("position/list", "", ""),
        ("fill/list", "", ""),
        ("command/list", "", ""),
        ("executionReport/list", "", ""),
        ("cashBalance/list", "", ""),
        ("auth/renewAccessToken", "", ""),
        (
            "order/placeOrder",
            "",
            '{"accountId":701234,"action":"Buy","symbol":"ESZ6","orderQty":1,"orderType":"Market"}',
        ),
    ]
    statuses = []
    for request_id, (endpoint, query, body) in enumerate(requests, start=10):
        statuses.append((endpoint, (await synced.request(endpoint, request_id, query, body))["s"]))

    assert statuses == [(endpoint, 200) for endpoint, _, _ in requests]


async def test_md_socket_serves_md_requests_only(md: RawSocket) -> None:
    response = await md.request("account/list", 4)

    assert response == {"s": 404, "i": 4, "d": "Not found: account/list"}


async def test_md_alias_on_the_main_port_is_a_market_data_socket(
    sim: TradovateSim, connect: SocketFactory, tokens: dict[str, Any]
) -> None:
    socket = await connect(sim.md_alias_ws_url)
    await socket.authorize(tokens["mdAccessToken"])

    response = await socket.request("md/subscribeQuote", 1, body='{"symbol":"CLF7"}')

    assert response == {"s": 200, "i": 1, "d": {"mode": "RealTime"}}
    assert [conn.kind for conn in sim.connections()] == ["md"]


async def test_ws_429_has_no_d(sim: TradovateSim, synced: RawSocket) -> None:
    sim.faults.rate_limit(n=1, channel="trading")

    response = await synced.request("position/list", 7)

    assert response == {"s": 429, "i": 7}


async def test_unparsable_frames_are_recorded_and_ignored(sim: TradovateSim, synced: RawSocket) -> None:
    await synced.send("this is not a request")
    await synced.send("account/list\nnot-an-id\n\n")

    response = await synced.request("account/list", 2)

    assert response["s"] == 200
    assert {f.text for f in sim.received_frames()} >= {"this is not a request", "account/list\nnot-an-id\n\n"}


async def test_authorized_socket_outlives_its_token(sim: TradovateSim, synced: RawSocket) -> None:
    sim.faults.expire_tokens()

    response = await synced.request("account/list", 2)

    assert response["s"] == 200


async def test_sent_messages_record_connection_frame_and_ids(sim: TradovateSim, synced: RawSocket) -> None:
    await synced.request("account/list", 42)

    record = sim.sent_messages(kind="trading", request_id=42)[0]
    frame = sim.sent_frames(conn_id=record.conn_id)[record.frame_index]

    assert record.status == 200
    assert record.data["i"] == 42
    assert frame.text == "a[" + record.text + "]"


async def test_official_js_client_quirks_are_accepted(
    sim: TradovateSim, connect: SocketFactory, tokens: dict[str, Any]
) -> None:
    # FAQ-LCR tvSocket.js sends `JSON.stringify(token)` to authorize and `JSON.stringify(undefined)` as body.
    socket = await connect(sim.trading_ws_url)

    ack = await socket.authorize('"' + tokens["accessToken"] + '"')
    listed = await socket.request("account/list", 1, body="undefined")

    assert ack["s"] == 200
    assert listed["s"] == 200
