"""`run_soak`: one seeded fault soak of simulator + PA + reference U/Paper/OE on 127.0.0.1, and its verdict.

The PA runs on a `ManualClock` and the simulator's wall clock moves in lockstep with it: every market
step advances both by `dt_s`, so heartbeats, backoff, penalties and token expiry follow the soak's time,
not the machine's. Nothing waits on a real-time sleep for correctness: the soak yields to the event loop
so loopback I/O happens, and waits for conditions (drained, reconnected) with bounded timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pa_harness.reference import ReferenceSystem
from pa_harness.reference.oe import TradingHalted
from pa_harness.soak.delivery import (
    DeliveryEvidence,
    DeliveryReport,
    check_delivery,
    connection_records,
    stored_facts,
    verdict_line,
)
from pa_harness.soak.plan import ACCOUNT_ID, PlannedFault, PlannedIntent, PlanShape, SoakPlan, intent_for, plan_soak
from platform_adapter.composition import InProcStack, build_inproc_stack
from platform_adapter.config import (
    BackoffSettings,
    Credentials,
    HeartbeatSettings,
    InstrumentSettings,
    Mode,
    OutboxSettings,
    Settings,
)
from platform_adapter.core.clock import ManualClock
from platform_adapter.mic import (
    AckStatus,
    FactEnvelope,
    HealthReason,
    HealthState,
    Intent,
    ReceiptAck,
)
from platform_adapter.tradovate.budget import LOCKOUT_S
from tradovate_sim import ManualClock as SimManualClock
from tradovate_sim import SimConfig, TradovateSim

ORDER_ENDPOINTS = ("order/placeorder", "order/modifyorder", "order/cancelorder")


@dataclass(frozen=True)
class SoakConfig:
    """The knobs of a soak run; the defaults are the CI and `pa soak` settings."""

    dt_s: float = 0.1  # PA and simulator clock per market step
    capacity: int = 400  # outbox capacity (facts); high watermark at half, low at a fifth
    fact_queue_size: int = 50  # the in-process queue to U: small, so a stalled U backs up into the outbox
    silence_timeout_s: float = 10.0  # the PA's "no frame at all" bound
    order_timeout_s: float = 3.0
    rss_bound_mb: float = 256.0  # resident-set growth allowed over one seed
    settle_rounds: int = 12  # event-loop turns after each step, so loopback I/O keeps up
    drain_timeout_s: float = 20.0  # real seconds the final drain may take
    recover_limit_s: float = 600.0  # PA seconds the final recovery may take (after any 429 lock-out)
    keep_evidence: bool = False  # keep the delivery evidence on the result (tests tamper with it)
    shape: PlanShape = field(default_factory=PlanShape)


@dataclass
class SoakResult:
    """What one seed did and whether every invariant held; `reason` names the seed for a failure."""

    seed: int
    ok: bool
    violations: tuple[str, ...]
    steps: int
    wall_s: float
    faults: dict[str, int]
    facts: int  # facts U stored
    sent: int  # items the simulator wrote on the md and trading sockets
    delivered: int
    missed_in_gaps: int
    gaps: int  # gap facts
    connection_gaps: int  # gap facts that close a connection epoch
    reconnects: int
    stalls: int
    stalls_escalated: int
    max_stall_s: float  # longest U stall, in PA seconds
    peak_depth: int
    depth_bound: int
    capacity: int
    peak_rss_mb: float  # resident-set growth over the seed
    intents: dict[str, int]  # by ack status, plus "halted" (OE refused: TradingHalted)
    unresolved: tuple[str, ...]  # intent ids whose `unknown` ack no platform fact resolved
    telemetry_shed: int
    lockouts: int
    ghosts: int
    schedule: tuple[dict[str, Any], ...] = ()  # the simulator faults as `pa sim --faults` entries
    evidence: DeliveryEvidence | None = field(default=None, repr=False)

    @property
    def reason(self) -> str:
        """One readable line: why this seed failed (or that it passed)."""
        return verdict_line(f"seed {self.seed}", self.ok, self.violations)


@dataclass
class _Stall:
    start_step: int
    crossings: int
    transitions: int
    end_step: int | None = None
    escalated: bool = False
    escalation_depth: int | None = None


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def soak_settings(sim: TradovateSim, config: SoakConfig) -> Settings:
    """PA settings for a soak: small outbox, test-sized backoff, the soak's silence bound."""
    return Settings(
        mode=Mode.LIVE,
        rest_url=sim.rest_url,
        trading_ws_url=sim.trading_ws_url,
        md_ws_url=sim.md_ws_url,
        instruments=(
            InstrumentSettings(symbol="ESZ6", timeframes=("1m", "15s"), quotes=True),
            InstrumentSettings(symbol="NQZ6", timeframes=(), quotes=True, dom=True),
        ),
        backoff=BackoffSettings(initial_s=0.5, max_s=4.0, jitter=0.2, give_up_after_s=60.0),
        heartbeat=HeartbeatSettings(
            silence_timeout_s=config.silence_timeout_s,
            request_timeout_s=5.0,
            order_request_timeout_s=config.order_timeout_s,
        ),
        outbox=OutboxSettings(capacity=config.capacity, high_watermark=0.5, low_watermark=0.2, telemetry_capacity=50),
        chart_history_bars=20,
        chart_history_ticks=50,
    )


class _SoakRun:
    """One seed's run: the three parties, the plan, and what was observed along the way."""

    def __init__(self, seed: int, steps: int, config: SoakConfig) -> None:
        self.seed = seed
        self.steps = steps
        self.config = config
        self.plan: SoakPlan = plan_soak(seed, steps, config.shape)
        self.clock = ManualClock()
        self.sim_clock = SimManualClock(start=self.clock.now_ns() / 1e9)
        self.violations: list[str] = []
        self.opened: dict[int, str] = {}
        self.run_ids: set[str] = set()
        self.stalls: list[_Stall] = []
        self.stall_until: int | None = None
        self.stall_steps_max = 0
        self.holds: list[tuple[int, PlannedFault]] = []
        self.intent_tasks: set[asyncio.Task[None]] = set()
        self.sent_intents: list[Intent] = []
        self.working: list[int] = []
        self.acks: Counter[str] = Counter()
        self.peak_rss = 0.0
        self.rss0 = 0.0
        self.sim: TradovateSim
        self.stack: InProcStack
        self.system: ReferenceSystem

    # -- the parties --------------------------------------------------------------------------------

    def _sim_config(self) -> SimConfig:
        return SimConfig(
            seed=self.seed,
            tick_interval_s=None,
            client_timeout_s=600.0,
            auth_timeout_s=60.0,
            history_s=1800.0,
            clock=self.sim_clock,
        )

    def _watch_connections(self) -> None:
        registry = self.sim.registry
        add = registry.add
        opened = self.opened

        def add_and_note(connection: Any) -> None:
            opened[connection.id] = connection.kind
            add(connection)

        registry.add = add_and_note  # type: ignore[method-assign]

    def _watch_ingress(self) -> None:
        u = self.system.u
        accept = u.accept_batch
        run_ids = self.run_ids

        def accept_and_note(envelopes: Iterable[FactEnvelope]) -> None:
            batch = list(envelopes)
            run_ids.update(e.run_id for e in batch)
            accept(batch)

        u.accept_batch = accept_and_note  # type: ignore[method-assign]

    async def run(self) -> SoakResult:
        """Run the plan, drain, check; a crash anywhere is a violation of this seed, never an exception."""
        started = time.perf_counter()
        self.rss0 = self.peak_rss = _rss_mb()
        self.report = DeliveryReport()
        try:
            await self._run()
        except Exception as exc:
            self.violations.append(f"crash: {type(exc).__name__}: {exc}")
        if not hasattr(self, "system"):
            return self._crashed(time.perf_counter() - started)
        return self._result(self.report, time.perf_counter() - started)

    def _crashed(self, wall_s: float) -> SoakResult:
        return SoakResult(
            seed=self.seed,
            ok=False,
            violations=tuple(self.violations),
            steps=self.steps,
            wall_s=wall_s,
            faults=dict(self.plan.fault_counts),
            facts=0,
            sent=0,
            delivered=0,
            missed_in_gaps=0,
            gaps=0,
            connection_gaps=0,
            reconnects=0,
            stalls=0,
            stalls_escalated=0,
            max_stall_s=0.0,
            peak_depth=0,
            depth_bound=0,
            capacity=self.config.capacity,
            peak_rss_mb=0.0,
            intents={},
            unresolved=(),
            telemetry_shed=0,
            lockouts=0,
            ghosts=0,
        )

    async def _run(self) -> None:
        async with TradovateSim(self._sim_config()) as sim:
            self.sim = sim
            self._watch_connections()
            self.stack = build_inproc_stack(
                soak_settings(sim, self.config),
                Credentials(),
                (sim.rest_url, sim.trading_ws_url, sim.md_ws_url),
                clock=self.clock,
                rng=random.Random(f"{self.seed}:pa"),
                fact_queue_size=self.config.fact_queue_size,
            )
            stack = self.stack
            async with ReferenceSystem(
                ":memory:",
                facts=stack.facts,
                health=stack.health,
                intents=stack.intents,
                account_id=ACCOUNT_ID,
                clock=self.clock,
            ) as system:
                self.system = system
                self._watch_ingress()
                pa = asyncio.create_task(stack.adapter.run(), name="pa")
                try:
                    await self._up()
                    await self._drive(pa)
                except Exception as exc:  # a bug in the run must fail the seed with its reason, not hide it
                    self.violations.append(f"soak run failed: {type(exc).__name__}: {exc}")
                finally:
                    if pa.done():
                        error = pa.exception() if not pa.cancelled() else None
                        self.violations.append(f"the PA stopped during the run: {error!r}")
                    pa.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pa
                    for task in self.intent_tasks:
                        task.cancel()
                    await asyncio.gather(*self.intent_tasks, return_exceptions=True)

    # -- the loop -------------------------------------------------------------------------------------

    async def _drive(self, pa: asyncio.Task[None]) -> None:
        """Play the plan step by step, then drain and check."""
        for step in range(1, self.steps + 1):
            await self._step(step)
            if pa.done():
                return
        self.report = await self._finish()

    async def _settle(self) -> None:
        for _ in range(self.config.settle_rounds):
            await asyncio.sleep(0)

    async def _advance(self, seconds: float, step_s: float | None = None) -> None:
        step_s = step_s or self.config.dt_s
        moved = 0.0
        while moved < seconds - 1e-9:
            delta = min(step_s, seconds - moved)
            self.sim_clock.advance(delta)
            await self.clock.advance(delta)
            moved += delta
            await self._settle()

    async def _until(self, predicate: Any, what: str, timeout_s: float, advance_s: float = 0.0) -> bool:
        """Wait (bounded, real seconds) for `predicate`; optionally move the clocks meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not predicate():
            if loop.time() > deadline:
                self.violations.append(f"timed out waiting for {what}")
                return False
            if advance_s:
                await self._advance(advance_s, advance_s)
            else:
                await asyncio.sleep(0.005)  # let loopback I/O happen; correctness never depends on it
        return True

    async def _up(self) -> None:
        health = self.stack.adapter.health
        oe = self.system.oe
        await self._until(
            lambda: health.state is HealthState.UP and oe.health is not None and oe.health.state is HealthState.UP,
            "the PA to come up before the first step",
            timeout_s=20.0,
            advance_s=0.1,
        )

    async def _step(self, step: int) -> None:
        for due, fault in [h for h in self.holds if h[0] == step]:
            self.holds.remove((due, fault))
            await self._end_hold(fault)
        for fault in (f for f in self.plan.faults if f.step == step):
            await self._fire(fault)
        self._stalls_at(step)
        for intent in (i for i in self.plan.intents if i.step == step):
            task = asyncio.create_task(self._send(intent), name=f"soak-intent-{step}")
            self.intent_tasks.add(task)
            task.add_done_callback(self.intent_tasks.discard)
        if self.plan.telemetry_every and step % self.plan.telemetry_every == 0:
            self.stack.adapter.outbox.put_telemetry({"event": "soak_probe", "seed": self.seed, "step": step})
        await self.sim.step_market(1)
        await self._advance(self.config.dt_s)
        if step % 10 == 0:
            self.peak_rss = max(self.peak_rss, _rss_mb())

    async def _fire(self, planned: PlannedFault) -> None:
        await self.sim.faults.apply(planned.fault)
        if planned.hold_steps:
            self.holds.append((planned.step + planned.hold_steps, planned))
        if planned.jump_s:
            await self._advance(planned.jump_s, 0.5)

    async def _end_hold(self, planned: PlannedFault) -> None:
        kind = planned.fault["kind"]
        faults = self.sim.faults
        if kind == "silence":
            faults.end_silence(planned.fault.get("target", "all"))
        elif kind == "down":
            await faults.up()
        elif kind == "refuse_connections":
            await faults.accept_connections(planned.fault.get("listener", "all"))
        elif kind == "slow":
            faults.slow(planned.fault.get("target", "all"), 0.0)

    def _stalls_at(self, step: int) -> None:
        u = self.system.u
        outbox = self.stack.adapter.outbox
        if self.stall_until is not None and step >= self.stall_until:
            self._resume(step)
        for stall in (s for s in self.plan.stalls if s.step == step):
            end = step + stall.steps
            if self.stall_until is None:
                u.stall()
                self.stalls.append(
                    _Stall(step, outbox.counters.high_watermark_crossings, len(self.system.oe.health_transitions()))
                )
                self.stall_until = end
            else:
                self.stall_until = max(self.stall_until, end)

    def _resume(self, step: int) -> None:
        outbox = self.stack.adapter.outbox
        self.system.u.resume()
        episode = self.stalls[-1]
        episode.end_step = step
        episode.escalated = outbox.counters.high_watermark_crossings > episode.crossings
        episode.escalation_depth = outbox.counters.escalation_depth
        self.stall_steps_max = max(self.stall_steps_max, step - episode.start_step)
        self.stall_until = None

    # -- OE's intents -------------------------------------------------------------------------------

    def _intent(self, planned: PlannedIntent) -> Intent | None:
        return intent_for(
            planned, new_id=self.system.oe.new_intent_id, sim=self.sim, working=self.working, sent=self.sent_intents
        )

    async def _send(self, planned: PlannedIntent) -> None:
        intent = self._intent(planned)
        if intent is None:
            return
        if planned.kind != "duplicate":
            self.sent_intents.append(intent)
        try:
            ack = await self.system.oe.send(intent)
        except TradingHalted:
            self.acks["halted"] += 1
            return
        except Exception as exc:
            self.violations.append(f"OE's {planned.kind} intent at step {planned.step} raised {exc!r}")
            return
        self._note_ack(planned, intent, ack)

    def _note_ack(self, planned: PlannedIntent, intent: Intent, ack: ReceiptAck) -> None:
        self.acks["duplicate" if ack.duplicate else str(ack.status)] += 1
        if (
            planned.kind == "limit"
            and ack.status is AckStatus.ACCEPTED
            and not ack.duplicate
            and ack.platform_order_id is not None
        ):
            self.working.append(ack.platform_order_id)
        if ack.intent_id != intent.intent_id:
            self.violations.append(f"the ack of {intent.intent_id} names {ack.intent_id}")

    # -- the end ------------------------------------------------------------------------------------

    async def _finish(self) -> DeliveryReport:
        sim = self.sim
        if self.stall_until is not None:
            self._resume(self.steps + 1)
        for _, fault in list(self.holds):
            await self._end_hold(fault)
        self.holds.clear()
        sim.faults.clear()
        await sim.faults.accept_connections("all")
        await self._until(lambda: not self.intent_tasks, "OE's intents to be answered", 30.0, advance_s=0.5)
        sim.websockets.cancel_pending_replies()  # a reply still delayed would land after the snapshot
        platform = self.stack.platform
        health = self.stack.adapter.health
        if HealthReason.RATE_LIMITED in health.current.reasons or platform.budget.lockouts:
            await self._advance(LOCKOUT_S + 5.0, 30.0)  # a 429 locks the PA out for an hour, by design

        def recovered() -> bool:
            md, trading = platform.md, platform.trading
            return bool(md and trading and md.ready.is_set() and trading.ready.is_set()) and (
                health.state is HealthState.UP
            )

        limit = self.config.recover_limit_s
        start = self.clock.monotonic()
        while not recovered() and self.clock.monotonic() - start < limit:
            await self._advance(0.5, 0.5)
        if not recovered():
            self.violations.append(
                f"the PA did not recover to PA_UP within {limit:.0f} s after the faults ended: "
                f"{health.state} {[str(r) for r in health.current.reasons]} {health.current.detail}"
            )
        await sim.step_market(3)  # fresh data on the live connections, which must all arrive
        await self._advance(self.config.dt_s)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.drain_timeout_s
        report = self._check()
        while report.pending and loop.time() < deadline:
            await asyncio.sleep(0.01)  # real I/O: the PA reads what is still in its sockets
            report = self._check()
        await self._until(lambda: not self.stack.adapter.outbox.depth, "the outbox to drain", 10.0)
        return report

    def _evidence(self) -> DeliveryEvidence:
        facts = stored_facts(self.system.db)
        recorder = self.sim.recorder
        frames = [(f.conn_id, f.kind, f.index, f.frame_type, f.text) for f in recorder.frames]
        messages = [(m.conn_id, m.kind, m.frame_index, m.position, m.text) for m in recorder.messages]
        inbound = Counter(f.conn_id for f in recorder.inbound)
        platform = self.stack.platform
        sockets = {"md": platform.md, "trading": platform.trading}
        return DeliveryEvidence(
            connections=connection_records(self.opened, frames, messages, inbound),
            facts=facts,
            pa_epochs={k: s.epoch if s else 0 for k, s in sockets.items()},
            live_epochs={k: s.epoch if s and s.ready.is_set() else None for k, s in sockets.items()},
            facts_accepted=self.stack.adapter.outbox.counters.received,
            run_ids=frozenset(self.run_ids),
            run_id=platform.run_id,
        )

    def _check(self) -> DeliveryReport:
        self.last_evidence = self._evidence()
        return check_delivery(self.last_evidence)

    # -- the verdict ----------------------------------------------------------------------------------

    def _depth_bound(self) -> int:
        """Capacity, plus one frame per socket, plus the gap facts a reconnect writes without reading."""
        evidence = getattr(self, "last_evidence", None)
        largest = {"md": 1, "trading": 1}
        if evidence is not None:
            for conn in evidence.connections:
                largest[conn.kind] = max(largest[conn.kind], conn.largest_frame)
        reference = self.stack.platform.reference
        streams = 0
        if reference is not None:
            for instrument in reference.instruments.values():
                s = instrument.settings
                charts = {"tick" if tf.unit == "s" else str(tf) for tf in s.parsed_timeframes()}
                streams += int(s.quotes) + int(s.dom) + len(charts)
        gap_facts = (1 + streams) + (1 + 1)  # md: loss + one per stream; trading: loss + props
        return self.config.capacity + largest["md"] + largest["trading"] + gap_facts

    def _result(self, report: DeliveryReport, wall_s: float) -> SoakResult:
        violations = [*self.violations]
        violations += report.violations
        violations += [f"not delivered: {p}" for p in report.pending]
        outbox = self.stack.adapter.outbox
        counters = outbox.counters
        capacity = outbox.capacity
        transitions = self.system.oe.health_transitions() if hasattr(self, "system") else []
        escalated = 0
        for episode in self.stalls:
            if not episode.escalated:
                continue
            escalated += 1
            if episode.escalation_depth is None or episode.escalation_depth >= capacity:
                violations.append(
                    f"stall at step {episode.start_step}: escalation at depth {episode.escalation_depth}, "
                    f"not before capacity {capacity}"
                )
            seen = [
                s
                for s in transitions[episode.transitions :]
                if s.state is HealthState.DEGRADED
                and s.halt_required
                and HealthReason.CONSUMER_BACKPRESSURE in s.reasons
            ] + [
                s
                for s in transitions[episode.transitions :]
                if s.state is HealthState.DOWN and s.halt_required and HealthReason.CONSUMER_BACKPRESSURE in s.reasons
            ]
            if not seen:
                violations.append(
                    f"stall at step {episode.start_step} pushed the outbox past its high watermark but OE never saw "
                    "PA_DEGRADED consumer_backpressure with halt_required"
                )
        bound = self._depth_bound()
        if counters.peak_depth > bound:
            violations.append(f"peak outbox depth {counters.peak_depth} above the bound {bound}")
        rss = max(0.0, self.peak_rss - self.rss0)
        if rss > self.config.rss_bound_mb:
            violations.append(f"resident memory grew {rss:.0f} MiB, above the bound {self.config.rss_bound_mb:.0f} MiB")
        violations += self._execution_checks()
        unresolved = tuple(sorted(self.stack.adapter.intents.ledger.unresolved()))
        platform = self.stack.platform
        reconnects = sum(link.reconnects for link in platform.links.values())
        return SoakResult(
            seed=self.seed,
            ok=not violations,
            violations=tuple(violations),
            steps=self.steps,
            wall_s=wall_s,
            faults=dict(self.plan.fault_counts),
            facts=self.system.u.counters.facts if hasattr(self, "system") else 0,
            sent=report.sent,
            delivered=report.delivered,
            missed_in_gaps=report.missed_in_gaps,
            gaps=report.gap_facts,
            connection_gaps=report.connection_gaps,
            reconnects=reconnects,
            stalls=len(self.stalls),
            stalls_escalated=escalated,
            max_stall_s=self.stall_steps_max * self.config.dt_s,
            peak_depth=counters.peak_depth,
            depth_bound=bound,
            capacity=capacity,
            peak_rss_mb=rss,
            intents=dict(self.acks),
            unresolved=unresolved,
            telemetry_shed=counters.telemetry_shed,
            lockouts=platform.budget.lockouts,
            ghosts=report.ghosts,
            schedule=tuple(entry.as_json() for entry in self.plan.schedule()),
            evidence=getattr(self, "last_evidence", None) if self.config.keep_evidence else None,
        )

    def _execution_checks(self) -> list[str]:
        """A repeated intent is never sent twice; a `failed` ack never hides an order the platform took."""
        problems: list[str] = []
        sent: Counter[tuple[str, str]] = Counter()
        for endpoint in ORDER_ENDPOINTS:
            for request in self.sim.received_requests(endpoint):
                body = request.json_body()
                cl_ord_id = body.get("clOrdId") if isinstance(body, dict) else None
                if isinstance(cl_ord_id, str) and "p-ticket" not in body:
                    sent[(endpoint, cl_ord_id)] += 1
        for (endpoint, cl_ord_id), count in sent.items():
            if count > 1:
                problems.append(f"intent {cl_ord_id} reached the platform {count} times as {endpoint}")
        taken = {c.as_json().get("clOrdId") for c in self.sim.store.all("command")}
        for intent, ack in self.stack.adapter.intents.recent:
            if ack.status is AckStatus.FAILED and intent.intent_id in taken:
                problems.append(
                    f"intent {intent.intent_id} was acked failed ({ack.reason}) but the platform executed it"
                )
        return problems


def _check_tasks(before: int, result: SoakResult) -> SoakResult:
    after = len(asyncio.all_tasks())
    if after != before:
        names = sorted(t.get_name() for t in asyncio.all_tasks())
        result.violations = (*result.violations, f"tasks before {before}, after {after}: leaked {names}")
        result.ok = False
    return result


async def run_soak_async(seed: int, *, steps: int = 300, config: SoakConfig | None = None) -> SoakResult:
    """Run one seed inside a running event loop (see `run_soak`)."""
    loop = asyncio.get_running_loop()
    unhandled: list[str] = []
    previous = loop.get_exception_handler()

    def note(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        unhandled.append(f"{context.get('message', 'unhandled error')}: {error!r}")

    before = len(asyncio.all_tasks())
    loop.set_exception_handler(note)
    try:
        result = await _SoakRun(seed, steps, config or SoakConfig()).run()
        for _ in range(20):  # let cancelled tasks finish unwinding before counting
            await asyncio.sleep(0)
        gc.collect()  # a future failed with nobody awaiting it reports itself when collected
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    if unhandled:
        result.violations = (*result.violations, *(f"unhandled error in the event loop: {u}" for u in unhandled))
        result.ok = False
    return _check_tasks(before, result)


def run_soak(seed: int, *, steps: int = 300, config: SoakConfig | None = None) -> SoakResult:
    """Run one seeded soak (simulator + PA + reference U/Paper/OE, on 127.0.0.1) and check its invariants."""
    return asyncio.run(run_soak_async(seed, steps=steps, config=config))
