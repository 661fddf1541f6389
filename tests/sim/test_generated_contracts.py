"""Generated contracts (`pa sim --contracts N`): many instruments for load tests, the defaults untouched."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tradovate_sim import DEFAULT_CONTRACTS, SimConfig, TradovateSim, generated_contracts
from tradovate_sim.command import sim_command

from .conftest import fast_config
from .rawclient import RawSocket
from .test_rest import bearer, get


@pytest.fixture
def config() -> SimConfig:
    return fast_config(contracts=DEFAULT_CONTRACTS + generated_contracts(30))


def test_the_defaults_stay_the_four_real_contracts() -> None:
    assert [c.name for c in SimConfig().contracts] == ["ESZ6", "NQZ6", "MESZ6", "CLF7"]
    assert generated_contracts(0) == ()


def test_generated_contracts_have_their_own_names_ids_and_products() -> None:
    generated = generated_contracts(200)
    everything = DEFAULT_CONTRACTS + generated

    assert [c.name for c in generated[:2]] == ["SIM0001Z6", "SIM0002Z6"]
    for attribute in ("id", "name", "product", "product_id", "maturity_id"):
        values = [getattr(c, attribute) for c in everything]
        assert len(set(values)) == len(values), attribute
    assert all(c.ticks(c.start_price) is not None for c in generated)  # every start price is on the tick grid
    assert generated_contracts(3) == generated[:3]  # the same names and ids whatever N


def test_a_count_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="0 to 9999"):
        generated_contracts(-1)
    with pytest.raises(SystemExit):
        sim_command(contracts=10_000)


async def test_a_generated_contract_is_found_and_streams_market_data(
    sim: TradovateSim, http: aiohttp.ClientSession, tokens: dict[str, Any], md: RawSocket
) -> None:
    status, found = await get(http, sim.rest_url + "/contract/find?name=SIM0030Z6", bearer(tokens))
    response = await md.request("md/subscribeQuote", 1, body=f'{{"symbol":{found["id"]}}}')
    first = (await md.until(lambda m: m.get("e") == "md"))["d"]["quotes"][0]
    await sim.market.step(1)
    update = (await md.until(lambda m: m.get("e") == "md"))["d"]["quotes"][0]

    assert status == 200 and found["name"] == "SIM0030Z6"
    assert response["s"] == 200
    assert first["contractId"] == update["contractId"] == found["id"]
