"""The crash soak (issue 17): SIGKILL the PA at seeded points while OE trades and the market streams, restart it.

One seed: nats-server, the simulator, U and OE in this process (`failover.NatsWorld`), and one or two
`pa run --transport nats://...` processes. The market is stepped every `step_s`; OE sends the plan's intents in
the background; each planned kill is armed at its step and fires at the next point the simulator sees
(`crash_plan.KillPoint`), from the simulator's own callback, so the process dies exactly there. `restart` mode
restarts the killed instance at once (it waits out the lease); `fight` mode runs two instances on one lease: the
standby takes over and the killed one comes back as the standby.

At the end the soak re-sends every intent whose outcome OE did not learn (its ack `unknown`, or its call timed
out), which is what ADR 0012 allows, lets U drain, and checks from the simulator's records and U's store: no
clOrdId placed twice, every call answered and every `unknown` resolved, every simulator message delivered to U or
inside a reported gap (`crash_check.check_runs`), and U's orders and positions equal the simulator's.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pa_harness.failover import NatsWorld, PaProcess, WorldConfig
from pa_harness.reference.oe import TradingHalted
from pa_harness.soak.crash_check import CrashEvidence, check_runs, compare_state, u_state
from pa_harness.soak.crash_plan import CrashMode, CrashPlan, KillPoint, PlannedKill, plan_crash
from pa_harness.soak.delivery import DeliveryReport, connection_records, stored_facts, verdict_line
from pa_harness.soak.plan import ACCOUNT_ID, PlannedIntent, intent_for
from platform_adapter.mic import (
    AckStatus,
    HealthState,
    Intent,
    OrderAction,
    OrderType,
    ReceiptAck,
    SubmitOrder,
)
from platform_adapter.mic.codec import decode_gap
from platform_adapter.tradovate.resume import RESTART

ORDER_ENDPOINTS = ("order/placeorder", "order/modifyorder", "order/cancelorder")
_ORDER_POINTS = ("order_request", "order_answer")


@dataclass(frozen=True)
class CrashConfig:
    """The knobs of a crash soak seed; the defaults are `pa soak --crash`'s."""

    steps: int = 300  # market steps
    step_s: float = 0.05  # real seconds between steps
    kills: int = 4
    mode: CrashMode | None = None  # None: `restart` for odd seeds, `fight` for even ones
    intent_timeout_s: float = 10.0  # OE's request timeout (above the PA's 5 s order timeout)
    fire_within_steps: int = 40  # an armed kill that saw no matching point by then fires anyway (`late`)
    recover_timeout_s: float = 40.0  # real seconds the end may wait for a live PA with both sockets
    drain_timeout_s: float = 30.0
    keep_dir: Path | None = None  # keep the seed's directory (logs, databases) here when it fails


@dataclass
class CrashResult:
    """What one crash seed did and whether every invariant held."""

    seed: int
    mode: str
    ok: bool
    violations: tuple[str, ...]
    wall_s: float
    kills: dict[str, int]  # fired, by point (`late`: armed, no matching point came, fired anyway)
    restarts: int
    takeovers: int
    takeover_s: tuple[float, ...]  # kill -> the next tenure's start (from its log)
    runs: int  # PA runs that held the lease
    orders: int  # placeorder requests that reached the simulator
    intents: dict[str, int]  # OE's first acks by status (+ "timeout": no answer in time; "halted")
    resent: int  # intents re-sent at the end because their outcome was unknown
    unresolved: tuple[str, ...]
    sent: int
    delivered: int
    missed_in_gaps: int
    gap_facts: int
    restart_gaps: int
    holes: int  # U's delivery holes
    fenced: int
    evidence: CrashEvidence | None = field(default=None, repr=False)

    @property
    def reason(self) -> str:
        """One readable line: why this seed failed (or that it passed)."""
        return verdict_line(f"seed {self.seed} ({self.mode})", self.ok, self.violations)


@dataclass
class _Kill:
    planned: PlannedKill
    armed_step: int
    fired_as: str | None = None
    at: float = 0.0  # time.time() of the SIGKILL
    instance: PaProcess | None = None


class _CrashRun:
    def __init__(self, seed: int, config: CrashConfig, workdir: Path) -> None:
        self.seed = seed
        self.config = config
        mode: CrashMode = config.mode or ("restart" if seed % 2 else "fight")
        self.plan: CrashPlan = plan_crash(seed, config.steps, mode, kills=config.kills)
        self.workdir = workdir
        self.violations: list[str] = []
        self.kills: list[_Kill] = []
        self.armed: _Kill | None = None
        self.step = 0
        self.restarts = 0
        self.restart_tasks: set[asyncio.Task[None]] = set()
        self.intent_tasks: set[asyncio.Task[None]] = set()
        self.sent_intents: list[Intent] = []
        self.first_acks: dict[str, ReceiptAck | None] = {}  # None: no answer yet
        self.last_pa_acks: dict[str, ReceiptAck] = {}  # the latest answer a PA gave (not OE's local timeout)
        self.acks: Counter[str] = Counter()
        self.working: list[int] = []
        self.placeorders: dict[tuple[int, int], str] = {}  # (conn id, request id) -> clOrdId, awaiting the answer
        self.resent = 0  # intents re-sent at the end because OE did not learn their outcome
        self.unresolved: list[str] = []
        self.world: NatsWorld

    # -- the run ----------------------------------------------------------------------------------------

    async def run(self) -> CrashResult:
        started = time.perf_counter()
        report = DeliveryReport()
        evidence: CrashEvidence | None = None
        config = WorldConfig(seed=self.seed, tick_interval_s=None, intent_timeout_s=self.config.intent_timeout_s)
        try:
            async with NatsWorld(self.workdir, config) as world:
                self.world = world
                self._hook()
                try:
                    await self._start()
                    await self._drive()
                    evidence, report = await self._finish()
                    self._check_state(evidence)
                    self._check_execution()
                except Exception as exc:  # a bug in the run fails the seed with its reason, never hides it
                    self.violations.append(f"crash soak run failed: {type(exc).__name__}: {exc}")
                finally:
                    for task in (*self.intent_tasks, *self.restart_tasks):
                        task.cancel()
                    await asyncio.gather(*self.intent_tasks, *self.restart_tasks, return_exceptions=True)
                return self._result(report, evidence, time.perf_counter() - started)
        except Exception as exc:
            self.violations.append(f"crash soak setup failed: {type(exc).__name__}: {exc}")
            return self._result(report, evidence, time.perf_counter() - started)

    async def _start(self) -> None:
        world = self.world
        first = world.pa("a")
        first.start()
        await self._until_serving("the first PA to serve")
        if self.plan.mode == "fight":
            standby = world.pa("b")
            standby.start()
            await standby.until(lambda: standby.last("lease_standby") is not None, "the standby", timeout_s=30)

    async def _drive(self) -> None:
        due: list[PlannedKill] = []
        for step in range(1, self.plan.steps + 1):
            self.step = step
            due += [k for k in self.plan.kills if k.step == step]
            if due and self.armed is None and self._serving():  # each kill hits a PA that serves and trades
                await self._arm(due.pop(0))
            armed = self.armed
            if armed is not None and armed.planned.point == "anytime":
                self._fire("anytime", self._holder())  # at once, or at the first step a PA holds the lease again
            elif armed is not None and step - armed.armed_step >= self.config.fire_within_steps:
                self._fire("late", self._holder())
            elif armed is not None and armed.planned.point in _ORDER_POINTS and (step - armed.armed_step) % 10 == 0:
                self._order_for_kill()  # the last one reached no PA (down, or OE halted): another one
            for intent in (i for i in self.plan.intents if i.step == step):
                task = asyncio.create_task(self._send(intent), name=f"crash-intent-{step}")
                self.intent_tasks.add(task)
                task.add_done_callback(self.intent_tasks.discard)
            await self.world.sim.step_market(1)
            await asyncio.sleep(self.config.step_s)  # real time: the PA processes run on their own clocks

    # -- kills ------------------------------------------------------------------------------------------

    def _hook(self) -> None:
        recorder = self.world.sim.recorder
        record_request, record_frame = recorder.record_request, recorder.record_frame

        def on_request(conn_id: int | None, kind: Any, endpoint: str, request_id: int | None, *rest: Any) -> Any:
            request = record_request(conn_id, kind, endpoint, request_id, *rest)
            key = endpoint.lower()
            if key == "order/placeorder" and conn_id is not None and request_id is not None:
                body = request.json_body()
                self.placeorders[(conn_id, request_id)] = body.get("clOrdId", "") if isinstance(body, dict) else ""
                self._maybe_fire("order_request", conn_id)
            elif key == "md/getchart" and conn_id is not None and "asFarAsTimestamp" in request.body:
                self._maybe_fire("backfill", conn_id)
            return request

        def on_frame(conn_id: int | None, kind: Any, frame_type: Any, text: str, messages: Any = ()) -> Any:
            frame = record_frame(conn_id, kind, frame_type, text, messages)
            if conn_id is not None:
                for _, message in messages:
                    request_id = message.get("i") if isinstance(message, dict) else None
                    if isinstance(request_id, int) and self.placeorders.pop((conn_id, request_id), None) is not None:
                        self._maybe_fire("order_answer", conn_id)
            return frame

        recorder.record_request = on_request  # type: ignore[method-assign,assignment]
        recorder.record_frame = on_frame  # type: ignore[method-assign]
        self.world.connection_hooks.append(lambda conn: self._maybe_fire("reconnect", conn.id))

    async def _arm(self, planned: PlannedKill) -> None:
        kill = _Kill(planned, self.step)
        self.kills.append(kill)
        self.armed = kill
        if planned.point == "anytime":
            self._fire("anytime", self._holder())
            return
        faults = self.world.sim.faults
        if planned.point == "reconnect":
            await faults.close_sockets(planned.socket)
        elif planned.point == "backfill":
            await faults.close_sockets("md")
        elif planned.point in _ORDER_POINTS:
            self._order_for_kill()

    def _order_for_kill(self) -> None:
        task = asyncio.create_task(self._send(self._market_order()), name=f"crash-kill-order-{self.step}")
        self.intent_tasks.add(task)
        task.add_done_callback(self.intent_tasks.discard)

    def _maybe_fire(self, point: KillPoint, conn_id: int) -> None:
        kill = self.armed
        if kill is None or kill.planned.point != point:
            return
        owner = self.world.instance_of(self.world.owners.get(conn_id))
        if owner is not None and owner.running:
            self._fire(point, owner)

    def _fire(self, point: str, instance: PaProcess | None) -> None:
        kill = self.armed
        if kill is None or instance is None or not instance.running:
            return  # no PA holds the lease right now: it stays armed until one does
        self.armed = None
        instance.kill_now()  # SIGKILL, from inside the simulator's callback: the PA dies exactly here
        kill.fired_as, kill.at, kill.instance = point, time.time(), instance
        task = asyncio.create_task(self._restart(instance), name=f"crash-restart-{instance.name}")
        self.restart_tasks.add(task)
        task.add_done_callback(self.restart_tasks.discard)

    async def _restart(self, instance: PaProcess) -> None:
        await instance.reap()
        instance.start()  # restart: waits out the lease; fight: comes back as the standby
        self.restarts += 1

    def _holder(self) -> PaProcess | None:
        """The instance connected to the simulator now (the lease holder), else the running one with the lease."""
        world = self.world
        for conn in reversed(world.connections):
            if not conn.closed.is_set():
                owner = world.instance_of(world.owners.get(conn.id))
                if owner is not None and owner.running:
                    return owner
        running = [i for i in world.instances if i.running and i.lease_epoch is not None]
        return max(running, key=lambda i: i.lease_epoch or 0, default=None)

    # -- OE ---------------------------------------------------------------------------------------------

    def _market_order(self) -> SubmitOrder:
        return SubmitOrder(
            intent_id=self.world.oe.new_intent_id(),
            account_id=ACCOUNT_ID,
            symbol="ESZ6",
            action=OrderAction.BUY if self.step % 2 else OrderAction.SELL,
            qty=1,
            order_type=OrderType.MARKET,
        )

    def _intent(self, planned: PlannedIntent) -> Intent | None:
        world = self.world
        return intent_for(
            planned, new_id=world.oe.new_intent_id, sim=world.sim, working=self.working, sent=self.sent_intents
        )

    async def _send(self, planned: PlannedIntent | Intent) -> None:
        intent = self._intent(planned) if isinstance(planned, PlannedIntent) else planned
        if intent is None:
            return
        first = intent.intent_id not in self.first_acks
        if first:
            self.sent_intents.append(intent)
            self.first_acks[intent.intent_id] = None
        try:
            ack = await self.world.oe.send(intent)
        except TradingHalted:  # OE itself refused to send it (the PA requires a halt): never a call to the PA
            self.acks["halted"] += 1
            if first:
                del self.first_acks[intent.intent_id]
                self.sent_intents.remove(intent)
            return
        except Exception as exc:
            self.violations.append(f"OE's intent {intent.intent_id} raised {exc!r}")
            return
        if ack.intent_id != intent.intent_id:
            self.violations.append(f"the ack of {intent.intent_id} names {ack.intent_id}")
        if ack.lease_epoch is not None:  # a PA's answer (OE's own `timeout` / `pa_down` carries no epoch)
            self.last_pa_acks[intent.intent_id] = ack
        if first:
            self.first_acks[intent.intent_id] = ack
            self.acks["timeout" if _timed_out(ack) else str(ack.status)] += 1
        if (
            isinstance(intent, SubmitOrder)
            and intent.order_type is OrderType.LIMIT
            and ack.status is AckStatus.ACCEPTED
            and ack.platform_order_id is not None
            and ack.platform_order_id not in self.working
        ):
            self.working.append(ack.platform_order_id)

    # -- the end ----------------------------------------------------------------------------------------

    def _serving(self) -> bool:
        """A PA holds the lease, both its sockets are up, and OE reads its PA_UP."""
        world = self.world
        holder = self._holder()
        health = world.oe.health
        if holder is None or health is None or health.state is not HealthState.UP:
            return False
        if health.lease_epoch != holder.lease_epoch:
            return False
        open_kinds = {
            c.kind
            for c in world.connections
            if not c.closed.is_set() and world.instance_of(world.owners.get(c.id)) is holder
        }
        return {"md", "trading"} <= open_kinds

    async def _until_serving(self, what: str) -> None:
        """Wait (bounded) until a PA serves again."""
        deadline = time.monotonic() + self.config.recover_timeout_s
        while not self._serving():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {self.config.recover_timeout_s:.0f}s waiting for {what}")
            await asyncio.sleep(0.05)  # real processes: poll their state

    async def _finish(self) -> tuple[CrashEvidence, DeliveryReport]:
        world = self.world
        if self.armed is not None:
            self.armed.fired_as = "unfired"
            self.armed = None
        await asyncio.gather(*self.restart_tasks, return_exceptions=True)
        await self._until_serving("a PA to serve again after the last kill")
        if self.intent_tasks:  # OE's calls still out get their answer or time out (`unknown`)
            await asyncio.wait(set(self.intent_tasks), timeout=self.config.intent_timeout_s + 5.0)
        await self._resend_unknown()
        await world.sim.step_market(3)  # fresh data on the live connections, which must all arrive
        deadline = time.monotonic() + self.config.drain_timeout_s
        evidence = self._evidence()
        report = check_runs(evidence)
        while report.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # U's consumer fetches what the PA published
            evidence = self._evidence()
            report = check_runs(evidence)
        return evidence, report

    async def _resend_unknown(self) -> None:
        """ADR 0012: an intent whose outcome OE did not learn may be re-sent; it is never executed twice."""
        for intent in self.sent_intents:
            first = self.first_acks.get(intent.intent_id)
            if first is not None and first.status is not AckStatus.UNKNOWN:
                continue
            self.resent += 1
            for _ in range(20):  # an interrupted intent stays `unknown` until the platform's facts resolve it
                ack = await self.world.oe.send(intent)
                if ack.lease_epoch is not None:
                    self.last_pa_acks[intent.intent_id] = ack
                if ack.status is not AckStatus.UNKNOWN or "[resolved:" in ack.detail:
                    break
                await asyncio.sleep(0.25)
            else:
                self.unresolved.append(intent.intent_id)
                self.violations.append(f"intent {intent.intent_id}: still unknown after re-sending ({ack.detail})")

    def _evidence(self) -> CrashEvidence:
        world = self.world
        facts = stored_facts(world.u.db)
        recorder = world.sim.recorder
        opened = {conn.id: conn.kind for conn in world.connections}
        frames = [(f.conn_id, f.kind, f.index, f.frame_type, f.text) for f in recorder.frames]
        messages = [(m.conn_id, m.kind, m.frame_index, m.position, m.text) for m in recorder.messages]
        inbound = Counter(f.conn_id for f in recorder.inbound)
        run_of_pid: dict[int, str] = {}
        for instance in world.instances:
            run_of_pid.update(instance.run_ids())
        tenures = sorted(
            (record["timestamp"], str(record["run_id"]))
            for instance in world.instances
            for record in instance.events("tenure_started", every_process=True)
        )
        runs = tuple(dict.fromkeys(run for _, run in tenures))
        holder = self._holder()
        return CrashEvidence(
            connections=connection_records(opened, frames, messages, inbound),
            owners={cid: run_of_pid.get(pid) if pid is not None else None for cid, pid in world.owners.items()},
            open_connections=frozenset(c.id for c in world.connections if not c.closed.is_set()),
            facts=facts,
            runs=runs,
            live_run=holder.run_id if holder is not None else None,
        )

    def _check_state(self, evidence: CrashEvidence) -> None:
        store = self.world.sim.store
        platform = {kind: {e.id: e.as_json() for e in store.all(kind)} for kind in ("order", "position")}
        self.violations += compare_state(u_state(evidence.facts), platform)

    def _check_execution(self) -> None:
        sent: Counter[tuple[str, str]] = Counter()
        for endpoint in ORDER_ENDPOINTS:
            for request in self.world.sim.received_requests(endpoint):
                body = request.json_body()
                cl_ord_id = body.get("clOrdId") if isinstance(body, dict) else None
                if isinstance(cl_ord_id, str):
                    sent[(endpoint, cl_ord_id)] += 1
        for (endpoint, cl_ord_id), count in sent.items():
            if count > 1:
                self.violations.append(f"intent {cl_ord_id} reached the platform {count} times as {endpoint}")
        # A PA's last word `failed` means nothing was sent and nothing will be (a refusal of a standby or a stopping
        # PA is not recorded, so a later re-send may still execute it: its answer is then the PA's last word).
        taken = {c.as_json().get("clOrdId") for c in self.world.sim.store.all("command")}
        for intent_id, ack in self.last_pa_acks.items():
            if ack.status is AckStatus.FAILED and intent_id in taken:
                self.violations.append(
                    f"intent {intent_id}: the PA's last answer is failed ({ack.reason}) but the platform took it"
                )

    # -- the verdict ------------------------------------------------------------------------------------

    def _takeovers(self) -> list[float]:
        """Kill -> the next tenure's start, from the PA logs' own timestamps."""
        starts = sorted(
            _epoch_s(record["timestamp"])
            for instance in self.world.instances
            for record in instance.events("tenure_started", every_process=True)
        )
        figures = []
        for kill in self.kills:
            if kill.at:
                after = [start for start in starts if start > kill.at]
                if after:
                    figures.append(after[0] - kill.at)
        return figures

    def _result(self, report: DeliveryReport, evidence: CrashEvidence | None, wall_s: float) -> CrashResult:
        violations = [*self.violations, *report.violations, *(f"not delivered: {p}" for p in report.pending)]
        world = getattr(self, "world", None)
        takeovers = self._takeovers() if world is not None else []
        u = world.u if world is not None and hasattr(world, "u") else None
        restart_gaps = 0
        if evidence is not None:
            restart_gaps = sum(
                1 for f in evidence.facts if f.kind == "gap" and decode_gap(f.payload.encode()).reason == RESTART
            )
        return CrashResult(
            seed=self.seed,
            mode=self.plan.mode,
            ok=not violations,
            violations=tuple(violations),
            wall_s=wall_s,
            kills=dict(Counter(k.fired_as or "unfired" for k in self.kills)),
            restarts=self.restarts,
            takeovers=len(takeovers),
            takeover_s=tuple(round(t, 3) for t in takeovers),
            runs=len(evidence.runs) if evidence is not None else 0,
            orders=len(world.sim.received_requests("order/placeorder")) if world is not None else 0,
            intents=dict(self.acks),
            resent=self.resent,
            unresolved=tuple(self.unresolved),
            sent=report.sent,
            delivered=report.delivered,
            missed_in_gaps=report.missed_in_gaps,
            gap_facts=report.gap_facts,
            restart_gaps=restart_gaps,
            holes=u.counters.holes if u is not None else 0,
            fenced=u.counters.fenced if u is not None else 0,
            evidence=evidence,
        )


def _timed_out(ack: ReceiptAck) -> bool:
    return ack.status is AckStatus.UNKNOWN and ack.reason is not None and ack.reason.value == "timeout"


def _epoch_s(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


async def run_crash_soak_async(seed: int, config: CrashConfig | None = None) -> CrashResult:
    """Run one crash seed inside a running event loop (see `run_crash_soak`)."""
    config = config or CrashConfig()
    workdir = Path(tempfile.mkdtemp(prefix=f"pa-crash-{seed}-"))
    result: CrashResult | None = None
    try:
        result = await _CrashRun(seed, config, workdir).run()
    finally:
        if config.keep_dir is not None and (result is None or not result.ok):
            target = config.keep_dir / f"seed-{seed}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(workdir, target, ignore=shutil.ignore_patterns("jetstream"), dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def run_crash_soak(seed: int, config: CrashConfig | None = None) -> CrashResult:
    """One crash seed: real PA processes killed at seeded points, restarted, and every invariant checked.

    SIGTERM (like Ctrl-C) stops it with every process it started: SystemExit(143).
    """
    return asyncio.run(_stopped_by_sigterm(run_crash_soak_async(seed, config)))


async def _stopped_by_sigterm(run: Coroutine[Any, Any, CrashResult]) -> CrashResult:
    task = asyncio.ensure_future(run)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)  # the world's exit then kills its processes by pid
    try:
        return await task
    except asyncio.CancelledError:
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def takeover_summary(results: Sequence[CrashResult]) -> dict[str, float]:
    """Takeover times over many seeds: count, median, p95, max (seconds)."""
    figures = sorted(t for r in results for t in r.takeover_s)
    if not figures:
        return {"count": 0}
    return {
        "count": len(figures),
        "median_s": round(statistics.median(figures), 2),
        "p95_s": round(figures[min(len(figures) - 1, int(0.95 * len(figures)))], 2),
        "max_s": round(figures[-1], 2),
    }
