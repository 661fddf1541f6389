"""`pa soak --crash`: crash seeds with a progress bar, a summary table, a JSON report, non-zero exit on a violation."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pa_harness.soak.crash import CrashConfig, CrashResult, run_crash_soak, takeover_summary
from pa_harness.soak.crash_plan import CrashMode
from platform_adapter.telemetry import configure_logging

DEFAULT_OUT = Path("artifacts/soak-crash")


def summarize_crash(results: Sequence[CrashResult], wall_s: float) -> dict[str, Any]:
    """Totals over crash seeds (what the summary table and docs/reliability.md show)."""
    kills: Counter[str] = Counter()
    intents: Counter[str] = Counter()
    for result in results:
        kills.update(result.kills)
        intents.update(result.intents)
    return {
        "seeds": len(results),
        "modes": dict(Counter(r.mode for r in results)),
        "failed_seeds": [r.seed for r in results if not r.ok],
        "violations": sum(len(r.violations) for r in results),
        "kills": dict(sorted(kills.items())),
        "kills_total": sum(n for point, n in kills.items() if point != "unfired"),
        "restarts": sum(r.restarts for r in results),
        "takeovers": takeover_summary(results),
        "runs": sum(r.runs for r in results),
        "orders": sum(r.orders for r in results),
        "intents": dict(sorted(intents.items())),
        "resent": sum(r.resent for r in results),
        "unresolved": sum(len(r.unresolved) for r in results),
        "sent": sum(r.sent for r in results),
        "delivered": sum(r.delivered for r in results),
        "missed_in_gaps": sum(r.missed_in_gaps for r in results),
        "gap_facts": sum(r.gap_facts for r in results),
        "restart_gaps": sum(r.restart_gaps for r in results),
        "holes": sum(r.holes for r in results),
        "fenced": sum(r.fenced for r in results),
        "wall_s": round(wall_s, 1),
    }


def _table(summary: dict[str, Any]) -> Table:
    table = Table(title="pa soak --crash", show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    takeovers = summary["takeovers"]
    rows = [
        ("seeds run (modes)", f"{summary['seeds']} ({', '.join(f'{k} {v}' for k, v in summary['modes'].items())})"),
        ("seeds with violations", len(summary["failed_seeds"])),
        ("violations", summary["violations"]),
        ("kills (SIGKILL) by point", ", ".join(f"{k} {v}" for k, v in summary["kills"].items())),
        ("restarts", summary["restarts"]),
        (
            "takeovers: count, median / p95 / max",
            f"{takeovers.get('count', 0)}, {takeovers.get('median_s', '-')} / {takeovers.get('p95_s', '-')} / "
            f"{takeovers.get('max_s', '-')} s",
        ),
        ("PA runs that held the lease", summary["runs"]),
        ("placeorder requests at the simulator (none twice)", summary["orders"]),
        ("OE intents by first answer", ", ".join(f"{k} {v}" for k, v in summary["intents"].items())),
        ("re-sent at the end (outcome unknown), unresolved", f"{summary['resent']}, {summary['unresolved']}"),
        ("messages the simulator sent (md + trading)", summary["sent"]),
        ("delivered to U byte-exact, in order", summary["delivered"]),
        ("missed, all inside a reported gap", summary["missed_in_gaps"]),
        ("gap facts (pa_restart)", f"{summary['gap_facts']} ({summary['restart_gaps']})"),
        ("U delivery holes / fenced facts", f"{summary['holes']} / {summary['fenced']}"),
        ("wall time", f"{summary['wall_s']:.1f} s"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


def crash_main(
    seeds: int = 10,
    seed: int | None = None,
    *,
    mode: CrashMode | None = None,
    config: CrashConfig | None = None,
    out: Path | None = None,
    console: Console | None = None,
) -> int:
    """Run crash seeds 1..N (or exactly `seed`), print a summary, write `out/crash.json`; 1 on any violation."""
    out_dir = out or DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    console = console or Console(highlight=False)
    config = replace(config or CrashConfig(), mode=mode, keep_dir=out_dir / "failed")
    chosen = [seed] if seed is not None else list(range(1, max(1, seeds) + 1))
    results: list[CrashResult] = []
    started = time.perf_counter()
    with open(out_dir / "stderr.log", "w", encoding="utf-8") as log_stream:
        configure_logging(level="WARNING", log_dir=out_dir, stream=log_stream)
        columns = (
            TextColumn("[bold]crash soak[/bold] seed {task.fields[seed]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("violations {task.fields[bad]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("crash", total=len(chosen), seed="-", bad=0)
            for current in chosen:
                progress.update(task, seed=current)
                result = run_crash_soak(current, config)
                results.append(result)
                if not result.ok:
                    console.print(f"[red]violation[/red] {result.reason}")
                progress.update(task, advance=1, bad=sum(not r.ok for r in results))
        configure_logging(level="WARNING")
    summary = summarize_crash(results, time.perf_counter() - started)
    console.print(_table(summary))
    report = {
        "config": {k: str(v) for k, v in asdict(config).items()},
        "summary": summary,
        "results": [{k: v for k, v in asdict(r).items() if k != "evidence"} | {"reason": r.reason} for r in results],
    }
    (out_dir / "crash.json").write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    failed = summary["failed_seeds"]
    if failed:
        console.print(f"[red]{len(failed)} seed(s) violated an invariant[/red]: {failed}")
        console.print(f"reproduce one: pa soak --crash --seed {failed[0]}; its logs: {out_dir / 'failed'}")
        return 1
    console.print(f"[green]no violation in {len(results)} crash seeds[/green]; report: {out_dir / 'crash.json'}")
    return 0
