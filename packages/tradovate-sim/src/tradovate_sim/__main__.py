"""`python -m tradovate_sim` (or `tradovate-sim`): serve the simulator on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tradovate_sim.command import sim_command
from tradovate_sim.config import DEFAULT_PASSWORD, DEFAULT_USER


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve (the same options as `pa sim`)."""
    parser = argparse.ArgumentParser(prog="tradovate-sim", description=sim_command.__doc__)
    parser.add_argument("--port", type=int, default=8000, help="REST and trading socket port (0 = any free port)")
    parser.add_argument("--md-port", type=int, default=0, help="market-data socket port (0 = any free port)")
    parser.add_argument("--seed", type=int, default=1, help="market seed (same seed, same frames)")
    parser.add_argument("--user", default=DEFAULT_USER)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--tick-interval", type=float, default=0.25, help="seconds per market step (0 = on request)")
    parser.add_argument("--history-hours", type=float, default=4.0)
    parser.add_argument("--faults", default=None, help="a fault schedule file (JSON)")
    parser.add_argument("--replay", default=None, help="serve a recorded capture instead")
    parser.add_argument("--replay-speed", type=float, default=1.0)
    parser.add_argument(
        "--variant",
        action="append",
        default=None,
        help="switch=value (repeatable; `evidence` sets every switch to its evidence-based default)",
    )
    parser.add_argument("--variants-file", default=None, help="a JSON or TOML file of switch = value pairs")
    parser.add_argument("--list-variants", action="store_true", help="list the variant switches and exit")
    parser.add_argument(
        "--contracts", type=int, default=0, help="add N generated contracts (SIM0001Z6, ...) for load tests"
    )
    args = parser.parse_args(argv)
    sim_command(**vars(args))


if __name__ == "__main__":
    main()
