"""Evidence of acceptance runs: what each PA run inside a test did, read from the PA's own state.

`EvidenceRecorder.instrument()` wraps `PlatformAdapter` for the duration of an acceptance run (and only
there): each adapter built gets a `FactTap` on its fact sink, and each `run()` samples the outbox and the
last health signal published to OE, every few milliseconds of wall time and every few facts put (a test
that keeps the event loop busy would starve a timer alone). When the run ends, the recorder keeps the
PA's counters, the health signals it published to OE, and the samples. The tests themselves are not
changed: they run exactly as `pytest tests/integration` runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from platform_adapter.core.adapter import PlatformAdapter
from platform_adapter.mic import FactEnvelope, HealthSignal
from platform_adapter.operator.snapshot import describe_intent, describe_platform_ids
from platform_adapter.operator.tap import FactTap
from platform_adapter.tradovate.platform import TradovatePlatform

SAMPLE_PERIOD_S = 0.004
SAMPLE_EVERY_FACTS = 8
MAX_SAMPLES = 20_000


@dataclass
class Sample:
    """One reading of a running PA."""

    t_ms: float  # wall milliseconds since the run started
    received: int
    delivered: int
    depth: int
    state: str
    halt: bool


@dataclass
class HealthChange:
    """One health signal the PA published to OE that changed state, reasons or halt."""

    t_s: float  # PA-clock seconds since the run's first signal
    state: str
    reasons: list[str]
    halt: bool
    detail: str


@dataclass
class IntentEvidence:
    """One intent the PA answered."""

    intent_id: str
    what: str
    status: str
    reason: str
    platform_ids: str
    latency_ms: float


@dataclass
class RunEvidence:
    """One PA run (one `PlatformAdapter.run`) inside a test."""

    health: list[HealthChange] = field(default_factory=list)
    health_truncated: bool = False
    sockets: dict[str, dict[str, int]] = field(default_factory=dict)  # role -> epoch / reconnects / frames
    facts_received: int = 0
    facts_delivered: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_stream: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    undecodable: int = 0
    backfill_by_stream: dict[str, int] = field(default_factory=dict)
    capacity: int = 0
    low_watermark: int = 0
    high_watermark: int = 0
    peak_depth: int = 0
    escalation_depth: int | None = None
    high_watermark_crossings: int = 0
    reader_pauses: int = 0
    telemetry_received: int = 0
    telemetry_delivered: int = 0
    telemetry_shed: int = 0
    penalties: int = 0
    lockouts: int = 0
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    intents: list[IntentEvidence] = field(default_factory=list)
    resolved: list[list[str]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)


@dataclass
class TestEvidence:
    """One test: outcome, duration, and the PA runs it made."""

    __test__ = False  # not a pytest test class, despite its name

    nodeid: str
    name: str  # the test function's name, without parameters
    file: str
    outcome: str = "not run"  # passed | failed | error | skipped | not run
    duration_s: float = 0.0
    message: str = ""
    runs: list[RunEvidence] = field(default_factory=list)
    sim_seeds: list[int] = field(default_factory=list)


class EvidenceRecorder:
    """Collects `RunEvidence` for whichever test is current."""

    def __init__(self, *, sample_period_s: float = SAMPLE_PERIOD_S) -> None:
        self.current: TestEvidence | None = None
        self._sample_period_s = sample_period_s
        self._taps: dict[int, FactTap] = {}

    @contextlib.contextmanager
    def instrument(self) -> Iterator[None]:
        """Wrap `PlatformAdapter` (tap + sampler) and note the simulator's seed, until the block ends."""
        from tradovate_sim import TradovateSim

        original_init = PlatformAdapter.__init__
        original_run = PlatformAdapter.run
        original_sim_init = TradovateSim.__init__
        signature = inspect.signature(original_init)
        recorder = self

        @functools.wraps(original_init)
        def init(adapter: PlatformAdapter, *args: Any, **kwargs: Any) -> None:
            bound = signature.bind(adapter, *args, **kwargs)
            tap = FactTap()
            bound.arguments["facts"] = tap.wrap(bound.arguments["facts"], bound.arguments["clock"])
            original_init(*bound.args, **bound.kwargs)
            recorder._taps[id(adapter)] = tap

        @functools.wraps(original_run)
        async def run(adapter: PlatformAdapter) -> None:
            evidence = RunEvidence()
            take = _Sampler(adapter, evidence)
            outbox = adapter.outbox
            put = outbox.put

            def sampled_put(envelope: FactEnvelope) -> None:
                put(envelope)
                if outbox.counters.received % SAMPLE_EVERY_FACTS == 0:
                    take()

            setattr(outbox, "put", sampled_put)  # noqa: B010 - this instance only, for this run only
            ticker = asyncio.create_task(recorder._tick(take), name="acceptance-sampler")
            try:
                await original_run(adapter)
            finally:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
                take()
                del outbox.put
                recorder._finish(adapter, evidence)

        @functools.wraps(original_sim_init)
        def sim_init(sim: TradovateSim, *args: Any, **kwargs: Any) -> None:
            original_sim_init(sim, *args, **kwargs)
            if recorder.current is not None:
                recorder.current.sim_seeds.append(sim.config.seed)

        patches: list[tuple[type, str, object]] = [
            (PlatformAdapter, "__init__", init),
            (PlatformAdapter, "run", run),
            (TradovateSim, "__init__", sim_init),
        ]
        originals = [(cls, name, cls.__dict__[name]) for cls, name, _ in patches]
        for cls, name, replacement in patches:
            setattr(cls, name, replacement)
        try:
            yield
        finally:
            for cls, name, original in originals:
                setattr(cls, name, original)

    async def _tick(self, take: _Sampler) -> None:
        while True:
            take()
            await asyncio.sleep(self._sample_period_s)  # a wall-clock sampler, not test timing

    def _finish(self, adapter: PlatformAdapter, evidence: RunEvidence) -> None:
        tap = self._taps.pop(id(adapter), None)
        fill_run_evidence(evidence, adapter, tap)
        if self.current is not None:
            self.current.runs.append(evidence)


class _Sampler:
    """Takes one `Sample` of a running PA: outbox counters and the last health signal OE received."""

    def __init__(self, adapter: PlatformAdapter, evidence: RunEvidence) -> None:
        self._adapter = adapter
        self._samples = evidence.samples
        self._loop = asyncio.get_running_loop()
        self._start = self._loop.time()

    def __call__(self) -> None:
        if len(self._samples) >= MAX_SAMPLES:
            return
        outbox, health = self._adapter.outbox, self._adapter.health
        signal = health.published[-1] if health.published else health.current
        self._samples.append(
            Sample(
                t_ms=(self._loop.time() - self._start) * 1000,
                received=outbox.counters.received,
                delivered=outbox.counters.delivered,
                depth=outbox.depth,
                state=signal.state.value,
                halt=signal.halt_required,
            )
        )


def fill_run_evidence(evidence: RunEvidence, adapter: PlatformAdapter, tap: FactTap | None) -> None:
    """Read a (finished or running) PA into `evidence`."""
    published = list(adapter.health.published)
    evidence.health_truncated = len(published) == adapter.health.published.maxlen
    evidence.health = health_changes(published)
    counters = adapter.outbox.counters
    evidence.facts_received = counters.received
    evidence.facts_delivered = counters.delivered
    evidence.by_kind = dict(counters.by_kind)
    evidence.capacity = adapter.outbox.capacity
    evidence.low_watermark, evidence.high_watermark = adapter.outbox.watermarks
    evidence.peak_depth = counters.peak_depth
    evidence.escalation_depth = counters.escalation_depth
    evidence.high_watermark_crossings = counters.high_watermark_crossings
    evidence.reader_pauses = counters.reader_pauses
    evidence.telemetry_received = counters.telemetry_received
    evidence.telemetry_delivered = counters.telemetry_delivered
    evidence.telemetry_shed = counters.telemetry_shed
    evidence.intents = [
        IntentEvidence(
            intent_id=intent.intent_id,
            what=describe_intent(intent),
            status=ack.status.value,
            reason=ack.reason.value if ack.reason is not None else "",
            platform_ids=describe_platform_ids(ack),
            latency_ms=max(0, ack.acked_ts - ack.received_ts) / 1e6,
        )
        for intent, ack in adapter.intents.recent
    ]
    evidence.resolved = [[intent_id, detail] for intent_id, detail in adapter.intents.ledger.resolved]
    if tap is not None:
        evidence.backfill_by_stream = dict(tap.backfill_by_stream)
    platform = adapter.platform
    if isinstance(platform, TradovatePlatform):
        for link in platform.links.values():
            evidence.sockets[link.socket.role.value] = {
                "epoch": link.socket.epoch,
                "reconnects": link.reconnects,
                "frames": link.socket.frames,
            }
        if platform.builder is not None:
            evidence.by_stream = {str(k): v for k, v in platform.builder.counters.by_stream.items()}
            evidence.gaps = platform.builder.counters.gaps
            evidence.undecodable = platform.builder.counters.undecodable
        if platform.market_data is not None:
            evidence.subscriptions = {k: list(v) for k, v in platform.market_data.subscriptions.items()}
        evidence.penalties = platform.budget.penalties
        evidence.lockouts = platform.budget.lockouts


def health_changes(published: Sequence[HealthSignal]) -> list[HealthChange]:
    """The published signals that changed state, reasons or halt (periodic re-publications dropped)."""
    changes: list[HealthChange] = []
    previous: tuple[object, ...] | None = None
    t0 = published[0].ts if published else 0
    for signal in published:
        key = (signal.state, signal.reasons, signal.halt_required)
        if key == previous:
            continue
        previous = key
        changes.append(
            HealthChange(
                t_s=(signal.ts - t0) / 1e9,
                state=signal.state.value,
                reasons=[r.value for r in signal.reasons],
                halt=signal.halt_required,
                detail=signal.detail,
            )
        )
    return changes


ProgressCallback = Callable[[TestEvidence, int, int], None]
"""Called after each test with (its evidence, tests done, tests collected)."""
