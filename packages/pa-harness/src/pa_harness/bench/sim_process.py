"""The simulator in its own process, so its work does not run on the loop (or core) being measured.

`python -m pa_harness.bench.sim_process [--tick-interval S] [--contracts N]` prints one JSON line with the URLs and
the demo account, then serves on 127.0.0.1 until terminated. Each `stats` line on its stdin is answered with one
JSON line: the requests it received (total, by endpoint, and when each arrived, on its monotonic clock), the
penalty tickets it issued, the market steps taken.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tradovate_sim import DEFAULT_CONTRACTS, TradovateSim, generated_contracts

from .loop import loop_factory
from .processes import Helper, helper, read_line
from .stack import sim_config

MAX_RECORDS = 20_000  # the simulator's frame records stay small however long a benchmark streams


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


@dataclass(frozen=True)
class SimStats:
    """What the simulator saw: requests (with arrival times), penalties issued, market steps."""

    requests: int
    by_endpoint: dict[str, int]
    arrivals_s: list[float]  # time.monotonic() of each request, in this machine's monotonic clock
    penalties: int
    steps: int

    def peak_per_second(self) -> int:
        """The most requests that arrived within any one-second window."""
        arrivals, peak, first = self.arrivals_s, 0, 0
        for last, at in enumerate(arrivals):
            while at - arrivals[first] >= 1.0:
                first += 1
            peak = max(peak, last - first + 1)
        return peak


class _Counting:
    """Records the arrival time of every request the simulator logs (the bench's own process: no simulator change)."""

    def __init__(self, sim: TradovateSim) -> None:
        self.arrivals: list[float] = []
        self.endpoints: Counter[str] = Counter()
        record = sim.recorder.record_request

        def counted(*args: Any, **kwargs: Any) -> Any:
            request = record(*args, **kwargs)
            self.arrivals.append(time.monotonic())
            self.endpoints[request.endpoint_key] += 1
            return request

        sim.recorder.record_request = counted  # type: ignore[method-assign]


async def _answer_stats(sim: TradovateSim, counting: _Counting) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        if line.strip() == "stats":
            stats = {
                "requests": len(counting.arrivals),
                "by_endpoint": dict(counting.endpoints),
                "arrivals_s": counting.arrivals,
                "penalties": sim.penalties.issued,
                "steps": sim.market.step_count,
            }
            print(json.dumps(stats), flush=True)


async def _serve(tick_interval_s: float | None, contracts: int) -> None:
    config = sim_config(
        tick_interval_s=tick_interval_s,
        contracts=DEFAULT_CONTRACTS + generated_contracts(contracts),
        max_records=MAX_RECORDS,
    )
    async with TradovateSim(config) as sim:
        counting = _Counting(sim)
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
        await _answer_stats(sim, counting)
        await asyncio.Event().wait()


@dataclass
class SimHandle:
    """A running simulator process: its endpoints and its pid; `stats()` asks it what it saw."""

    endpoints: SimEndpoints
    started: Helper

    @property
    def pid(self) -> int:
        """The simulator's process id."""
        return self.started.process.pid

    def stats(self) -> SimStats:
        """The simulator's request and penalty counts (blocks for at most 10 s)."""
        process = self.started.process
        assert process.stdin is not None
        process.stdin.write("stats\n")
        process.stdin.flush()
        return SimStats(**json.loads(read_line(process, 10.0)))


@contextlib.contextmanager
def sim_server(tick_interval_s: float | None = None, contracts: int = 0) -> Iterator[SimHandle]:
    """Run a simulator in a child process (`contracts` generated ones added); stops it (by PID) on exit."""
    argv = [sys.executable, "-m", "pa_harness.bench.sim_process"]
    if tick_interval_s:
        argv += ["--tick-interval", str(tick_interval_s)]
    if contracts:
        argv += ["--contracts", str(contracts)]
    with helper(argv, ready_timeout_s=60.0) as started:
        yield SimHandle(SimEndpoints(**json.loads(started.first_line)), started)


@contextlib.contextmanager
def sim_process(tick_interval_s: float | None = None) -> Iterator[SimEndpoints]:
    """Run a simulator in a child process; yields its endpoints; stops it (by PID) on exit."""
    with sim_server(tick_interval_s) as handle:
        yield handle.endpoints


def main(argv: list[str] | None = None) -> int:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tick-interval", type=float, default=0.0, help="seconds between market steps; 0 = none")
    parser.add_argument("--contracts", type=int, default=0, help="generated contracts added to the four real ones")
    args = parser.parse_args(argv)
    tick = args.tick_interval if args.tick_interval > 0 else None
    with asyncio.Runner(loop_factory=loop_factory()) as runner, contextlib.suppress(KeyboardInterrupt):
        runner.run(_serve(tick, args.contracts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
