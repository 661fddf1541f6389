"""`pa sim`: serve the simulator on 127.0.0.1 until Ctrl-C and print its URLs."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable

from tradovate_sim.config import DEFAULT_PASSWORD, DEFAULT_USER, SimConfig
from tradovate_sim.replay import serve_replay
from tradovate_sim.replay_script import CaptureError
from tradovate_sim.schedule import load_schedule
from tradovate_sim.server import TradovateSim

HOST = "127.0.0.1"


def describe(sim: TradovateSim) -> list[str]:
    """The lines `pa sim` prints: where to point a Tradovate client."""
    return [
        f"REST            {sim.rest_url}",
        f"trading socket  {sim.trading_ws_url}",
        f"market data     {sim.md_ws_url}",
        f"control         {sim.base_url}/sim/faults (POST), {sim.base_url}/sim/status (GET)",
        f"user            {sim.config.user} (account {sim.config.account_name})",
    ]


async def serve(
    config: SimConfig,
    port: int,
    md_port: int,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[TradovateSim], None] | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Run a simulator on loopback until `stop` is set (or forever), printing its URLs once listening."""
    sim = TradovateSim(config)
    await sim.start(host=HOST, port=port, md_port=md_port)
    try:
        for line in describe(sim):
            echo(line)
        if ready is not None:
            ready(sim)
        await (stop or asyncio.Event()).wait()
    finally:
        await sim.stop()


def sim_command(
    port: int = 8000,
    md_port: int = 0,
    seed: int = 1,
    user: str = DEFAULT_USER,
    password: str = DEFAULT_PASSWORD,
    tick_interval: float = 0.25,
    history_hours: float = 4.0,
    faults: str | None = None,
    replay: str | None = None,
    replay_speed: float = 1.0,
) -> None:
    """Serve a Tradovate simulator on 127.0.0.1 until Ctrl-C (tick_interval 0 = market moves only on request).

    With `--replay capture.jsonl` it serves that recorded session instead (`replay_speed` 0 = as fast as possible).
    """
    if replay is not None:
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(serve_replay(replay, replay_speed, port, md_port))
        except CaptureError as exc:
            print(f"pa sim: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        return
    config = SimConfig(
        seed=seed,
        user=user,
        password=password,
        tick_interval_s=tick_interval if tick_interval > 0 else None,
        history_s=history_hours * 3600.0,
        fault_schedule=load_schedule(faults) if faults else (),
        max_records=200_000,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, port, md_port))
