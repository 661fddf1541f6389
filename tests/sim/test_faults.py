"""Fault injection: each fault through the Python API, the control endpoint and the schedule."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradovate_sim import (
    FaultError,
    ManualClock,
    ScheduledFault,
    SimConfig,
    TradovateSim,
    generate_schedule,
    load_schedule,
)

from .conftest import SocketFactory, fast_config, login
from .rawclient import Message, RawSocket

MARKET_BUY = '{"accountId":701234,"action":"Buy","symbol":"ESZ6","orderQty":1,"orderType":"Market","isAutomated":true}'


def is_props(message: Message) -> bool:
    return message.get("e") == "props"


async def test_close_sockets_with_code_and_reason(sim: TradovateSim, md: RawSocket, trading: RawSocket) -> None:
    closed = await sim.faults.close_sockets("md", code=3005, reason="Rebalancing")

    frames, code = await md.closed()
    response = await trading.request("account/list", 1)

    assert closed == 1
    assert frames == ['c[3005,"Rebalancing"]']
    assert code == 3005
    assert response["s"] == 200


async def test_abrupt_close_sends_no_close_frame(sim: TradovateSim, md: RawSocket) -> None:
    await sim.faults.close_sockets("md", abrupt=True)

    frames, _ = await md.closed()

    assert frames == []
    assert not [f for f in sim.sent_frames(kind="md") if f.frame_type == "c"]


async def test_silence_holds_heartbeats_and_data_until_cleared(
    http: aiohttp.ClientSession, connect: SocketFactory
) -> None:
    async with TradovateSim(fast_config(heartbeat_interval_s=0.05)) as sim:
        tokens = await login(http, sim)
        md = await connect(sim.md_ws_url)
        await md.authorize(tokens["mdAccessToken"])
        await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
        await md.until(lambda m: m.get("e") == "md")

        sim.faults.silence("md")
        await sim.market.step(3)
        with pytest.raises(asyncio.TimeoutError):
            await md.frame(within=0.4)  # eight heartbeat intervals: nothing at all may arrive
        sim.faults.end_silence("md")
        quotes = [await md.until(lambda m: m.get("e") == "md") for _ in range(3)]

        assert sim.connections("md")[0].is_closing is False
        assert len(quotes) == 3
        assert await md.frame() == "h"


async def test_silence_for_n_seconds_can_drop_what_it_held(http: aiohttp.ClientSession, connect: SocketFactory) -> None:
    async with TradovateSim(fast_config(heartbeat_interval_s=0.05)) as sim:
        tokens = await login(http, sim)
        md = await connect(sim.md_ws_url)
        await md.authorize(tokens["mdAccessToken"])
        await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
        await md.until(lambda m: m.get("e") == "md")
        before = len(sim.sent_messages(kind="md"))

        sim.faults.silence("md", seconds=0.2, drop=True)
        await sim.market.step(3)
        assert await md.frame(within=2.0) == "h"  # heartbeats resume by themselves

        assert len(sim.sent_messages(kind="md")) == before
        assert sim.connections("md")[0].shaping.dropped == 3


@pytest.mark.parametrize("reason_code", ["Maintenance", "ConnectionQuotaReached", "IPQuotaReached"])
async def test_shutdown_event_then_close(sim: TradovateSim, trading: RawSocket, reason_code: str) -> None:
    await sim.faults.shutdown("trading", reason_code=reason_code)

    frames, code = await trading.closed()

    assert frames == [f'a[{{"e":"shutdown","d":{{"reasonCode":"{reason_code}"}}}}]', f'c[3000,"{reason_code}"]']
    assert code == 3000


async def test_connection_quota_shutdown_can_revoke_the_token(
    sim: TradovateSim, http: aiohttp.ClientSession, trading: RawSocket, tokens: dict[str, Any]
) -> None:
    await sim.faults.shutdown("trading", reason_code="ConnectionQuotaReached", revoke_token=True)
    await trading.closed()

    async with http.get(
        sim.rest_url + "/account/list", headers={"Authorization": f"Bearer {tokens['accessToken']}"}
    ) as r:
        assert r.status == 401


async def test_revoked_token_cannot_authorize_a_new_socket(
    sim: TradovateSim, connect: SocketFactory, tokens: dict[str, Any]
) -> None:
    sim.faults.revoke_tokens()
    socket = await connect(sim.trading_ws_url)

    ack = await socket.authorize(tokens["accessToken"])

    assert ack["s"] == 401


async def test_penalty_over_ws_is_inside_d_and_clears_after_p_time(
    sim: TradovateSim, synced: RawSocket, config: SimConfig
) -> None:
    assert isinstance(config.clock, ManualClock)
    sim.faults.penalty(n=1, seconds=2, endpoint="order/placeorder")

    first = await synced.request("order/placeorder", 2, body=MARKET_BUY)
    ticket = first["d"]["p-ticket"]
    config.clock.advance(2)
    retry = await synced.request("order/placeorder", 3, body=MARKET_BUY[:-1] + f',"p-ticket":"{ticket}"}}')

    assert first == {"s": 200, "i": 2, "d": {"p-ticket": ticket, "p-time": 2, "p-captcha": False}}
    assert isinstance(retry["d"]["orderId"], int)
    assert len(sim.received_requests("order/placeorder")) == 2


async def test_duplicate_frames(sim: TradovateSim, synced: RawSocket) -> None:
    sim.faults.duplicate_frames("trading", n=1)

    await synced.send("account/list\n5\n\n")
    first = await synced.frame()
    second = await synced.frame()

    assert first == second
    assert json.loads(first[1:])[0]["i"] == 5


async def test_reorder_two_frames(sim: TradovateSim, synced: RawSocket) -> None:
    sim.faults.reorder_frames("trading")

    await synced.send("account/list\n5\n\n")
    await synced.send("position/list\n6\n\n")
    frames = [json.loads((await synced.frame())[1:])[0]["i"] for _ in range(2)]

    assert frames == [6, 5]


async def test_co_batch_puts_a_response_and_its_events_in_one_frame(sim: TradovateSim, synced: RawSocket) -> None:
    sim.faults.co_batch("trading")

    await synced.send(f"order/placeorder\n2\n\n{MARKET_BUY}")
    batch = json.loads((await synced.frame())[1:])

    assert batch[0]["i"] == 2
    assert [m["d"]["entityType"] for m in batch[1:3]] == ["command", "order"]
    assert len(batch) == 12


async def test_malformed_frame(sim: TradovateSim, md: RawSocket) -> None:
    sim.faults.malformed_frame("md", text='a[{"e":"md",')

    frame = await md.frame()

    assert frame == 'a[{"e":"md",'
    assert sim.sent_frames(kind="md")[-1].frame_type == "malformed"


async def test_delayed_order_reply_arrives_after_the_order_events(sim: TradovateSim, synced: RawSocket) -> None:
    sim.faults.delay_order_replies(seconds=0.2)

    await synced.send(f"order/placeorder\n2\n\n{MARKET_BUY}")
    first = await synced.message()
    response = await synced.response(2)

    assert first["e"] == "props"
    assert isinstance(response["d"]["orderId"], int)


async def test_dropped_order_reply_still_places_the_order(sim: TradovateSim, synced: RawSocket) -> None:
    sim.faults.drop_order_replies(n=1)

    await synced.send(f"order/placeorder\n2\n\n{MARKET_BUY}")
    fill = await synced.until(lambda m: is_props(m) and m["d"]["entityType"] == "fill")
    listed = await synced.request("order/list", 3)

    assert fill["d"]["entity"]["qty"] == 1
    assert [o["ordStatus"] for o in listed["d"]] == ["Filled"]
    assert sim.sent_messages(request_id=2) == []
    assert len(sim.received_requests("order/placeorder")) == 1


async def test_dropped_rest_order_reply_times_out_the_client(
    sim: TradovateSim, http: aiohttp.ClientSession, tokens: dict[str, Any]
) -> None:
    sim.faults.drop_order_replies(n=1, channel="rest")
    headers = {"Authorization": f"Bearer {tokens['accessToken']}", "Content-Type": "application/json"}

    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.5):
            await http.post(sim.rest_url + "/order/placeorder", data=MARKET_BUY, headers=headers)

    assert sim.accounts.net_pos(3570918) == 1


async def test_slow_socket_spaces_frames(sim: TradovateSim, synced: RawSocket) -> None:
    sim.faults.slow("trading", delay_s=0.1)
    loop = asyncio.get_running_loop()

    for request_id in (1, 2, 3):
        await synced.send(f"account/list\n{request_id}\n\n")
    arrivals = []
    for _ in range(3):
        await synced.frame()
        arrivals.append(loop.time())

    assert arrivals[2] - arrivals[0] >= 0.18


async def test_refuse_connections_then_accept_on_the_same_port(
    sim: TradovateSim, http: aiohttp.ClientSession, md: RawSocket
) -> None:
    url = sim.md_ws_url
    await sim.faults.refuse_connections("md")

    with pytest.raises(aiohttp.ClientConnectorError):
        await http.ws_connect(url)
    open_socket_still_works = await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    await sim.faults.accept_connections("md")
    again = await http.ws_connect(url)

    assert open_socket_still_works["s"] == 200
    assert await again.receive_str() == "o"
    await again.close()


async def test_down_drops_everything_until_up(sim: TradovateSim, http: aiohttp.ClientSession, md: RawSocket) -> None:
    await sim.faults.down()

    _, _ = await md.closed()
    with pytest.raises(aiohttp.ClientConnectorError):
        await http.get(sim.rest_url + "/account/list")
    await sim.faults.up()
    async with http.get(sim.rest_url + "/account/list") as response:
        assert response.status == 401


async def test_control_endpoint_applies_faults_and_steps(
    sim: TradovateSim, http: aiohttp.ClientSession, md: RawSocket
) -> None:
    async with http.post(sim.base_url + "/sim/faults", json={"kind": "close_socket", "target": "md"}) as applied:
        body = await applied.json()
    frames, _ = await md.closed()
    async with http.post(sim.base_url + "/sim/faults", json={"kind": "no_such_fault"}) as unknown:
        unknown_status = unknown.status
    async with http.post(sim.base_url + "/sim/market/step", json={"n": 3}) as stepped:
        step_body = await stepped.json()
    async with http.get(sim.base_url + "/sim/status") as status:
        summary = await status.json()

    assert body == {"ok": True, "kind": "close_socket", "affected": 1}
    assert frames == ['c[3000,"Go away!"]']
    assert unknown_status == 400
    assert step_body["stepCount"] == 3
    assert summary["mdWsUrl"] == sim.md_ws_url
    assert summary["faults"][0]["kind"] == "close_sockets"


async def test_scheduled_faults_fire_at_their_step_and_request(
    http: aiohttp.ClientSession, connect: SocketFactory
) -> None:
    schedule = (
        ScheduledFault(fault={"kind": "close_sockets", "target": "md", "reason": "step 2"}, at_step=2),
        ScheduledFault(fault={"kind": "rate_limit", "n": 1}, on_request="order/placeOrder", nth=2),
    )
    async with TradovateSim(fast_config(fault_schedule=schedule)) as sim:
        tokens = await login(http, sim)
        md = await connect(sim.md_ws_url)
        await md.authorize(tokens["mdAccessToken"])
        trading = await connect(sim.trading_ws_url)
        await trading.authorize(tokens["accessToken"])

        await sim.market.step(1)
        assert sim.connections("md")
        await sim.market.step(1)
        frames, _ = await md.closed()
        first = await trading.request("order/placeorder", 1, body=MARKET_BUY)
        second = await trading.request("order/placeorder", 2, body=MARKET_BUY)

        assert frames[-1] == 'c[3000,"step 2"]'
        assert "orderId" in first["d"]
        assert second == {"s": 429, "i": 2}


async def test_schedule_loads_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(
        json.dumps(
            [
                {"at_step": 5, "fault": {"kind": "silence", "target": "md", "seconds": 1}},
                {"after_s": 0.5, "fault": {"kind": "expire_tokens"}},
                {"on_request": "user/syncrequest", "nth": 1, "fault": {"kind": "co_batch"}},
            ]
        )
    )

    schedule = load_schedule(path)

    assert [entry.as_json() for entry in schedule] == [
        {"fault": {"kind": "silence", "target": "md", "seconds": 1}, "at_step": 5},
        {"fault": {"kind": "expire_tokens"}, "after_s": 0.5},
        {"fault": {"kind": "co_batch"}, "on_request": "user/syncrequest", "nth": 1},
    ]


def test_generated_schedules_repeat_for_a_seed() -> None:
    first = generate_schedule(seed=3, steps=500, count=6)

    assert first == generate_schedule(seed=3, steps=500, count=6)
    assert first != generate_schedule(seed=4, steps=500, count=6)
    assert [entry.at_step for entry in first] == sorted(entry.at_step or 0 for entry in first)


async def test_wall_clock_schedule_entry_fires_after_its_delay(
    http: aiohttp.ClientSession, connect: SocketFactory
) -> None:
    schedule = (ScheduledFault(fault={"kind": "close_sockets", "target": "md", "reason": "timer"}, after_s=0.05),)
    async with TradovateSim(fast_config(fault_schedule=schedule)) as sim:
        tokens = await login(http, sim)
        md = await connect(sim.md_ws_url)
        await md.authorize(tokens["mdAccessToken"])

        frames, _ = await md.closed(within=3.0)

        assert frames[-1] == 'c[3000,"timer"]'
        assert sim.schedule.fired == list(schedule)


async def test_control_endpoint_clears_faults_and_lists_requests(
    sim: TradovateSim, http: aiohttp.ClientSession, synced: RawSocket
) -> None:
    async with http.post(sim.base_url + "/sim/faults", json={"kind": "rate_limit", "n": 5}) as armed:
        assert armed.status == 200
    async with http.delete(sim.base_url + "/sim/faults") as cleared:
        assert cleared.status == 200
    response = await synced.request("account/list", 2)
    async with http.get(sim.base_url + "/sim/requests", params={"endpoint": "account/list"}) as listed:
        requests = await listed.json()

    assert response["s"] == 200
    assert requests == [{"connId": 1, "kind": "trading", "endpoint": "account/list", "id": 2, "query": "", "body": ""}]


async def test_bad_fault_arguments_are_refused(sim: TradovateSim) -> None:
    with pytest.raises(FaultError, match="unexpected keyword"):
        await sim.faults.apply({"kind": "silence", "target": "md", "secs": 3})
    with pytest.raises(FaultError, match="reason_code"):
        await sim.faults.shutdown("all", reason_code="Lunch")
