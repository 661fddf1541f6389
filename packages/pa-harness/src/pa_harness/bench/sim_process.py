"""The simulator in its own process, so its work does not run on the loop (or core) being measured.

`python -m pa_harness.bench.sim_process [--tick-interval S]` prints one JSON line with the URLs and
the demo account, then serves on 127.0.0.1 until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tradovate_sim import TradovateSim

from .loop import loop_factory
from .processes import helper
from .stack import sim_config


@dataclass(frozen=True)
class SimEndpoints:
    """Where a simulator in another process listens, and its demo account."""

    rest_url: str
    trading_ws_url: str
    md_ws_url: str
    account_id: int
    account_name: str
    user: str
    password: str


async def _serve(tick_interval_s: float | None) -> None:
    async with TradovateSim(sim_config(tick_interval_s=tick_interval_s)) as sim:
        info: dict[str, Any] = {
            "rest_url": sim.rest_url,
            "trading_ws_url": sim.trading_ws_url,
            "md_ws_url": sim.md_ws_url,
            "account_id": sim.config.account_id,
            "account_name": sim.config.account_name,
            "user": sim.config.user,
            "password": sim.config.password,
        }
        print(json.dumps(info), flush=True)
        await asyncio.Event().wait()


@contextlib.contextmanager
def sim_process(tick_interval_s: float | None = None) -> Iterator[SimEndpoints]:
    """Run a simulator in a child process; yields its endpoints; stops it (by PID) on exit."""
    argv = [sys.executable, "-m", "pa_harness.bench.sim_process"]
    if tick_interval_s:
        argv += ["--tick-interval", str(tick_interval_s)]
    with helper(argv) as started:
        yield SimEndpoints(**json.loads(started.first_line))


def main(argv: list[str] | None = None) -> int:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tick-interval", type=float, default=0.0, help="seconds between market steps; 0 = none")
    args = parser.parse_args(argv)
    tick = args.tick_interval if args.tick_interval > 0 else None
    with asyncio.Runner(loop_factory=loop_factory()) as runner, contextlib.suppress(KeyboardInterrupt):
        runner.run(_serve(tick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
