"""`pa soak`: many seeds with a progress bar, a summary table, a JSON report, and a non-zero exit on any violation."""

from __future__ import annotations

import json
import resource
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pa_harness.soak.runner import SoakConfig, SoakResult, run_soak
from platform_adapter.telemetry import configure_logging

DEFAULT_STEPS = 1000
DEFAULT_OUT = Path("artifacts/soak")


def _seeds(seeds: int, seed: int | None, duration_s: float | None) -> Iterator[int]:
    """Which seeds to run: `--seed S` reproduces exactly seed S; `--seeds N` runs seeds 1..N; `--duration D`
    runs consecutive seeds from S (or 1) until D seconds have passed (at least one)."""
    if duration_s is not None:
        deadline = time.monotonic() + duration_s
        current = seed if seed is not None else 1
        while True:
            yield current
            current += 1
            if time.monotonic() >= deadline:
                return
    if seed is not None:
        yield seed
        return
    yield from range(1, max(1, seeds) + 1)


def summarize(results: Sequence[SoakResult], wall_s: float) -> dict[str, Any]:
    """Totals over a set of seeds (what the summary table and docs/reliability.md show)."""
    faults: Counter[str] = Counter()
    intents: Counter[str] = Counter()
    for result in results:
        faults.update(result.faults)
        intents.update(result.intents)
    return {
        "seeds": len(results),
        "failed_seeds": [r.seed for r in results if not r.ok],
        "violations": sum(len(r.violations) for r in results),
        "steps": sum(r.steps for r in results),
        "faults": dict(sorted(faults.items())),
        "faults_total": sum(faults.values()),
        "sent": sum(r.sent for r in results),
        "facts": sum(r.facts for r in results),
        "delivered": sum(r.delivered for r in results),
        "missed_in_gaps": sum(r.missed_in_gaps for r in results),
        "gaps": sum(r.gaps for r in results),
        "connection_gaps": sum(r.connection_gaps for r in results),
        "reconnects": sum(r.reconnects for r in results),
        "stalls": sum(r.stalls for r in results),
        "stalls_escalated": sum(r.stalls_escalated for r in results),
        "max_stall_s": max((r.max_stall_s for r in results), default=0.0),
        "peak_depth": max((r.peak_depth for r in results), default=0),
        "depth_bound": max((r.depth_bound for r in results), default=0),
        "capacity": max((r.capacity for r in results), default=0),
        "peak_rss_growth_mb": max((r.peak_rss_mb for r in results), default=0.0),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "intents": dict(sorted(intents.items())),
        "unresolved_unknown": sum(len(r.unresolved) for r in results),
        "lockouts": sum(r.lockouts for r in results),
        "telemetry_shed": sum(r.telemetry_shed for r in results),
        "wall_s": round(wall_s, 1),
    }


def _table(summary: dict[str, Any]) -> Table:
    table = Table(title="pa soak", show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("seeds run", summary["seeds"]),
        ("seeds with violations", len(summary["failed_seeds"])),
        ("violations", summary["violations"]),
        ("market steps", summary["steps"]),
        ("faults injected", summary["faults_total"]),
        ("messages sent (md + trading)", summary["sent"]),
        ("facts stored by U", summary["facts"]),
        ("delivered byte-exact, in order", summary["delivered"]),
        ("missed inside reported gaps", summary["missed_in_gaps"]),
        ("gap facts (connection gaps)", f"{summary['gaps']} ({summary['connection_gaps']})"),
        ("reconnects", summary["reconnects"]),
        ("U stalls (escalated)", f"{summary['stalls']} ({summary['stalls_escalated']})"),
        ("longest stall", f"{summary['max_stall_s']:.1f} s"),
        ("peak outbox depth / capacity", f"{summary['peak_depth']} / {summary['capacity']}"),
        (
            "peak memory (RSS; max growth per seed)",
            f"{summary['peak_rss_mb']:.0f} MiB; {summary['peak_rss_growth_mb']:.1f} MiB",
        ),
        ("intents by outcome", ", ".join(f"{k} {v}" for k, v in summary["intents"].items())),
        ("unknown acks left unresolved (listed)", summary["unresolved_unknown"]),
        ("429 lock-outs", summary["lockouts"]),
        ("wall time", f"{summary['wall_s']:.1f} s"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


def _faults_table(summary: dict[str, Any]) -> Table:
    table = Table(title="faults by kind", header_style="bold")
    table.add_column("fault")
    table.add_column("count", justify="right")
    for kind, count in summary["faults"].items():
        table.add_row(kind, str(count))
    return table


def _as_json(result: SoakResult) -> dict[str, Any]:
    data = asdict(result)
    data.pop("evidence", None)
    data["reason"] = result.reason
    return data


def soak_main(
    seeds: int = 30,
    seed: int | None = None,
    duration_s: float | None = None,
    steps: int = DEFAULT_STEPS,
    out: Path | None = None,
    *,
    config: SoakConfig | None = None,
    console: Console | None = None,
) -> int:
    """Run the soak over seeds (see `_seeds`), print a summary table, write `out/soak.json`; 1 on any violation."""
    out_dir = out or DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    console = console or Console(highlight=False)
    results: list[SoakResult] = []
    started = time.perf_counter()
    with open(out_dir / "stderr.log", "w", encoding="utf-8") as log_stream:
        configure_logging(level="WARNING", log_dir=out_dir, stream=log_stream)
        total = None if duration_s is not None else (1 if seed is not None else max(1, seeds))
        columns = (
            TextColumn("[bold]soak[/bold] seed {task.fields[seed]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("violations {task.fields[bad]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("soak", total=total, seed="-", bad=0)
            for current in _seeds(seeds, seed, duration_s):
                progress.update(task, seed=current)
                result = run_soak(current, steps=steps, config=config)
                results.append(result)
                if not result.ok:
                    console.print(f"[red]violation[/red] {result.reason}")
                progress.update(task, advance=1, bad=sum(not r.ok for r in results))
        configure_logging(level="WARNING")  # the log file closes here: later records go to stderr
    wall_s = time.perf_counter() - started
    summary = summarize(results, wall_s)
    console.print(_table(summary))
    console.print(_faults_table(summary))
    report = {"steps_per_seed": steps, "summary": summary, "results": [_as_json(r) for r in results]}
    (out_dir / "soak.json").write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    failed = summary["failed_seeds"]
    if failed:
        console.print(f"[red]{len(failed)} seed(s) violated the invariant[/red]: {failed}")
        console.print(f"reproduce one: pa soak --seed {failed[0]} --steps {steps}")
        return 1
    console.print(f"[green]no violation in {len(results)} seeds[/green]; report: {out_dir / 'soak.json'}")
    return 0
