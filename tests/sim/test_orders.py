"""Orders and user sync: entity sequences, fills against the market, modify/cancel/liquidate, failures."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tradovate_sim import TradovateSim

from .rawclient import Message, RawSocket

ACCOUNT = '"accountSpec":"DEMO701234","accountId":701234'


def order(action: str, symbol: str, qty: int, order_type: str, extra: str = "") -> str:
    body = f'{{{ACCOUNT},"action":"{action}","symbol":"{symbol}","orderQty":{qty},"orderType":"{order_type}","isAutomated":true'
    return body + (f",{extra}" if extra else "") + "}"


def is_props(message: Message) -> bool:
    return message.get("e") == "props"


async def props(socket: RawSocket, count: int) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for _ in range(count):
        event = (await socket.until(is_props))["d"]
        found.append((event["entityType"], event["eventType"], event["entity"]))
    return found


def book(sim: TradovateSim, contract_id: int = 3570918) -> tuple[float, float]:
    market = sim.market.contract(contract_id)
    return float(market.spec.price(market.bid)), float(market.spec.price(market.ask))


async def test_market_order_produces_the_documented_entity_sequence(sim: TradovateSim, synced: RawSocket) -> None:
    _, ask = book(sim)

    response = await synced.request(
        "order/placeorder", 2, body=order("Buy", "ESZ6", 1, "Market", '"clOrdId":"intent-7"')
    )
    events = await props(synced, 11)

    assert response["s"] == 200
    order_id = response["d"]["orderId"]
    assert [(kind, event) for kind, event, _ in events] == [
        ("command", "Created"),
        ("order", "Created"),
        ("orderVersion", "Created"),
        ("commandReport", "Created"),
        ("executionReport", "Created"),
        ("order", "Updated"),
        ("executionReport", "Created"),
        ("fill", "Created"),
        ("position", "Created"),
        ("order", "Updated"),
        ("cashBalance", "Updated"),
    ]
    entities = [entity for _, _, entity in events]
    command, _, version, _, new, working, trade, fill, position, filled, _ = entities
    assert command["clOrdId"] == "intent-7"
    assert command["isAutomated"] is True
    assert command["commandType"] == "New"
    assert version["id"] == command["id"]
    assert version["orderQty"] == 1
    assert new["execType"] == "New"
    assert working["ordStatus"] == "Working"
    assert trade["execType"] == "Trade"
    assert trade["cumQty"] == 1
    assert fill["price"] == ask
    assert fill["orderId"] == order_id
    assert position["netPos"] == 1
    assert filled["ordStatus"] == "Filled"


async def test_limit_order_rests_until_the_market_crosses(sim: TradovateSim, synced: RawSocket) -> None:
    bid, _ = book(sim)
    limit = bid - 0.5
    await synced.request("order/placeorder", 2, body=order("Buy", "ESZ6", 1, "Limit", f'"price":{limit}'))
    await props(synced, 6)

    for _ in range(400):
        await sim.market.step(1)
        if not sim.orders.working_orders():
            break
    fill = await synced.until(lambda m: is_props(m) and m["d"]["entityType"] == "fill")

    assert not sim.orders.working_orders()
    assert fill["d"]["entity"]["price"] == limit


async def test_stop_order_triggers_when_the_market_trades_through(sim: TradovateSim, synced: RawSocket) -> None:
    _, ask = book(sim)
    stop = ask + 0.5
    await synced.request("order/placeorder", 2, body=order("Buy", "ESZ6", 1, "Stop", f'"stopPrice":{stop}'))

    for _ in range(400):
        await sim.market.step(1)
        if not sim.orders.working_orders():
            break
    fill = (await synced.until(lambda m: is_props(m) and m["d"]["entityType"] == "fill"))["d"]["entity"]

    assert fill["price"] >= stop


async def test_modify_then_cancel(sim: TradovateSim, synced: RawSocket) -> None:
    bid, _ = book(sim)
    placed = await synced.request("order/placeorder", 2, body=order("Buy", "ESZ6", 2, "Limit", f'"price":{bid - 5}'))
    order_id = placed["d"]["orderId"]
    await props(synced, 6)

    modified = await synced.request(
        "order/modifyorder", 3, body=f'{{"orderId":{order_id},"orderQty":3,"orderType":"Limit","price":{bid - 4}}}'
    )
    modify_events = await props(synced, 5)
    canceled = await synced.request("order/cancelorder", 4, body=f'{{"orderId":{order_id},"clOrdId":"cancel-1"}}')
    cancel_events = await props(synced, 4)
    again = await synced.request("order/cancelorder", 5, body=f'{{"orderId":{order_id}}}')

    assert isinstance(modified["d"]["commandId"], int)
    assert [(k, e) for k, e, _ in modify_events] == [
        ("command", "Created"),
        ("orderVersion", "Created"),
        ("commandReport", "Created"),
        ("executionReport", "Created"),
        ("order", "Updated"),
    ]
    assert modify_events[1][2]["orderQty"] == 3
    assert modify_events[1][2]["price"] == bid - 4
    assert modify_events[3][2]["execType"] == "Replaced"
    assert canceled["d"]["commandId"] > modified["d"]["commandId"]
    assert cancel_events[0][2]["clOrdId"] == "cancel-1"
    assert cancel_events[-1][2]["ordStatus"] == "Canceled"
    assert again["d"]["failureReason"] == "TooLate"


async def test_liquidate_position_cancels_working_orders_and_flattens(sim: TradovateSim, synced: RawSocket) -> None:
    bid, _ = book(sim)
    await synced.request("order/placeorder", 2, body=order("Buy", "ESZ6", 3, "Market"))
    await synced.request("order/placeorder", 3, body=order("Buy", "ESZ6", 1, "Limit", f'"price":{bid - 10}'))

    result = await synced.request(
        "order/liquidateposition", 4, body='{"accountId":701234,"contractId":3570918,"admin":false,"isAutomated":true}'
    )
    flat = await synced.request(
        "order/liquidateposition", 5, body='{"accountId":701234,"contractId":3570918,"admin":false}'
    )

    assert isinstance(result["d"]["orderId"], int)
    assert sim.accounts.net_pos(3570918) == 0
    assert sim.orders.working_orders() == []
    assert flat["d"]["failureReason"] == "UnknownReason"
    pairs = [m for m in sim.sent_messages(entity_type="fillPair")]
    assert sum(p.data["d"]["entity"]["qty"] for p in pairs) == 3


async def test_ioc_and_fok_never_rest(sim: TradovateSim, synced: RawSocket) -> None:
    bid, _ = book(sim)
    away = f'"price":{bid - 20}'

    ioc = await synced.request(
        "order/placeorder", 2, body=order("Buy", "ESZ6", 1, "Limit", f'{away},"timeInForce":"IOC"')
    )
    fok = await synced.request(
        "order/placeorder", 3, body=order("Buy", "ESZ6", 1, "Limit", f'{away},"timeInForce":"FOK"')
    )

    assert isinstance(ioc["d"]["orderId"], int)
    assert isinstance(fok["d"]["orderId"], int)
    assert sim.orders.working_orders() == []
    canceled = [m.data["d"]["entity"] for m in sim.sent_messages(entity_type="order") if m.event_type == "Updated"]
    assert [o["ordStatus"] for o in canceled] == ["Working", "Canceled", "Working", "Canceled"]


async def test_partial_fills_when_configured(sim: TradovateSim, synced: RawSocket) -> None:
    sim.orders.partial_fill_qty = 2  # the same knob as SimConfig(partial_fill_qty=2), at run time

    await synced.request("order/placeorder", 2, body=order("Sell", "NQZ6", 5, "Market"))
    await sim.market.step(2)

    fills = [m.data["d"]["entity"] for m in sim.sent_messages(entity_type="fill")]
    reports = [m.data["d"]["entity"] for m in sim.sent_messages(entity_type="executionReport")]

    assert [fill["qty"] for fill in fills] == [2, 2, 1]
    trades = [(r["ordStatus"], r["cumQty"]) for r in reports if r["execType"] == "Trade"]
    assert trades == [("Working", 2), ("Working", 4), ("Filled", 5)]
    assert sim.accounts.net_pos(3570925) == -5


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (order("Buy", "ZZZ9", 1, "Market"), "InvalidContract"),
        (order("Buy", "ESZ6", 1, "Limit", '"price":6850.1'), "InvalidPrice"),
        (order("Buy", "ESZ6", 1, "Limit"), "InvalidPrice"),
        (order("Buy", "ESZ6", 1, "TrailingStop"), "Unsupported"),
        (order("Buy", "ESZ6", 0, "Market"), "UnknownReason"),
        ('{"accountId":999,"action":"Buy","symbol":"ESZ6","orderQty":1,"orderType":"Market"}', "Unauthorized"),
    ],
)
async def test_rejected_orders_are_status_200_failures(
    sim: TradovateSim, synced: RawSocket, body: str, reason: str
) -> None:
    response = await synced.request("order/placeorder", 2, body=body)

    assert response["s"] == 200
    assert response["d"]["failureReason"] == reason
    assert response["d"]["failureText"]
    assert sim.sent_messages(event="props") == []


async def test_closed_session_rejects_orders(sim: TradovateSim, synced: RawSocket) -> None:
    sim.market.session_open = False

    response = await synced.request("order/placeorder", 2, body=order("Buy", "ESZ6", 1, "Market"))

    assert response["d"]["failureReason"] == "SessionClosed"


async def test_liquidation_only_risk_status_blocks_opening_orders(sim: TradovateSim, synced: RawSocket) -> None:
    sim.accounts.set_risk_action("LiquidateOnlyModeImmediately")
    status = await synced.until(is_props)

    response = await synced.request("order/placeorder", 2, body=order("Buy", "ESZ6", 1, "Market"))

    assert status["d"]["entityType"] == "accountRiskStatus"
    assert status["d"]["entity"]["adminAction"] == "LiquidateOnlyModeImmediately"
    assert response["d"]["failureReason"] == "LiquidationOnly"


async def test_entity_ids_increase_and_are_distinct_per_type(sim: TradovateSim, synced: RawSocket) -> None:
    for request_id in range(2, 6):
        await synced.request("order/placeorder", request_id, body=order("Buy", "MESZ6", 1, "Market"))

    ids: dict[str, list[int]] = {}
    for message in sim.sent_messages(event="props"):
        entity = message.data["d"]["entity"]
        if message.event_type == "Created":
            ids.setdefault(message.entity_type or "", []).append(entity["id"])
    for entity_type, values in ids.items():
        assert values == sorted(values), entity_type
        assert len(set(values)) == len(values), entity_type
    ranges = {t: (min(v), max(v)) for t, v in ids.items() if t not in ("orderVersion", "position")}
    spans = sorted(ranges.values())
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))


async def test_snapshot_lists_the_users_entities(sim: TradovateSim, trading: RawSocket) -> None:
    await trading.request("order/placeorder", 1, body=order("Buy", "ESZ6", 1, "Market"))

    snapshot = (await trading.request("user/syncrequest", 2, body='{"accounts":[701234]}'))["d"]

    for array in (
        "users",
        "accounts",
        "accountRiskStatuses",
        "marginSnapshots",
        "cashBalances",
        "positions",
        "fillPairs",
        "orders",
        "contracts",
        "commands",
        "commandReports",
        "executionReports",
        "orderVersions",
        "fills",
    ):
        assert isinstance(snapshot[array], list), array
    assert snapshot["users"][0]["id"] == 5001
    assert [o["ordStatus"] for o in snapshot["orders"]] == ["Filled"]
    assert [c["name"] for c in snapshot["contracts"]] == ["ESZ6"]
    assert snapshot["positions"][0]["netPos"] == 1


async def test_props_reach_only_sockets_that_synced(
    sim: TradovateSim, synced: RawSocket, connect: Any, tokens: dict[str, Any]
) -> None:
    other = await connect(sim.trading_ws_url)
    await other.authorize(tokens["accessToken"])

    await other.request("order/placeorder", 1, body=order("Buy", "ESZ6", 1, "Market"))
    await props(synced, 11)

    assert {m.conn_id for m in sim.sent_messages(event="props")} == {sim.connections("trading")[0].id}
