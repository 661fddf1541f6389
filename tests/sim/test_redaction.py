"""The simulator never shows credentials: not in `GET /sim/requests` (open to any local process), not in its
recorder (issue 15: `/sim/requests` returned a configured password, cid and sec in clear)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tradovate_sim import SimConfig, TradovateSim

from .conftest import SocketFactory, fast_config

PASSWORD, CID, SEC = "pw-Very-Secret-1", 8317, "sec-Very-Secret-2"
REDACTED = "[REDACTED]"


@pytest.fixture
def config() -> SimConfig:
    return fast_config(password=PASSWORD)


async def _login(http: aiohttp.ClientSession, sim: TradovateSim) -> dict[str, Any]:
    body = {"name": "demo", "password": PASSWORD, "appId": "app", "appVersion": "1.0", "cid": CID, "sec": SEC}
    async with http.post(sim.rest_url + "/auth/accesstokenrequest", json=body) as response:
        tokens: dict[str, Any] = await response.json()
    assert "accessToken" in tokens
    return tokens


async def test_sim_requests_shows_no_password_cid_or_sec(sim: TradovateSim, http: aiohttp.ClientSession) -> None:
    await _login(http, sim)
    async with http.get(sim.rest_url.rsplit("/v1", 1)[0] + "/sim/requests") as response:
        text = await response.text()
    assert response.status == 200
    assert "accesstokenrequest" in text
    for secret in (PASSWORD, SEC, str(CID)):
        assert secret not in text
    (login,) = [r for r in json.loads(text) if r["endpoint"].endswith("accesstokenrequest")]
    body = json.loads(login["body"])
    assert {body["password"], body["cid"], body["sec"]} == {REDACTED}
    assert (body["name"], body["appId"]) == ("demo", "app")  # the rest is recorded as sent


async def test_the_recorder_holds_no_credential_and_no_token(
    sim: TradovateSim, http: aiohttp.ClientSession, connect: SocketFactory
) -> None:
    tokens = await _login(http, sim)
    socket = await connect(sim.trading_ws_url)
    assert await socket.authorize(tokens["accessToken"]) == {"s": 200, "i": 0}
    secrets = (PASSWORD, SEC, tokens["accessToken"], tokens["mdAccessToken"])
    recorded = [
        *(r.body for r in sim.received_requests()),
        *(f.text for f in sim.received_frames()),
        *(f.text for f in sim.sent_frames()),
        *(m.text for m in sim.sent_messages()),
    ]
    assert any(REDACTED in text for text in recorded)
    for text in recorded:
        for secret in secrets:
            assert secret not in text
    assert [f.text for f in sim.received_frames() if f.text.startswith("authorize\n")] == [
        f"authorize\n0\n\n{REDACTED}"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"password":"a\\"b","x":1}', f'{{"password":"{REDACTED}","x":1}}'),
        ('{"cid": 12, "sec" :"s"}', f'{{"cid": "{REDACTED}", "sec" :"{REDACTED}"}}'),
        ('{"orderQty":1,"clOrdId":"sec"}', '{"orderQty":1,"clOrdId":"sec"}'),  # a value, not a key: untouched
        ("authorize\n3\n\ntok", f"authorize\n3\n\n{REDACTED}"),
        ("[]", "[]"),
    ],
)
def test_redaction_masks_values_and_leaves_everything_else_byte_for_byte(text: str, expected: str) -> None:
    from tradovate_sim.recorder import REDACTED as RECORDED
    from tradovate_sim.recorder import redact

    assert RECORDED == REDACTED
    assert redact(text) == expected
