"""`pa probe`: the command behind the CLI (registered in `cli.py`)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from platform_adapter.config import ConfigError, load_credentials, load_settings
from platform_adapter.probe.runner import run_probe
from platform_adapter.probe.steps.context import ProbeOptions
from platform_adapter.probe.target import ProbeRefused, resolve_target
from platform_adapter.telemetry import configure_logging, redactor


def default_out_dir() -> Path:
    """`artifacts/probe/<UTC time>/`."""
    return Path("artifacts/probe") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def probe_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML config (heartbeat/timeouts; not the endpoints).")
    ] = None,
    environment: Annotated[str, typer.Option(help="demo (default) or live; live also needs --force-live.")] = "demo",
    rest_url: Annotated[str | None, typer.Option(help="Override the REST base URL (e.g. the simulator's).")] = None,
    trading_ws_url: Annotated[str | None, typer.Option(help="Override the trading socket URL.")] = None,
    md_ws_url: Annotated[str | None, typer.Option(help="Override the market-data socket URL.")] = None,
    symbol: Annotated[
        str | None, typer.Option(help="Contract to probe (default: the first configured instrument).")
    ] = None,
    duration: Annotated[float, typer.Option(help="Hard bound on the whole run, seconds.")] = 180.0,
    window: Annotated[float, typer.Option(help="Each observation window, seconds.")] = 10.0,
    close_wait: Annotated[float, typer.Option(help="P2: longest wait for the server to close a silent socket.")] = 60.0,
    out: Annotated[Path | None, typer.Option(help="Output directory (default artifacts/probe/<UTC time>).")] = None,
    allow_orders: Annotated[
        bool, typer.Option(help="P7: place one far-off 1-lot limit order and cancel it (demo only).")
    ] = False,
    allow_fill: Annotated[
        bool,
        typer.Option(
            help="P7: also buy 1 at market and liquidate it at once, to see one fill's event order (demo only; "
            "implies --allow-orders)."
        ),
    ] = False,
    force_live: Annotated[bool, typer.Option(help="Run the read-only steps against a live/unrecognised host.")] = False,
) -> None:
    """Record a Tradovate demo session, answer the discovery questions P1-P9 and say which simulator variant the
    account showed for each open question (needs your demo credentials)."""
    warnings: list[str] = []
    try:
        settings = load_settings(config)
        credentials = load_credentials(policy=settings.secrets_permissions, warnings=warnings)
        target = resolve_target(environment, rest_url=rest_url, trading_ws_url=trading_ws_url, md_ws_url=md_ws_url)
    except (ConfigError, ProbeRefused) as exc:
        typer.echo(f"pa probe: {exc}", err=True)
        raise typer.Exit(2) from None
    for warning in warnings:
        typer.echo(f"pa probe: warning: {warning}", err=True)
    out_dir = out or default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    redactor().add(credentials.secret_values())
    configure_logging(level="WARNING", log_dir=out_dir, secrets=credentials.secret_values(), stream=sys.stderr)
    options = ProbeOptions(
        symbol=symbol or (settings.instruments[0].symbol if settings.instruments else ProbeOptions.symbol),
        duration_s=duration,
        window_s=window,
        close_wait_s=close_wait,
        quiet_s=min(ProbeOptions.quiet_s, window),  # P6: a split snapshot's parts come within this
        heartbeat_s=settings.heartbeat.client_interval_s,
        allow_orders=allow_orders or allow_fill,
        allow_fill=allow_fill,
        force_live=force_live,
    )
    console = Console(width=160, highlight=False)
    console.print(f"pa probe: {target.describe()}; output in {out_dir}")
    try:
        report = asyncio.run(run_probe(settings, credentials, target, options, out_dir))
    except ProbeRefused as exc:
        typer.echo(f"pa probe: {exc}", err=True)
        raise typer.Exit(2) from None
    report.render(console)
    console.print(f"capture: {report.capture_path}   findings: {out_dir / 'findings.md'}, {out_dir / 'findings.json'}")
    if report.stopped_early and any(f.step == "P1" and f.verdict.value == "failed" for f in report.findings):
        raise typer.Exit(1)
