"""The seeded fault soak, CI-sized: every seed must keep every invariant; a broken PA must fail a seed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from pa_harness.soak import SoakResult, plan_soak, run_soak, soak_main
from pa_harness.soak import command as soak_command
from platform_adapter.core.outbox import Outbox
from platform_adapter.mic import GapDetail
from platform_adapter.tradovate.facts import FactBuilder, SocketContext
from platform_adapter.tradovate.protocol import Message
from platform_adapter.tradovate.supervisor import LinkLoss, SocketSupervisor
from tradovate_sim import ScheduledFault

CI_SEEDS = range(1, 41)
CI_STEPS = 400


@pytest.mark.slow
@pytest.mark.parametrize("seed", CI_SEEDS)
def test_seed_keeps_every_invariant(seed: int) -> None:
    result = run_soak(seed, steps=CI_STEPS)
    assert result.ok, result.reason
    assert result.sent > 0
    assert result.delivered + result.missed_in_gaps == result.sent
    assert result.peak_depth <= result.depth_bound


def test_a_plan_is_a_function_of_its_seed() -> None:
    assert plan_soak(11, 500) == plan_soak(11, 500)
    assert plan_soak(11, 500) != plan_soak(12, 500)
    plan = plan_soak(11, 500)
    entries = [entry.as_json() for entry in plan.schedule()]
    assert [ScheduledFault.from_json(json.loads(json.dumps(e))) for e in entries] == list(plan.schedule())
    assert all(1 <= f.step <= 500 for f in plan.faults)


def test_a_fact_the_pa_silently_drops_fails_the_seed_and_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    original = FactBuilder.messages
    seen = {"md": 0}

    def drop_the_hundredth_md_message(
        self: FactBuilder, ctx: SocketContext, recv_ts: int, messages: Sequence[Message]
    ) -> None:
        if ctx.connection == "md":
            kept = []
            for message in messages:
                seen["md"] += 1
                if seen["md"] != 100:
                    kept.append(message)
            messages = kept
        original(self, ctx, recv_ts, messages)

    monkeypatch.setattr(FactBuilder, "messages", drop_the_hundredth_md_message)
    result = run_soak(3, steps=200)
    assert not result.ok
    assert result.reason.startswith("seed 3: ")
    assert any("not the in-order prefix" in v for v in result.violations)


def test_a_connection_lost_without_a_gap_fact_fails_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    def lose_quietly(self: SocketSupervisor, loss: LinkLoss) -> None:
        for hook in self.lost_hooks:
            hook(self.socket, loss)

    monkeypatch.setattr(SocketSupervisor, "_report_loss", lose_quietly)
    result = run_soak(1, steps=200)
    assert not result.ok
    assert any("no gap fact reports it" in v for v in result.violations)


def test_a_backpressure_escalation_that_never_reaches_oe_fails_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    def escalate_nowhere(self: Outbox, depth: int) -> None:
        self._backpressure = True
        self.counters.high_watermark_crossings += 1
        self.counters.escalation_depth = depth

    monkeypatch.setattr(Outbox, "_enter_backpressure", escalate_nowhere)
    result = run_soak(1, steps=300)
    assert result.stalls_escalated >= 1
    assert any("OE never saw" in v for v in result.violations)


def test_soak_main_prints_a_summary_writes_a_report_and_exits_zero(tmp_path: Path) -> None:
    assert soak_main(seeds=2, steps=150, out=tmp_path) == 0
    report = json.loads((tmp_path / "soak.json").read_text())
    assert report["summary"]["seeds"] == 2
    assert report["summary"]["failed_seeds"] == []
    assert [r["seed"] for r in report["results"]] == [1, 2]


def test_soak_main_exits_non_zero_on_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(seed: int, *, steps: int, config: object = None) -> SoakResult:
        result = run_soak(seed, steps=steps)
        result.ok = False
        result.violations = ("a planted violation",)
        return result

    monkeypatch.setattr(soak_command, "run_soak", broken)
    assert soak_main(seed=7, steps=100, out=tmp_path) == 1
    report = json.loads((tmp_path / "soak.json").read_text())
    assert report["summary"]["failed_seeds"] == [7]
    assert report["results"][0]["reason"] == "seed 7: a planted violation"


def test_a_task_the_pa_leaks_fails_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    original = FactBuilder.gap
    leaked: list[asyncio.Task[None]] = []

    async def forever() -> None:
        await asyncio.Event().wait()

    def gap_and_leak(self: FactBuilder, ctx: SocketContext, recv_ts: int, detail: GapDetail) -> None:
        if not leaked:
            leaked.append(asyncio.get_running_loop().create_task(forever(), name="leaked-by-a-bug"))
        original(self, ctx, recv_ts, detail)

    monkeypatch.setattr(FactBuilder, "gap", gap_and_leak)
    result = run_soak(1, steps=200)
    assert leaked
    assert any("leaked" in v and "leaked-by-a-bug" in v for v in result.violations)
