"""`pa sim`: serve the simulator on 127.0.0.1 until Ctrl-C and print its URLs."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Sequence

from tradovate_sim.config import DEFAULT_PASSWORD, DEFAULT_USER, SimConfig
from tradovate_sim.contracts import DEFAULT_CONTRACTS, generated_contracts
from tradovate_sim.replay import serve_replay
from tradovate_sim.replay_script import CaptureError
from tradovate_sim.schedule import load_schedule
from tradovate_sim.server import TradovateSim
from tradovate_sim.variants import VariantError, Variants, describe_switches

HOST = "127.0.0.1"


def describe(sim: TradovateSim) -> list[str]:
    """The lines `pa sim` prints: where to point a Tradovate client."""
    return [
        f"REST            {sim.rest_url}",
        f"trading socket  {sim.trading_ws_url}",
        f"market data     {sim.md_ws_url}",
        f"control         {sim.base_url}/sim/faults (POST), {sim.base_url}/sim/status (GET)",
        f"user            {sim.config.user} (account {sim.config.account_name})",
        f"variants        {sim.variants.current.label}  ({sim.base_url}/sim/variants)",
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
    variant: list[str] | None = None,
    variants_file: str | None = None,
    list_variants: bool = False,
    contracts: int = 0,
) -> None:
    """Serve a Tradovate simulator on 127.0.0.1 until Ctrl-C (tick_interval 0 = market moves only on request).

    With `--replay capture.jsonl` it serves that recorded session instead (`replay_speed` 0 = as fast as possible).
    `--variant switch=value` (repeatable; also `evidence`, or items joined by `+`) and `--variants-file` (JSON or
    TOML) choose how it answers the questions the public docs leave open; `--list-variants` lists the switches.
    `--contracts N` adds N generated contracts (`SIM0001Z6`, ...) to the four real ones, for load tests.
    """
    if list_variants:
        for line in switch_table():
            print(line)
        return
    try:
        variants = build_variants(variant or (), variants_file)
        extra = generated_contracts(contracts)
    except (VariantError, ValueError) as exc:
        print(f"pa sim: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
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
        variants=variants,
        contracts=DEFAULT_CONTRACTS + extra,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, port, md_port))


def build_variants(specs: Sequence[str], file: str | None) -> Variants:
    """The file's variants (or the defaults), then each `--variant` spec applied in order."""
    variants = Variants.load(file) if file else Variants()
    for spec in specs:
        variants = Variants.parse(spec, base=variants)
    return variants


def switch_table() -> list[str]:
    """The lines of `--list-variants`: every switch, its values, its default and the evidence-based default."""
    rows = [("switch", "values", "default", "evidence")]
    rows += [(info.name, " | ".join(info.values), info.default, info.evidence) for info in describe_switches()]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}" for row in rows]
