"""Two runs with the same seed emit byte-identical frames; another seed emits different ones."""

from __future__ import annotations

import aiohttp

from tradovate_sim import TradovateSim

from .conftest import fast_config, login
from .rawclient import RawSocket

CHART = (
    '{"symbol":"ESZ6","chartDescription":{"underlyingType":"%s","elementSize":1,'
    '"elementSizeUnit":"UnderlyingUnits","withHistogram":false},"timeRange":{"asMuchAsElements":20}}'
)


async def scripted_run(seed: int) -> dict[str, list[str]]:
    """Subscribe to everything, trade, step the market; return every frame sent, per socket kind."""
    async with aiohttp.ClientSession() as http, TradovateSim(fast_config(seed=seed)) as sim:
        tokens = await login(http, sim)
        md = RawSocket(await http.ws_connect(sim.md_ws_url))
        trading = RawSocket(await http.ws_connect(sim.trading_ws_url))
        await md.authorize(tokens["mdAccessToken"])
        await trading.authorize(tokens["accessToken"])
        await trading.request("user/syncrequest", 1, body='{"users":[5001]}')
        for request_id, (endpoint, body) in enumerate(
            [
                ("md/subscribeQuote", '{"symbol":"ESZ6"}'),
                ("md/subscribeDOM", '{"symbol":"CLF7"}'),
                ("md/subscribeHistogram", '{"symbol":"NQZ6"}'),
                ("md/getChart", CHART % "MinuteBar"),
                ("md/getChart", CHART % "Tick"),
            ],
            start=1,
        ):
            await md.request(endpoint, request_id, body=body)
        await sim.market.step(25)
        await trading.request(
            "order/placeorder",
            2,
            body='{"accountId":701234,"action":"Buy","symbol":"ESZ6","orderQty":2,"orderType":"Market"}',
        )
        await sim.market.step(25)
        await trading.request("order/list", 3)
        await md.request("md/unsubscribeQuote", 9, body='{"symbol":"ESZ6"}')
        await md.ws.close()
        await trading.ws.close()
        # Per socket: the order across two sockets is up to the event loop, within one it is the protocol.
        return {kind: [frame.text for frame in sim.sent_frames(kind=kind)] for kind in ("md", "trading")}


async def test_same_seed_same_frames() -> None:
    first = await scripted_run(seed=11)
    second = await scripted_run(seed=11)

    assert len(first["md"]) > 250
    assert len(first["trading"]) > 10
    assert first == second


async def test_different_seed_different_frames() -> None:
    assert await scripted_run(seed=11) != await scripted_run(seed=12)
