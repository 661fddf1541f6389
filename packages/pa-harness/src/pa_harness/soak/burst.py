"""Memory under a burst: U stalled while the platform sends `multiplier` x the outbox capacity.

The outbox holds at most its capacity (plus one frame per socket): at capacity the PA stops reading and TCP
pushes back, so what the PA holds must not grow with the burst. tracemalloc measures the memory held by
allocations made in the PA's own modules (core, tradovate, mic, transport: the envelopes, payloads and
queues) and, for comparison, by the whole process (simulator and reference U included). After U resumes,
every fact must arrive (the delivery invariant of the soak).
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from dataclasses import dataclass

from pa_harness.soak.runner import SoakConfig, _SoakRun

PA_MODULES = (
    "*/platform_adapter/core/*",
    "*/platform_adapter/tradovate/*",
    "*/platform_adapter/mic/*",
    "*/platform_adapter/transport/*",
)


@dataclass(frozen=True)
class BurstResult:
    """Figures of one burst."""

    multiplier: int
    capacity: int
    messages_offered: int  # md messages the burst's market steps produced for the PA's subscriptions (estimate)
    messages_written: int  # of which the simulator got onto the socket before TCP pushed back
    peak_depth: int
    depth_bound: int
    reader_pauses: int
    escalated: bool
    pa_held_mb: float  # tracemalloc: memory held by PA-module allocations at the peak, above the baseline
    pa_held_per_fact_kb: float
    process_peak_mb: float  # tracemalloc peak of the whole process above the baseline
    delivered_ok: bool
    violations: tuple[str, ...]
    wall_s: float


def _pa_bytes(snapshot: tracemalloc.Snapshot) -> int:
    filters = [tracemalloc.Filter(True, pattern) for pattern in PA_MODULES]
    return sum(stat.size for stat in snapshot.filter_traces(filters).statistics("filename"))


class _BurstRun(_SoakRun):
    def __init__(self, multiplier: int, config: SoakConfig) -> None:
        super().__init__(seed=1, steps=0, config=config)
        self.multiplier = multiplier
        self.figures: dict[str, float] = {}

    async def _drive(self, pa: asyncio.Task[None]) -> None:
        sim, outbox, u = self.sim, self.stack.adapter.outbox, self.system.u
        capacity = self.config.capacity
        before = len(sim.sent_messages(kind="md"))
        await sim.step_market(20)  # how many md messages one step makes for this PA's subscriptions
        await self._until(lambda: outbox.depth == 0 and sim.sent_messages(kind="md"), "warm-up", 10.0)
        await self._advance(self.config.dt_s)
        per_step = max(1.0, (len(sim.sent_messages(kind="md")) - before) / 20)
        steps = int(self.multiplier * self.config.capacity / per_step) + 1
        tracemalloc.start()
        baseline_pa = _pa_bytes(tracemalloc.take_snapshot())
        baseline_total = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        written_before = len(sim.sent_messages(kind="md"))
        u.stall()
        for _ in range(steps):
            await sim.step_market(1)
            await self._settle()
        # The PA holds the most when the burst is over and the outbox is as full as it gets.
        await self._until(lambda: outbox.depth >= min(steps * per_step, capacity) - 60, "the outbox to fill", 10.0)
        peak_pa = _pa_bytes(tracemalloc.take_snapshot())
        process_peak = tracemalloc.get_traced_memory()[1] - baseline_total
        tracemalloc.stop()
        self.figures = {
            "offered": steps * per_step,
            "written": len(sim.sent_messages(kind="md")) - written_before,
            "pa_held": (peak_pa - baseline_pa) / 2**20,
            "process_peak": process_peak / 2**20,
        }
        u.resume()
        self.report = await self._finish()


async def measure_burst_async(multiplier: int = 10, capacity: int = 2000) -> BurstResult:
    """Run one burst of `multiplier` x `capacity` md messages against a stalled U."""
    started = time.perf_counter()
    run = _BurstRun(multiplier, SoakConfig(capacity=capacity, fact_queue_size=50))
    result = await run.run()
    figures = run.figures
    pa_held = figures.get("pa_held", 0.0)
    return BurstResult(
        multiplier=multiplier,
        capacity=capacity,
        messages_offered=int(figures.get("offered", 0)),
        messages_written=int(figures.get("written", 0)),
        peak_depth=result.peak_depth,
        depth_bound=result.depth_bound,
        reader_pauses=run.stack.adapter.outbox.counters.reader_pauses,
        escalated=run.stack.adapter.outbox.counters.high_watermark_crossings > 0,
        pa_held_mb=pa_held,
        pa_held_per_fact_kb=pa_held * 1024 / max(1, result.peak_depth),
        process_peak_mb=figures.get("process_peak", 0.0),
        delivered_ok=result.ok,
        violations=result.violations,
        wall_s=time.perf_counter() - started,
    )


def measure_burst(multiplier: int = 10, capacity: int = 2000) -> BurstResult:
    """`measure_burst_async` in its own event loop."""
    return asyncio.run(measure_burst_async(multiplier, capacity))
