"""`make demo-distributed`: nats-server, the simulator, the PA, U, Paper and OE as six OS processes on 127.0.0.1.

The launcher starts each process, lets OE run one order round trip through the PA (PA_UP, a market buy,
its fill learned from facts via U -> Paper -> OE, a flatten), prints what happened and the intent's audit
trail, and stops every process by its pid, the server last. SIGTERM or SIGINT to the launcher stops the demo
the same way (each child by its pid, the PA gracefully): no child outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from pa_harness.nats_server import HOST, NatsServer, free_port
from pa_harness.process import ChildProcess
from pa_harness.reference.audit import audit_trail, render_audit
from platform_adapter.config import Settings
from platform_adapter.transport.nats.access import Module
from platform_adapter.transport.nats.connection import PASSWORD_ENV, PASSWORD_FILE_ENV, USER_ENV
from tradovate_sim import SimConfig

NODE = "pa_harness.distributed.node"


def run_demo_distributed(
    settings: Settings,
    *,
    config_path: Path | None = None,
    out_dir: Path = Path("artifacts/demo-distributed"),
    timeout_s: float = 90.0,
    linger_s: float = 0.0,
) -> int:
    """Run the distributed demo to completion; 0 when the round trip succeeded."""
    return asyncio.run(
        demo_distributed(settings, config_path=config_path, out_dir=out_dir, timeout_s=timeout_s, linger_s=linger_s)
    )


async def demo_distributed(
    settings: Settings,
    *,
    config_path: Path | None = None,
    out_dir: Path = Path("artifacts/demo-distributed"),
    timeout_s: float = 90.0,
    linger_s: float = 0.0,
    echo: Callable[[str], None] = print,
) -> int:
    """Start the six processes, run the round trip from OE, stop them all; 0 when the round trip succeeded."""
    # `timeout_s` bounds the round trip; `linger_s` keeps the PA, U and Paper running after it, so market
    # data keeps flowing into U for that long before everything stops.
    _fresh_dir(out_dir)
    server = NatsServer(out_dir / "nats")
    sim_port, md_port = free_port(), free_port()
    endpoints = (
        f"http://{HOST}:{sim_port}/v1",
        f"ws://{HOST}:{sim_port}/v1/websocket",
        f"ws://{HOST}:{md_port}/v1/websocket",
    )
    env = _base_env(config_path, endpoints)
    symbol = settings.instruments[0].symbol
    account_id = SimConfig().account_id  # the simulator's one account (the PA learns it at sync)
    result_file = out_dir / "oe-result.json"

    def node(name: str, module: Module | None, *args: str) -> ChildProcess:
        child_env = dict(env)
        if module is not None:
            child_env.update(server.auth(module).env())
        return ChildProcess(name, [sys.executable, "-m", NODE, *args], out_dir / f"{name}.log", env=child_env)

    url = server.url
    sim = node("sim", None, "sim", "--port", str(sim_port), "--md-port", str(md_port))
    u = node("u", Module.U, "u", "--nats-url", url, "--db", str(out_dir / "u.sqlite"))
    paper = node("paper", Module.PAPER, "paper", "--nats-url", url)
    pa = node("pa", Module.PA, "pa", "--nats-url", url)
    oe = node(
        "oe", Module.OE, "oe", "--nats-url", url, "--db", str(out_dir / "oe.sqlite"), "--round-trip",
        "--account-id", str(account_id), "--symbol", symbol, "--result-file", str(result_file),
    )  # fmt: skip
    children = [sim, u, paper, pa, oe]
    echo("PA distributed demo: nats-server + simulator + PA + U + Paper + OE, each its own process on 127.0.0.1")
    code = 1
    with _stop_on_signals() as stopped_by:
        try:
            await server.start()
            echo(f"  nats-server  pid {server.pid}  {url}  (accounts PA, U, PAPER, OE; config {server.config_path})")
            provisioned = await server.provision()  # as pa_admin, u_admin, paper_admin: before any module starts
            echo(f"  provisioned  {', '.join(name for name, _ in provisioned)}")
            sim.start()
            await _wait_listening(sim, (sim_port, md_port), timeout_s=20.0)
            for child in (u, paper, pa, oe):
                child.start()
            for child in children:
                echo(f"  {child.name:<11}  pid {child.pid}  log {child.log_path}")
            try:
                code = await oe.wait(timeout_s)
            except TimeoutError:
                echo(f"  OE did not finish within {timeout_s:.0f}s")
            if code == 0 and linger_s > 0:
                echo(f"  lingering {linger_s:.0f}s (market data keeps flowing into U)")
                await asyncio.sleep(linger_s)  # the demo's own duration: market data keeps flowing into U
        except asyncio.CancelledError:
            if not stopped_by:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            echo(f"  {signal.Signals(stopped_by[0]).name}: stopping every process")
        finally:
            for child in reversed(children):
                if child.pid is not None:
                    await child.stop()
            await server.stop()
    echo("  stopped: " + ", ".join(f"{c.name} ({c.returncode})" for c in children) + ", nats-server")
    if stopped_by:
        return 128 + stopped_by[0]
    return _report(result_file, out_dir, code, echo)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[list[int]]:
    """While inside: the first SIGTERM / SIGINT cancels the demo (its clean-up then stops every child); later ones
    are noted, not obeyed, so a second Ctrl-C cannot leave children behind. Yields the signals received."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        if len(received) == 1 and task is not None:
            task.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        yield received
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _fresh_dir(out_dir: Path) -> None:
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)


def _base_env(config_path: Path | None, endpoints: tuple[str, str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (USER_ENV, PASSWORD_ENV, PASSWORD_FILE_ENV)}
    env["PYTHONUNBUFFERED"] = "1"
    if config_path is not None:
        env["PA_CONFIG"] = str(config_path)
    env.update(
        {
            "PA_ENVIRONMENT": "simulator",
            "PA_REST_URL": endpoints[0],
            "PA_TRADING_WS_URL": endpoints[1],
            "PA_MD_WS_URL": endpoints[2],
        }
    )
    return env


async def _wait_listening(child: ChildProcess, ports: tuple[int, ...], timeout_s: float) -> None:
    """Return once every port accepts connections; fail early if the child exits."""
    async with asyncio.timeout(timeout_s):
        for port in ports:
            while True:
                if not child.running:
                    raise RuntimeError(f"{child.name} exited ({child.returncode}):\n{child.log_tail()}")
                try:
                    _, writer = await asyncio.open_connection(HOST, port)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)  # still starting: try the port again shortly


def _report(result_file: Path, out_dir: Path, code: int, echo: Callable[[str], None]) -> int:
    if not result_file.is_file():
        echo(f"  no result from OE (exit {code}); see {out_dir / 'oe.log'} and {out_dir / 'pa.log'}")
        echo("demo failed")
        return 1
    result = json.loads(result_file.read_text(encoding="utf-8"))
    echo(f"  health: {result['health']} (OE read it from pa.health and the pa_health KV bucket)")
    echo(
        f"  OE -> PA (request/reply on pa.intents): submit Market Buy 1: receipt-ack {result['submit_ack']}, "
        f"orderId {result['order_id']}"
    )
    echo(f"  U -> Paper -> OE: outcome {result['outcome']} (from platform facts, not from the ack)")
    flatten, orders = result["flatten_ack"], result["liquidation_order_ids"]
    echo(f"  OE -> PA: flatten: receipt-ack {flatten}, liquidation orders {orders}")
    if result.get("error"):
        echo(f"  step failed: {result['error']}")
    facts = _count(out_dir / "u.sqlite", "SELECT COUNT(*) FROM facts")
    holes = _count(out_dir / "u.sqlite", "SELECT COUNT(*) FROM delivery_holes")
    echo(f"  U stored {facts} facts from the PA_FACTS stream; delivery holes: {holes}")
    if result.get("submit_intent_id"):
        echo("")
        echo(render_audit(audit_trail(_merged_audit_db(out_dir), result["submit_intent_id"])))
    ok = bool(result.get("ok")) and code == 0
    echo("demo finished: order round trip over NATS seen via U -> Paper -> OE" if ok else "demo failed")
    return 0 if ok else 1


def _count(db_path: Path, query: str) -> int:
    if not db_path.is_file():
        return 0
    with sqlite3.connect(db_path) as db:
        return int(db.execute(query).fetchone()[0])


def _merged_audit_db(out_dir: Path) -> Path:
    """U's facts and OE's intents in one database, as the audit reads them (each module kept its own)."""
    merged = out_dir / "audit.sqlite"
    with sqlite3.connect(out_dir / "u.sqlite") as source, sqlite3.connect(merged) as target:
        source.backup(target)
    with sqlite3.connect(merged) as db:
        db.execute("ATTACH DATABASE ? AS oe", (str(out_dir / "oe.sqlite"),))
        db.execute("INSERT INTO oe_intents SELECT * FROM oe.oe_intents")
    return merged


def main() -> int:
    """`python -m pa_harness.distributed.demo`: the demo with the effective settings."""
    from platform_adapter.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"demo-distributed: configuration error: {exc}", file=sys.stderr)
        return 2
    return run_demo_distributed(settings)


if __name__ == "__main__":
    sys.exit(main())
