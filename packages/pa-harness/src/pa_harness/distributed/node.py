"""One process of the distributed demo: `python -m pa_harness.distributed.node <role> ...`.

Roles: `sim` (the Tradovate simulator), `pa` (the PA on NATS), `u`, `paper`, `oe` (the reference modules).
Settings come from the environment and `PA_CONFIG` as for `pa`; NATS credentials from `PA_NATS_USER` /
`PA_NATS_PASSWORD`, never from the command line. SIGTERM stops the process cleanly (the PA with its graceful
stop, ADR 0012).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from platform_adapter.config import load_credentials, load_settings
from platform_adapter.telemetry import configure_logging, redactor

ROLES = ("sim", "pa", "u", "paper", "oe")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="node", description="One process of the distributed PA demo.")
    roles = parser.add_subparsers(dest="role", required=True)
    sim = roles.add_parser("sim", help="the Tradovate simulator on 127.0.0.1")
    sim.add_argument("--port", type=int, required=True)
    sim.add_argument("--md-port", type=int, required=True)
    for name in ("pa", "u", "paper", "oe"):
        role = roles.add_parser(name, help=f"the {name.upper()} on NATS")
        role.add_argument("--nats-url", required=True)
        if name in ("u", "oe"):
            role.add_argument("--db", type=Path, required=True)
    oe = roles.choices["oe"]
    oe.add_argument("--round-trip", action="store_true", help="run one order round trip, then exit")
    oe.add_argument("--account-id", type=int)
    oe.add_argument("--symbol")
    oe.add_argument("--result-file", type=Path, help="where the round trip's result goes (JSON)")
    return parser


async def _sim(args: argparse.Namespace) -> int:
    from tradovate_sim import SimConfig
    from tradovate_sim.command import serve

    settings = load_settings().simulator
    config = SimConfig(
        seed=settings.seed, user=settings.user, password=settings.password, tick_interval_s=settings.tick_interval_s
    )
    await serve(config, args.port, args.md_port)
    return 0


async def _pa(args: argparse.Namespace) -> int:
    from platform_adapter.composition import serve_pa_over_nats

    settings = load_settings()
    credentials = load_credentials()
    redactor().add(credentials.secret_values())
    # As `pa run --transport nats://...`: SIGTERM / SIGINT stop it gracefully, SIGHUP reloads the credentials.
    await serve_pa_over_nats(
        settings, credentials, args.nats_url, settings.endpoints(), reload_credentials=load_credentials
    )
    return 0


async def _u(args: argparse.Namespace) -> int:
    from pa_harness.distributed.modules import run_reference_u

    await run_reference_u(args.nats_url, args.db)
    return 0


async def _paper(args: argparse.Namespace) -> int:
    from pa_harness.distributed.modules import run_reference_paper

    await run_reference_paper(args.nats_url)
    return 0


async def _oe(args: argparse.Namespace) -> int:
    from pa_harness.distributed.modules import run_reference_oe
    from pa_harness.distributed.round_trip import order_round_trip

    if not args.round_trip:
        await run_reference_oe(args.nats_url, args.db, account_id=args.account_id)
        return 0
    if args.account_id is None or not args.symbol:
        raise SystemExit("oe --round-trip needs --account-id and --symbol")
    result = await run_reference_oe(
        args.nats_url,
        args.db,
        account_id=args.account_id,
        script=lambda oe: order_round_trip(oe, account_id=args.account_id, symbol=args.symbol),
    )
    assert result is not None
    text = json.dumps(result.as_dict(), indent=2)
    if args.result_file is not None:
        args.result_file.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if result.ok else 1


_MAINS = {"sim": _sim, "pa": _pa, "u": _u, "paper": _paper, "oe": _oe}


async def _run_until_sigterm(main: Coroutine[Any, Any, int]) -> int:
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one role until it finishes or receives SIGTERM."""
    args = _parser().parse_args(argv)
    configure_logging(level="INFO", stream=sys.stderr)
    return asyncio.run(_run_until_sigterm(_MAINS[args.role](args)))


if __name__ == "__main__":
    sys.exit(main())
