"""`orderStrategy/startOrderStrategy`: the multi-bracket strategy of Tradovate's strategy example and API docs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tradovate_sim import TradovateSim

from .rawclient import RawSocket
from .test_orders import book

ACCOUNT = {"accountId": 701234, "accountSpec": "DEMO701234"}


def strategy_body(action: str, target: float, stop: float, **entry: Any) -> str:
    """The request body of the API docs' example (`params` a JSON string), for ESZ6."""
    params = {
        "entryVersion": {"orderQty": 1, "orderType": "Market", **entry},
        "brackets": [{"qty": 1, "profitTarget": target, "stopLoss": stop, "trailingStop": False}],
    }
    body = {**ACCOUNT, "symbol": "ESZ6", "action": action, "orderStrategyTypeId": 2, "params": json.dumps(params)}
    return json.dumps(body)


def entity(sim: TradovateSim, entity_type: str) -> list[dict[str, Any]]:
    return [e.as_json() for e in sim.store.all(entity_type)]


async def test_a_bracket_strategy_enters_then_works_a_target_and_a_stop_one_cancelling_the_other(
    sim: TradovateSim, synced: RawSocket
) -> None:
    _, ask = book(sim)

    response = await synced.request("orderStrategy/startOrderStrategy", 2, body=strategy_body("Buy", 1.0, -1.0))
    started = response["d"]["orderStrategy"]
    orders = {o["id"]: o for o in entity(sim, "order")}
    links = {link["label"]: link["orderId"] for link in entity(sim, "orderStrategyLink")}
    versions = {v["orderId"]: v for v in entity(sim, "orderVersion")}
    entry_fill = next(f for f in entity(sim, "fill") if f["orderId"] == links["Entry"])

    assert response["s"] == 200
    assert started["status"] == "ActiveStrategy"
    assert started["orderStrategyTypeId"] == 2
    assert started["contractId"] == 3570918
    assert set(links) == {"Entry", "Target", "Stop"}
    assert orders[links["Entry"]]["ordStatus"] == "Filled"
    assert entry_fill["price"] == ask
    assert versions[links["Target"]]["price"] == ask + 1.0
    assert versions[links["Stop"]]["stopPrice"] == ask - 1.0
    assert {orders[links[role]]["action"] for role in ("Target", "Stop")} == {"Sell"}

    for _ in range(2000):
        await sim.market.step(1)
        if not sim.orders.working_orders():
            break
    statuses = {role: next(o for o in entity(sim, "order") if o["id"] == links[role])["ordStatus"] for role in links}
    finished = entity(sim, "orderStrategy")[0]

    assert sorted([statuses["Target"], statuses["Stop"]]) == ["Canceled", "Filled"]
    assert finished["status"] == "ExecutionFinished"
    assert sim.accounts.net_pos(3570918) == 0


async def test_strategy_entities_reach_the_sync_snapshot_and_props(sim: TradovateSim, synced: RawSocket) -> None:
    await synced.request("orderStrategy/startOrderStrategy", 2, body=strategy_body("Sell", -2.0, 2.0))
    created = await synced.until(lambda m: m.get("e") == "props" and m["d"]["entityType"] == "orderStrategy")

    snapshot = (await synced.request("user/syncrequest", 3, body='{"users":[5001]}'))["d"]

    assert created["d"]["eventType"] == "Created"
    assert [s["status"] for s in snapshot["orderStrategies"]] == ["ActiveStrategy"]
    assert {link["label"] for link in snapshot["orderStrategyLinks"]} == {"Entry", "Target", "Stop"}


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"orderStrategyTypeId": 3}, "orderStrategyTypeId 3 is not supported"),
        ({"params": "{not json"}, "params must be a JSON string"),
        ({"symbol": "ZZZ9"}, "Unknown symbol 'ZZZ9'"),
    ],
)
async def test_a_bad_strategy_request_is_a_200_with_error_text_and_creates_nothing(
    sim: TradovateSim, synced: RawSocket, change: dict[str, Any], text: str
) -> None:
    body = {**json.loads(strategy_body("Buy", 1.0, -1.0)), **change}

    response = await synced.request("orderStrategy/startOrderStrategy", 2, body=json.dumps(body))

    assert response["s"] == 200
    assert text in response["d"]["errorText"]
    assert entity(sim, "orderStrategy") == []
    assert entity(sim, "order") == []


async def test_a_strategy_whose_entry_is_refused_fails_with_the_entrys_reason(
    sim: TradovateSim, synced: RawSocket
) -> None:
    sim.market.session_open = False

    response = await synced.request("orderStrategy/startOrderStrategy", 2, body=strategy_body("Buy", 1.0, -1.0))

    assert "Session is closed" in response["d"]["errorText"]
    assert response["d"]["orderStrategy"]["status"] == "ExecutionFailed"
    assert entity(sim, "order") == []
