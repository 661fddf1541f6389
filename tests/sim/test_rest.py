"""REST: authentication, tokens, entity endpoints, orders, 401/404/405/429, case-insensitive paths."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tradovate_sim import ManualClock, SimConfig, TradovateSim

from .conftest import LOGIN, fast_config, login

JSON = {"Content-Type": "application/json"}


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['accessToken']}", **JSON}


async def get(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with http.get(url, headers=headers) as response:
        text = await response.text()
        return response.status, json.loads(text) if response.content_type == "application/json" else text


async def post(http: aiohttp.ClientSession, url: str, body: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with http.post(url, data=body, headers=headers) as response:
        text = await response.text()
        return response.status, json.loads(text) if response.content_type == "application/json" else text


async def test_good_credentials_return_the_access_token_response(tokens: dict[str, Any]) -> None:
    assert {
        "accessToken",
        "mdAccessToken",
        "expirationTime",
        "userId",
        "name",
        "userStatus",
        "hasLive",
    } <= set(tokens)
    assert tokens["userId"] == 5001
    assert tokens["name"] == "demo"
    assert tokens["userStatus"] == "Active"
    assert tokens["expirationTime"].endswith("Z")


async def test_bad_credentials_are_http_200_with_error_text(sim: TradovateSim, http: aiohttp.ClientSession) -> None:
    status, body = await post(http, sim.rest_url + "/auth/accesstokenrequest", '{"name":"demo","password":"x"}', JSON)

    assert status == 200
    assert set(body) == {"errorText"}
    assert body["errorText"]


async def test_penalty_is_honoured_only_for_the_same_body_after_p_time(
    sim: TradovateSim, http: aiohttp.ClientSession, config: SimConfig
) -> None:
    clock = config.clock
    assert isinstance(clock, ManualClock)
    url = sim.rest_url + "/auth/accesstokenrequest"
    sim.faults.penalty(n=1, seconds=5, endpoint="auth/accesstokenrequest")

    _, penalty = await post(http, url, LOGIN, JSON)
    retry = LOGIN[:-1] + f',"p-ticket":"{penalty["p-ticket"]}"}}'
    _, too_early = await post(http, url, retry, JSON)
    clock.advance(5)
    other_body = '{"name":"demo","password":"demo-password","p-ticket":"' + penalty["p-ticket"] + '"}'
    _, changed_body = await post(http, url, other_body, JSON)
    _, honoured = await post(http, url, retry, JSON)

    assert penalty == {"p-ticket": penalty["p-ticket"], "p-time": 5, "p-captcha": False}
    assert too_early["p-ticket"] == penalty["p-ticket"]
    assert too_early["p-time"] == 5
    assert "p-ticket" in changed_body
    assert "accessToken" in honoured


async def test_captcha_penalty_never_clears(sim: TradovateSim, http: aiohttp.ClientSession, config: SimConfig) -> None:
    clock = config.clock
    assert isinstance(clock, ManualClock)
    url = sim.rest_url + "/auth/accesstokenrequest"
    sim.faults.penalty(n=1, seconds=3600, captcha=True)

    _, penalty = await post(http, url, LOGIN, JSON)
    clock.advance(7200)
    _, retried = await post(http, url, LOGIN[:-1] + f',"p-ticket":"{penalty["p-ticket"]}"}}', JSON)

    assert penalty["p-captcha"] is True
    assert retried["p-captcha"] is True
    assert "accessToken" not in retried


@pytest.fixture
def penalised_config() -> SimConfig:
    return fast_config(bad_login_penalty_after=2)


async def test_repeated_bad_logins_earn_a_captcha_penalty(
    http: aiohttp.ClientSession, penalised_config: SimConfig
) -> None:
    async with TradovateSim(penalised_config) as sim:
        url = sim.rest_url + "/auth/accesstokenrequest"
        for _ in range(2):
            await post(http, url, '{"name":"demo","password":"wrong"}', JSON)

        _, third = await post(http, url, LOGIN, JSON)

    assert third["p-captcha"] is True


async def test_renew_returns_a_new_token_and_extends_expiry(
    sim: TradovateSim, http: aiohttp.ClientSession, tokens: dict[str, Any], config: SimConfig
) -> None:
    assert isinstance(config.clock, ManualClock)
    config.clock.advance(60)

    status, renewed = await get(http, sim.rest_url + "/auth/renewAccessToken", bearer(tokens))

    assert status == 200
    assert renewed["accessToken"] != tokens["accessToken"]
    assert renewed["expirationTime"] > tokens["expirationTime"]


async def test_missing_expired_or_revoked_tokens_get_401(
    sim: TradovateSim, http: aiohttp.ClientSession, config: SimConfig
) -> None:
    assert isinstance(config.clock, ManualClock)
    url = sim.rest_url + "/account/list"
    first = await login(http, sim)
    second = await login(http, sim)

    missing, _ = await get(http, url, JSON)
    config.clock.advance(config.variants.token_lifetime_s + 1)
    expired, _ = await get(http, url, bearer(first))
    third = await login(http, sim)
    sim.faults.revoke_tokens()
    revoked, _ = await get(http, url, bearer(third))

    assert (missing, expired, revoked) == (401, 401, 401)
    assert second["accessToken"] != first["accessToken"]


async def test_md_access_token_is_not_a_rest_token(
    sim: TradovateSim, http: aiohttp.ClientSession, tokens: dict[str, Any]
) -> None:
    status, _ = await get(http, sim.rest_url + "/account/list", {"Authorization": f"Bearer {tokens['mdAccessToken']}"})

    assert status == 401


async def test_account_list_and_contract_lookups(
    sim: TradovateSim, http: aiohttp.ClientSession, tokens: dict[str, Any]
) -> None:
    headers = bearer(tokens)

    _, accounts = await get(http, sim.rest_url + "/account/list", headers)
    _, found = await get(http, sim.rest_url + "/contract/find?name=CLF7", headers)
    _, item = await get(http, sim.rest_url + "/contract/item?id=3570918", headers)
    _, suggested = await get(http, sim.rest_url + "/contract/suggest?t=ES&l=10", headers)
    missing, _ = await get(http, sim.rest_url + "/contract/find?name=ZZZ9", headers)

    assert [(a["id"], a["name"], a["userId"]) for a in accounts] == [(701234, "DEMO701234", 5001)]
    assert found == {
        "id": 3570947,
        "name": "CLF7",
        "contractMaturityId": 52160,
        "status": "DefinitionChecked",
        "providerTickSize": 0.01,
    }
    assert item["name"] == "ESZ6"
    assert item["providerTickSize"] == 0.25
    assert [c["name"] for c in suggested] == ["ESZ6"]
    assert missing == 404


async def test_paths_match_case_insensitively(
    sim: TradovateSim, http: aiohttp.ClientSession, tokens: dict[str, Any]
) -> None:
    body = '{"accountId":701234,"action":"Buy","symbol":"MESZ6","orderQty":1,"orderType":"Market","isAutomated":true}'

    mixed, placed = await post(http, sim.rest_url + "/order/placeOrder", body, bearer(tokens))
    lower, listed = await get(http, sim.rest_url + "/executionreport/list", bearer(tokens))

    assert (mixed, lower) == (200, 200)
    assert isinstance(placed["orderId"], int)
    assert {report["execType"] for report in listed} == {"New", "Trade"}


async def test_rest_order_lists_reflect_a_fill(
    sim: TradovateSim, http: aiohttp.ClientSession, tokens: dict[str, Any]
) -> None:
    body = (
        '{"accountSpec":"DEMO701234","accountId":701234,"action":"Buy","symbol":"ESZ6","orderQty":2,'
        '"orderType":"Market","isAutomated":true,"clOrdId":"intent-1"}'
    )
    await post(http, sim.rest_url + "/order/placeorder", body, bearer(tokens))

    lists = {
        name: (await get(http, f"{sim.rest_url}/{name}/list", bearer(tokens)))[1]
        for name in ("order", "position", "fill", "command", "executionReport", "cashBalance")
    }

    assert lists["order"][0]["ordStatus"] == "Filled"
    assert lists["position"][0]["netPos"] == 2
    assert sum(fill["qty"] for fill in lists["fill"]) == 2
    assert lists["command"][0]["clOrdId"] == "intent-1"
    assert lists["command"][0]["isAutomated"] is True
    assert lists["cashBalance"][0]["amount"] == 50000.0


async def test_wrong_method_is_405_and_unknown_path_is_404(
    sim: TradovateSim, http: aiohttp.ClientSession, tokens: dict[str, Any]
) -> None:
    wrong_method, _ = await get(http, sim.rest_url + "/order/placeorder", bearer(tokens))
    unknown, text = await get(http, sim.rest_url + "/nosuch/thing", bearer(tokens))

    assert wrong_method == 405
    assert unknown == 404
    assert text == "Not found: nosuch/thing"


async def test_rate_limit_is_429_with_an_empty_body(
    sim: TradovateSim, http: aiohttp.ClientSession, tokens: dict[str, Any]
) -> None:
    sim.faults.rate_limit(n=2, endpoint="account/list")

    async with http.get(sim.rest_url + "/account/list", headers=bearer(tokens)) as first:
        first_body = await first.read()
    second, _ = await get(http, sim.rest_url + "/account/list", bearer(tokens))
    third, _ = await get(http, sim.rest_url + "/account/list", bearer(tokens))

    assert (first.status, first_body) == (429, b"")
    assert (second, third) == (429, 200)


async def test_every_request_is_recorded_even_when_refused(sim: TradovateSim, http: aiohttp.ClientSession) -> None:
    await post(http, sim.rest_url + "/order/placeorder", '{"symbol":"ESZ6"}', JSON)

    received = sim.received_requests(endpoint="order/placeorder")

    assert [(r.kind, r.endpoint, r.json_body()) for r in received] == [("rest", "order/placeorder", {"symbol": "ESZ6"})]
    assert sim.orders.working_orders() == []


async def test_serves_on_loopback_only() -> None:
    sim = TradovateSim(fast_config())

    with pytest.raises(ValueError, match="loopback"):
        await sim.start(host="0.0.0.0")  # noqa: S104 - the point of the test


async def test_urls_have_tradovate_paths(sim: TradovateSim) -> None:
    assert sim.rest_url.startswith("http://127.0.0.1:")
    assert sim.rest_url.endswith("/v1")
    assert sim.trading_ws_url.endswith("/v1/websocket")
    assert sim.md_ws_url.endswith("/v1/websocket")
    assert sim.trading_ws_url.split(":")[2] != sim.md_ws_url.split(":")[2]
