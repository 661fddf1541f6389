"""`pa demo`: simulator + PA + reference U / Paper / OE in one process, with an order round trip."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

from rich.console import Console

from pa_harness.environment import embedded_simulator
from pa_harness.reference import ReferenceSystem, audit_trail, render_audit
from platform_adapter.composition import InProcStack, build_inproc_stack, run_event_loop
from platform_adapter.config import Credentials, Environment, Settings
from platform_adapter.mic import AckStatus, HealthState, OrderAction
from platform_adapter.operator import FactTap, OperatorSession
from platform_adapter.telemetry import configure_logging


def run_demo(settings: Settings, credentials: Credentials, *, tui: bool, duration_s: float) -> int:
    """`pa demo`: simulator + PA + reference U / Paper / OE in one process, with an order round trip."""
    out_dir = Path("artifacts/demo")
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    with open(out_dir / "stderr.log", "w", encoding="utf-8") as log_stream:
        configure_logging(
            level=settings.log_level, log_dir=out_dir, secrets=credentials.secret_values(), stream=log_stream
        )
        console = Console(highlight=False, width=None if tui else 140)
        try:
            return run_event_loop(_demo(settings, credentials, console, out_dir, duration_s, tui=tui))
        except KeyboardInterrupt:
            return 0


async def _demo(
    settings: Settings,
    credentials: Credentials,
    console: Console,
    out_dir: Path,
    duration_s: float,
    *,
    tui: bool = False,
) -> int:
    sim_only = {"environment": Environment.SIMULATOR, "rest_url": None, "trading_ws_url": None, "md_ws_url": None}
    demo_settings = settings.model_copy(update=sim_only)
    say = console.print
    say("[bold]PA demo[/bold]: built-in Tradovate simulator on 127.0.0.1 -> PA -> reference U -> Paper -> OE")
    db_path = out_dir / "u.sqlite"
    ok = True
    async with embedded_simulator(demo_settings, credentials) as endpoints:
        say(f"  simulator: REST {endpoints[0]}  trading {endpoints[1]}  market data {endpoints[2]}")
        tap = FactTap()
        stack = build_inproc_stack(demo_settings, credentials, endpoints, tap=tap)
        async with (
            ReferenceSystem(db_path, facts=stack.facts, health=stack.health, intents=stack.intents) as system,
            OperatorSession.attach(
                stack.adapter,
                stack.platform,
                tap,
                console=console,
                tui=tui,
                port=demo_settings.metrics_port,  # 0 here means a free port, printed below
                title="PA demo  simulator -> PA -> U -> Paper -> OE",
            ) as operator,
        ):
            say(f"  operator endpoints: {operator.url}/metrics  {operator.url}/healthz")
            pa = asyncio.create_task(stack.adapter.run(), name="pa")
            try:
                ok = await _round_trip(stack, system, demo_settings, console, db_path)
                await asyncio.sleep(max(0.0, duration_s))  # let market data flow for the rest of the demo
            except (TimeoutError, AssertionError) as exc:
                say(f"  [red]demo step failed[/red]: {type(exc).__name__}: {exc}")
                ok = False
            finally:
                pa.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pa
            counters = stack.adapter.outbox.counters
            u = system.u.counters
            say(
                f"  facts: {counters.received} built by the PA, {counters.delivered} delivered to U; "
                f"U stored {u.facts} facts, {u.bars_written} completed bars, {u.events_written} EventStream events; "
                f"delivery holes: {u.holes}"
            )
    say(f"  U's database: {db_path}   PA log: {out_dir / 'pa.jsonl'}")
    say("[green]demo finished: order round trip seen via U -> Paper -> OE[/green]" if ok else "[red]demo failed[/red]")
    return 0 if ok else 1


async def _round_trip(
    stack: InProcStack, system: ReferenceSystem, settings: Settings, console: Console, db_path: Path
) -> bool:
    say = console.print
    oe = system.oe
    up = await oe.wait_health(lambda s: s.state is HealthState.UP, timeout=30)
    say(f"  health: [green]{up.state.value}[/green] (OE learned it from the PA's health signal)")
    reference = stack.platform.reference
    assert reference is not None
    account_id = next(iter(reference.accounts))
    symbol = settings.instruments[0].symbol
    ack = await oe.submit_market(account_id, symbol, OrderAction.BUY, 1)
    say(
        f"  OE -> PA: submit Market Buy 1 {symbol}: receipt-ack [bold]{ack.status.value}[/bold], orderId {ack.platform_order_id}"
    )
    outcome = await oe.wait_outcome(ack.intent_id, {"Filled"}, timeout=15)
    say(f"  U -> Paper -> OE: outcome [bold]{outcome.status}[/bold] (learned from platform facts, not from the ack)")
    flat = await oe.flatten(symbol, account_id=account_id)
    say(
        f"  OE -> PA: flatten {symbol}: receipt-ack {flat.status.value}, liquidation orders {list(flat.platform_order_ids)}"
    )
    say("")
    say(render_audit(audit_trail(db_path, ack.intent_id)))
    return ack.status is AckStatus.ACCEPTED and flat.status is AckStatus.ACCEPTED
