"""Two probe runs against the simulator, shared by the probe tests (once per session): one through the `pa probe` command
(default options: no orders), one through `run_probe` with `allow_orders` (its capture feeds the replay)."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from platform_adapter.config import Settings
from platform_adapter.probe import ProbeReport, resolve_target, run_probe
from platform_adapter.probe.command import probe_command
from tradovate_sim import TradovateSim

from .harness import ENV, FAST, credentials, issued_tokens, logging_restored, sim_config, simulator_thread, url_options


@dataclass
class CommandRun:
    """`pa probe` run through the command function, as the CLI will run it."""

    out_dir: Path
    exit_code: int
    output: str
    tokens: set[str]
    placeorders: int
    sim: TradovateSim


@dataclass
class DirectRun:
    """`run_probe` with orders allowed."""

    out_dir: Path
    report: ProbeReport
    tokens: set[str]
    sim_sent: dict[str, list[list[str]]]  # kind -> per connection (in opening order) the frames the sim sent
    sim_received: dict[str, list[list[str]]]


def probe_app() -> typer.Typer:
    """The wiring `cli.py` gets: `app.command("probe")(probe_command)`."""
    app = typer.Typer()
    app.command("probe")(probe_command)
    app.command("noop")(lambda: None)  # two commands, so `probe` stays a named subcommand as in `pa`
    return app


@pytest.fixture(scope="session")
def command_run(tmp_path_factory: pytest.TempPathFactory) -> CommandRun:
    out_dir = tmp_path_factory.mktemp("probe-command")
    with simulator_thread(sim_config()) as sim, logging_restored():
        args = [
            "probe",
            *url_options(sim),
            "--window",
            str(FAST.window_s),
            "--close-wait",
            "3",
            "--duration",
            "30",
            "--out",
            str(out_dir),
        ]
        result = CliRunner().invoke(probe_app(), args, env=ENV | {"PA_HEARTBEAT__CLIENT_INTERVAL_S": "0.15"})
        tokens = issued_tokens(sim)
        placeorders = len(sim.received_requests(endpoint="order/placeorder"))
    return CommandRun(out_dir, result.exit_code, result.output, tokens, placeorders, sim)


@pytest.fixture(scope="session")
def direct_run(tmp_path_factory: pytest.TempPathFactory) -> DirectRun:
    out_dir = tmp_path_factory.mktemp("probe-direct")

    async def run() -> DirectRun:
        async with TradovateSim(sim_config()) as sim:
            target = resolve_target(rest_url=sim.rest_url, trading_ws_url=sim.trading_ws_url, md_ws_url=sim.md_ws_url)
            options = dataclasses.replace(FAST, allow_orders=True)
            report = await run_probe(Settings(), credentials(), target, options, out_dir)
            sent: dict[str, list[list[str]]] = {"md": [], "trading": []}
            received: dict[str, list[list[str]]] = {"md": [], "trading": []}
            order = list(dict.fromkeys((f.conn_id, f.kind) for f in sim.sent_frames() if f.conn_id is not None))
            for conn_id, kind in order:
                sent[kind].append([f.text for f in sim.sent_frames(conn_id=conn_id)])
                received[kind].append([f.text for f in sim.received_frames(conn_id=conn_id)])
            return DirectRun(out_dir, report, issued_tokens(sim), sent, received)

    with logging_restored():
        return asyncio.run(run())
