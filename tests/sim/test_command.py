"""`pa sim`: the serving logic behind `sim_command` listens on loopback and prints the three URLs."""

from __future__ import annotations

import asyncio

import aiohttp

from tradovate_sim import SimConfig, TradovateSim
from tradovate_sim.command import serve, sim_command


async def test_serve_prints_urls_answers_and_stops() -> None:
    lines: list[str] = []
    started: asyncio.Future[TradovateSim] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    config = SimConfig(seed=3, history_s=600.0, tick_interval_s=0.01)
    serving = asyncio.create_task(serve(config, 0, 0, stop=stop, ready=started.set_result, echo=lines.append))
    sim = await asyncio.wait_for(started, 5)
    moved = asyncio.Event()
    sim.market.add_listener(lambda _ticks: moved.set() if sim.market.step_count >= 3 else None)

    async with aiohttp.ClientSession() as http, http.get(sim.base_url + "/sim/status") as response:
        status = await response.json()
    await asyncio.wait_for(moved.wait(), 5)  # the market moves by itself every tick_interval
    stop.set()
    await asyncio.wait_for(serving, 5)

    assert lines[0] == f"REST            {sim.rest_url}"
    assert sim.trading_ws_url in lines[1]
    assert sim.md_ws_url in lines[2]
    assert sim.rest_url.startswith("http://127.0.0.1:")
    assert status["listening"] == ["main", "md"]


def test_sim_command_is_a_plain_typer_compatible_function() -> None:
    defaults = sim_command.__defaults__

    assert defaults is not None
    assert defaults[:6] == (8000, 0, 1, "demo", "demo-password", 0.25)
    assert sim_command.__doc__
