"""The `pa` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from platform_adapter import __version__
from platform_adapter.config import ConfigError, Credentials, Mode, Settings, load_credentials, load_settings
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
    """Load settings and credentials, or print the one clear error and exit 2."""
    try:
        settings = load_settings(config)
        credentials = load_credentials()
    except ConfigError as exc:
        typer.echo(f"pa: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    redactor().add(credentials.secret_values())
    return settings, credentials


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective configuration as JSON, with every secret redacted."""
    settings, credentials = load_or_exit(config)
    effective = {
        "settings": json.loads(settings.model_dump_json()),
        "endpoints": dict(zip(("rest", "trading_ws", "md_ws"), settings.endpoints(), strict=True)),
        "credentials": {
            name: ("**********" if value is not None else None) if name in {"password", "cid", "sec"} else value
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
    from platform_adapter.app import run_pa

    sys.exit(run_pa(settings, credentials, tui=not no_tui and sys.stdout.isatty(), transport=transport))


@app.command()
def demo(
    config: ConfigOption = None,
    no_tui: Annotated[bool, typer.Option("--no-tui", help="Plain output instead of the live view.")] = False,
    duration: Annotated[
        float, typer.Option(help="Seconds to keep market data flowing after the order round trip.")
    ] = 20.0,
) -> None:
    """Run the PA end to end on the built-in simulator with the reference U / Paper / OE, in one process."""
    settings, credentials = load_or_exit(config)
    refuse_replay(settings)
    from platform_adapter.app import run_demo

    sys.exit(run_demo(settings, credentials, tui=not no_tui and sys.stdout.isatty(), duration_s=duration))


def _not_yet(what: str, issue: int) -> None:
    typer.echo(f"pa: {what} is not built yet (tracker issue {issue})", err=True)
    raise typer.Exit(2)


from platform_adapter.probe.command import probe_command  # noqa: E402 - registered in command order

app.command(
    "probe",
    help="Record a Tradovate demo session and answer the discovery questions P1-P9 (needs your demo credentials).",
)(probe_command)


@app.command("demo-distributed")
def demo_distributed(
    config: ConfigOption = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 90.0,
) -> None:
    """Run nats-server, simulator, PA and reference U / Paper / OE as separate processes, with an order round trip."""
    settings, _ = load_or_exit(config)
    refuse_replay(settings)
    from platform_adapter.transport.nats.reference.demo import run_demo_distributed

    sys.exit(run_demo_distributed(settings, config_path=config, timeout_s=timeout))


@app.command()
def bench(
    quick: Annotated[bool, typer.Option(help="Reduced sizes: about 30 s instead of 2-3 min.")] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Run only these: decode, socket, command, reconnect, nats, memory (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Markdown file whose generated block is rewritten.")] = Path(
        "docs/performance.md"
    ),
) -> None:
    """Run the benchmark suite (every figure against a baseline of the same run) and write docs/performance.md."""
    from platform_adapter.bench import run_bench

    raise typer.Exit(run_bench(quick=quick, only=only, out=out))


@app.command()
def acceptance(
    out: Annotated[Path, typer.Option(help="Directory for report.html / report.md.")] = Path("artifacts/acceptance"),
    select: Annotated[
        str | None, typer.Option("--select", "-k", help="Only tests matching this pytest -k expression.")
    ] = None,
    tests: Annotated[
        Path | None, typer.Option(help="The acceptance tests (default: tests/integration of the tree).")
    ] = None,
) -> None:
    """Run acceptance tests A-E against the simulator and write artifacts/acceptance/report.html."""
    from rich.console import Console

    from platform_adapter.acceptance import AcceptanceSetupError, run_acceptance

    try:
        code = run_acceptance(out_dir=out, console=Console(file=sys.stdout), tests_dir=tests, select=select)
    except AcceptanceSetupError as exc:
        typer.echo(f"pa: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(code)


@app.command()
def soak(
    seeds: Annotated[int, typer.Option(help="Run seeds 1..N.")] = 30,
    seed: Annotated[int | None, typer.Option(help="Run exactly this seed (reproduce a failure).")] = None,
    duration: Annotated[float | None, typer.Option(help="Run consecutive seeds for this many seconds.")] = None,
    steps: Annotated[int, typer.Option(help="Market steps per seed (a reproduction needs the same value).")] = 1000,
    out: Annotated[
        Path | None, typer.Option(help="Directory for soak.json and warnings (default artifacts/soak).")
    ] = None,
) -> None:
    """Run the seeded fault soak and check that no platform fact was silently lost."""
    from platform_adapter.soak.command import soak_main

    raise typer.Exit(soak_main(seeds=seeds, seed=seed, duration_s=duration, steps=steps, out=out))


@app.command()
def audit(
    intent_id: Annotated[str, typer.Argument(help="The OE intent id to trace.")],
    db: Annotated[Path, typer.Option(help="U's SQLite database.")] = Path("artifacts/demo/u.sqlite"),
) -> None:
    """Show one intent's audit trail: intent -> receipt-ack -> platform ids -> execution facts (from U's store)."""
    from platform_adapter.reference import IntentNotFound, audit_trail, render_audit

    if not db.is_file():
        typer.echo(f"pa: no database at {db} (run `pa demo` first, or pass --db)", err=True)
        raise typer.Exit(2)
    try:
        typer.echo(render_audit(audit_trail(db, intent_id)))
    except IntentNotFound as exc:
        typer.echo(f"pa: {exc}", err=True)
        raise typer.Exit(1) from None


try:
    from platform_adapter.sim.command import sim_command
except ImportError:  # the simulator package is optional at import time only while it is being built

    @app.command()
    def sim() -> None:
        """Serve the built-in Tradovate simulator on 127.0.0.1."""
        _not_yet("pa sim", 3)

else:
    app.command("sim", help="Serve the built-in Tradovate simulator on 127.0.0.1.")(sim_command)
