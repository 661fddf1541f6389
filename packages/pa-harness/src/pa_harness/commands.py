"""The harness's `pa` commands: demo, demo-distributed, sim, acceptance, soak, bench, audit.

`register` is the `platform_adapter.commands` entry point: the product's CLI calls it at start when the
harness is installed, so these commands appear beside `pa run`, `pa config` and `pa probe`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from platform_adapter.cli import ConfigOption, load_or_exit, refuse_replay


def register(app: typer.Typer) -> None:
    """Add the harness's commands to the `pa` CLI."""
    app.command()(demo)
    app.command("demo-distributed")(demo_distributed)
    from tradovate_sim.command import sim_command

    app.command("sim", help="Serve the built-in Tradovate simulator on 127.0.0.1.")(sim_command)
    app.command()(acceptance)
    app.command()(soak)
    app.command()(bench)
    app.command()(audit)


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
    from pa_harness.demo import run_demo
    from platform_adapter.composition import config_problem

    try:
        code = run_demo(settings, credentials, tui=not no_tui and sys.stdout.isatty(), duration_s=duration)
    except (Exception, BaseExceptionGroup) as exc:  # a configuration problem only a run finds: one line, exit 2
        problem = config_problem(exc)
        if problem is None:
            raise
        typer.echo(f"pa: configuration error: {problem}", err=True)
        code = 2
    sys.exit(code)


def demo_distributed(
    config: ConfigOption = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 90.0,
    linger: Annotated[
        float, typer.Option(help="Keep the modules running this many seconds after the round trip.")
    ] = 0.0,
    out: Annotated[Path, typer.Option(help="Directory for the logs and databases.")] = Path(
        "artifacts/demo-distributed"
    ),
) -> None:
    """Run nats-server, simulator, PA and reference U / Paper / OE as separate processes, with an order round trip.

    SIGTERM or SIGINT stops every process (the PA gracefully) and exits 128 + the signal number.
    """
    settings, _ = load_or_exit(config)
    refuse_replay(settings)
    from pa_harness.distributed.demo import run_demo_distributed

    sys.exit(run_demo_distributed(settings, config_path=config, out_dir=out, timeout_s=timeout, linger_s=linger))


def bench(
    quick: Annotated[bool, typer.Option(help="Reduced sizes: about 1.5 min instead of 5.")] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            help="Run only these: decode, socket, command, reconnect, nats, memory, intent, facts, scale (repeatable)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Markdown file whose generated block is rewritten.")] = Path(
        "docs/performance.md"
    ),
    profile: Annotated[
        bool, typer.Option(help="Also sample the PA with py-spy in the deployed-path benchmarks (extra windows).")
    ] = False,
) -> None:
    """Run the benchmark suite (every figure against a baseline of the same run) and write docs/performance.md."""
    from pa_harness.bench import run_bench

    raise typer.Exit(run_bench(quick=quick, only=only, out=out, profile=profile))


def acceptance(
    out: Annotated[Path, typer.Option(help="Directory for report.html / report.md.")] = Path("artifacts/acceptance"),
    select: Annotated[
        str | None, typer.Option("--select", "-k", help="Only tests matching this pytest -k expression.")
    ] = None,
    tests: Annotated[
        Path | None, typer.Option(help="The acceptance tests (default: tests/integration of the tree).")
    ] = None,
    variants: Annotated[
        str | None,
        typer.Option(
            help="Run once per simulator variant set and write matrix.html: comma-separated `default`, `evidence`, "
            "`all` (each switch value alone), `sample:N[@SEED]` (N mixed sets; 4 cover every setting; no seed = "
            "from the commit) or specs such as `chart_history_id=historical+error_d=quoted_string`."
        ),
    ] = None,
) -> None:
    """Run acceptance tests A-E against the simulator and write artifacts/acceptance/report.html."""
    from rich.console import Console

    from pa_harness.acceptance import AcceptanceSetupError, run_acceptance
    from tradovate_sim.variants import VariantError

    console = Console(file=sys.stdout)
    try:
        if variants is not None:
            from pa_harness.acceptance.matrix import run_matrix

            code = run_matrix(spec=variants, out_dir=out, console=console, tests_dir=tests, select=select)
        else:
            code = run_acceptance(out_dir=out, console=console, tests_dir=tests, select=select)
    except (AcceptanceSetupError, VariantError) as exc:
        typer.echo(f"pa: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(code)


def soak(
    seeds: Annotated[int, typer.Option(help="Run seeds 1..N.")] = 30,
    seed: Annotated[int | None, typer.Option(help="Run exactly this seed (reproduce a failure).")] = None,
    duration: Annotated[float | None, typer.Option(help="Run consecutive seeds for this many seconds.")] = None,
    steps: Annotated[int, typer.Option(help="Market steps per seed (a reproduction needs the same value).")] = 1000,
    out: Annotated[
        Path | None,
        typer.Option(help="Directory for the report and warnings (default artifacts/soak, artifacts/soak-crash)."),
    ] = None,
    crash: Annotated[
        bool,
        typer.Option(
            "--crash",
            help="The crash soak: SIGKILL real `pa run --transport nats` processes at seeded points and restart them.",
        ),
    ] = False,
    crash_mode: Annotated[
        str | None,
        typer.Option(help="With --crash: restart (one instance) or fight (two on one lease); default by seed parity."),
    ] = None,
) -> None:
    """Run the seeded fault soak (or, with --crash, the crash soak) and check every invariant."""
    if crash:
        from pa_harness.soak.crash_command import crash_main
        from pa_harness.soak.crash_plan import CrashMode

        if crash_mode not in (None, "restart", "fight"):
            typer.echo(f"pa: --crash-mode must be restart or fight, not {crash_mode!r}", err=True)
            raise typer.Exit(2)
        modes: dict[str | None, CrashMode | None] = {"restart": "restart", "fight": "fight", None: None}
        raise typer.Exit(crash_main(seeds=seeds, seed=seed, mode=modes[crash_mode], out=out))
    from pa_harness.soak.command import soak_main

    raise typer.Exit(soak_main(seeds=seeds, seed=seed, duration_s=duration, steps=steps, out=out))


def audit(
    intent_id: Annotated[str, typer.Argument(help="The OE intent id to trace.")],
    db: Annotated[Path, typer.Option(help="U's SQLite database.")] = Path("artifacts/demo/u.sqlite"),
) -> None:
    """Show one intent's audit trail: intent -> receipt-ack -> platform ids -> execution facts (from U's store)."""
    from pa_harness.reference import IntentNotFound, audit_trail, render_audit

    if not db.is_file():
        typer.echo(f"pa: no database at {db} (run `pa demo` first, or pass --db)", err=True)
        raise typer.Exit(2)
    try:
        typer.echo(render_audit(audit_trail(db, intent_id)))
    except IntentNotFound as exc:
        typer.echo(f"pa: {exc}", err=True)
        raise typer.Exit(1) from None
