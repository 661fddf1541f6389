"""The `pa` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from platform_adapter import __version__, plugins
from platform_adapter.config import (
    MASK,
    SECRET_NAMES,
    ConfigError,
    Credentials,
    Mode,
    Settings,
    load_credentials,
    load_settings,
    shown,
)
from platform_adapter.telemetry import redactor

app = typer.Typer(
    name="pa",
    help="Platform Adapter (PA) for Tradovate: platform facts to U, OE intents to Tradovate, fail closed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file (default: PA_CONFIG, else the embedded demo).")
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pa {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Platform Adapter (PA) for Tradovate."""


def load_or_exit(config: Path | None) -> tuple[Settings, Credentials]:
    """Load settings and credentials, or print the one clear error and exit 2; warnings go to stderr."""
    warnings: list[str] = []
    try:
        settings = load_settings(config)
        credentials = load_credentials(policy=settings.secrets_permissions, warnings=warnings)
    except ConfigError as exc:
        typer.echo(f"pa: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    for warning in warnings:
        typer.echo(f"pa: warning: {warning}", err=True)
    redactor().add(credentials.secret_values())
    return settings, credentials


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective configuration as JSON, with every secret redacted."""
    settings, credentials = load_or_exit(config)
    effective = {
        "settings": shown(settings),
        "endpoints": dict(zip(("rest", "trading_ws", "md_ws"), settings.endpoints(), strict=True)),
        "credentials": {
            name: (MASK if value is not None else None) if name in SECRET_NAMES else value
            for name, value in credentials.model_dump().items()
        },
    }
    typer.echo(redactor().redact_text(json.dumps(effective, indent=2, default=str)))


def refuse_replay(settings: Settings) -> None:
    """REPLAY mode disables the PA (spec 3.1): say so and exit non-zero."""
    if settings.mode is Mode.REPLAY:
        typer.echo(
            "pa: mode is REPLAY: the PA is disabled in REPLAY (spec 3.1); set mode to LIVE or SIM to run it",
            err=True,
        )
        raise typer.Exit(3)


@app.command()
def run(
    config: ConfigOption = None,
    no_tui: Annotated[bool, typer.Option("--no-tui", help="Plain JSON logs instead of the live view.")] = False,
    transport: Annotated[str | None, typer.Option(help="Override the transport: inproc or nats://...")] = None,
) -> None:
    """Run the PA against the configured Tradovate environment."""
    settings, credentials = load_or_exit(config)
    refuse_replay(settings)
    from platform_adapter.composition import run_pa

    sys.exit(run_pa(settings, credentials, tui=not no_tui and sys.stdout.isatty(), transport=transport))


from platform_adapter.probe.command import probe_command  # noqa: E402 - registered in command order

app.command(
    "probe",
    help="Record a Tradovate demo session and answer the discovery questions P1-P9 (needs your demo credentials).",
)(probe_command)


from platform_adapter.transport.nats.command import nats_app  # noqa: E402 - registered in command order

app.add_typer(nats_app, name="nats")


for register in plugins.command_registrars():  # the harness's demo, sim, acceptance, soak, bench, audit
    register(app)
