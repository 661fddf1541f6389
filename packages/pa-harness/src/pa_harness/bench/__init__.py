"""The benchmark suite (`pa bench`, `make bench`): PA figures against same-run baselines, into docs/performance.md.

Benchmarks, by name (`only=[...]`):

1. ``decode``    decode + forward throughput in process, vs msgspec's ceiling, a naive json forwarder and the routing floor
2. ``socket``    frames from a local WebSocket server (another process) through the PA to U: msg/s and
                 added latency (socket read → fact at U), vs a raw aiohttp + msgspec reader
3. ``command``   intent → receipt-ack against the simulator, vs the raw WS request/response
4. ``reconnect`` simulator accepting again → PA_UP with every subscription restored, vs a raw client
5. ``nats``      acked facts/s through the NATS transport vs raw JetStream `publish_async`
6. ``memory``    idle RSS of a running PA, and peak RSS under a 10x burst with a stalled consumer

Speed is checked here, never by timed unit tests. `run_bench` returns 0 when every target is met,
1 when a target is missed, 2 when a benchmark could not run.
"""

from __future__ import annotations

import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rich.console import Console

from .corpus import Corpus, build_corpus
from .logs import pa_logging
from .loop import loop_name
from .machine import describe_machine, load_average
from .report import generated_block, print_results, write_report
from .results import BenchResult, Row, Verdict

__all__ = ["BENCHMARKS", "BenchContext", "BenchResult", "Row", "Verdict", "run_bench"]


@dataclass
class BenchContext:
    """What every benchmark gets: the mode, the shared corpus, a scratch directory and the console."""

    quick: bool
    corpus: Corpus
    scratch: Path
    console: Console
    out_dir: Path  # where the report goes (a benchmark may write a figure beside it)
    profile: bool = False  # sample the PA process with py-spy in an extra window (deployed-path benchmarks)


def _decode(ctx: BenchContext) -> BenchResult:
    from .decode import bench_decode

    return bench_decode(ctx.corpus, quick=ctx.quick, profile=not ctx.quick)


def _socket(ctx: BenchContext) -> BenchResult:
    from .ingress import bench_socket

    return bench_socket(ctx.corpus, quick=ctx.quick)


def _command(ctx: BenchContext) -> BenchResult:
    from .command import bench_command

    return bench_command(quick=ctx.quick)


def _reconnect(ctx: BenchContext) -> BenchResult:
    from .reconnect import bench_reconnect

    return bench_reconnect(quick=ctx.quick)


def _nats(ctx: BenchContext) -> BenchResult:
    from .jetstream import bench_nats

    return bench_nats(ctx.corpus, ctx.scratch, quick=ctx.quick)


def _memory(ctx: BenchContext) -> BenchResult:
    from .memory import bench_memory

    return bench_memory(ctx.corpus, ctx.scratch, quick=ctx.quick)


def _intent(ctx: BenchContext) -> BenchResult:
    from .intent_nats import bench_intent

    return bench_intent(ctx.scratch, quick=ctx.quick, profile=ctx.profile)


def _facts(ctx: BenchContext) -> BenchResult:
    from .facts_nats import bench_facts

    return bench_facts(ctx.corpus, ctx.scratch, quick=ctx.quick, profile=ctx.profile)


def _scale(ctx: BenchContext) -> BenchResult:
    from .scale import bench_scale

    return bench_scale(ctx.scratch, ctx.out_dir, quick=ctx.quick, profile=ctx.profile)


BENCHMARKS: Final[dict[str, tuple[str, Callable[[BenchContext], BenchResult]]]] = {
    "decode": ("1. Decode + forward throughput", _decode),
    "socket": ("2. Over a socket: throughput and added latency", _socket),
    "command": ("3. Command path: intent → receipt-ack", _command),
    "reconnect": ("4. Reconnect to PA_UP", _reconnect),
    "nats": ("5. NATS acked facts", _nats),
    "memory": ("6. Memory: idle and under a stalled-consumer burst", _memory),
    "intent": ("7. Intent → receipt-ack over NATS", _intent),
    "facts": ("8. Fact latency through JetStream", _facts),
    "scale": ("9. Scale: cost per instrument", _scale),
}


def _command_line(quick: bool, only: list[str] | None, out: Path, profile: bool) -> str:
    parts = ["pa bench"]
    if quick:
        parts.append("--quick")
    if profile:
        parts.append("--profile")
    for name in only or ():
        parts += ["--only", name]
    if out != Path("docs/performance.md"):
        parts += ["--out", str(out)]
    return " ".join(parts)


def run_bench(
    *,
    quick: bool = False,
    only: list[str] | None = None,
    out: Path = Path("docs/performance.md"),
    profile: bool = False,
) -> int:
    """Run the benchmarks (all, or `only` these names), print the table and write it into `out`.

    `profile`: the deployed-path benchmarks also sample the PA process with py-spy, in windows of their own after
    the timed ones, and add where its time went to the report.
    """
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    unknown = sorted(set(only or ()) - set(BENCHMARKS))
    if unknown:
        console.print(f"[red]pa bench: unknown benchmark(s) {unknown}; known: {list(BENCHMARKS)}[/red]")
        return 2
    selected = [name for name in BENCHMARKS if not only or name in only]
    started = time.perf_counter()
    console.print(
        f"[bold]PA benchmarks[/bold] ({'quick' if quick else 'full'}): {', '.join(selected)} on {loop_name()}"
    )
    load_before = load_average()
    corpus = build_corpus()
    results: list[BenchResult] = []
    with tempfile.TemporaryDirectory(prefix="pa-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        with pa_logging(scratch / "logs"):
            ctx = BenchContext(quick, corpus, scratch, console, out.parent, profile)
            for name in selected:
                title, bench = BENCHMARKS[name]
                results.append(_run_one(ctx, name, title, bench))
    elapsed = time.perf_counter() - started
    print_results(console, results)
    machine = describe_machine(loop_name()).with_load(load_before)
    write_report(out, generated_block(results, machine, _command_line(quick, only, out, profile), elapsed))
    console.print(f"written to {out} in {elapsed:.0f} s")
    verdicts = {row.verdict for result in results for row in result.rows}
    if Verdict.ERROR in verdicts:
        return 2
    return 1 if Verdict.MISSED in verdicts else 0


def _run_one(ctx: BenchContext, name: str, title: str, bench: Callable[[BenchContext], BenchResult]) -> BenchResult:
    console = ctx.console
    began = time.perf_counter()
    with console.status(f"[bold]{title}[/bold] running…"):
        try:
            result = bench(ctx)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            console.print(f"[bold red]✗ {title}[/bold red]: {detail}")
            console.print(traceback.format_exc(), markup=False, highlight=False)
            result = BenchResult(name, title)
            result.rows.append(Row(name, "benchmark failed to run", None, "", verdict=Verdict.ERROR, note=detail))
            return result
    result.seconds = time.perf_counter() - began
    summary = "; ".join(f"{row.measure}: {row.verdict.value}" for row in result.rows if row.verdict is not Verdict.INFO)
    console.print(f"[green]✓[/green] {title} ({result.seconds:.1f} s){': ' + summary if summary else ''}")
    return result
