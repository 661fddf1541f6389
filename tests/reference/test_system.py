"""The reference system: facts go PA -> U -> Paper -> OE over the in-process channels, and it stops cleanly."""

from __future__ import annotations

import asyncio

import pytest

from pa_harness.reference import ReferenceSystem
from platform_adapter.mic import Stream
from platform_adapter.transport.inproc import InProcFactChannel, InProcHealthChannel, InProcIntentChannel
from tests.reference import samples
from tests.reference.harness import running
from tests.reference.samples import ACCOUNT_ID, SYMBOL, Feed, execution_report

TS = "2026-11-25T14:30:01.250Z"


async def test_an_execution_outcome_reaches_oe_through_u_and_paper() -> None:
    async with running() as run:
        system, pa = run.system, run.pa
        ack = await system.oe.submit_market(ACCOUNT_ID, SYMBOL, "Buy", 1)
        report = execution_report(5, 9001, 6, "Trade", "Filled", TS, cum_qty=1, last_qty=1, last_px=6012.25)
        await pa.emit(pa.feed.props("executionReport", "Created", report, correlation_id=ack.intent_id))
        outcome = await system.oe.wait_outcome(ack.intent_id, statuses={"Filled"}, timeout=2)

        (written,) = system.u.events()
        (relayed,) = system.paper.relayed()

    assert written.event_type == "props.executionReport.Created"
    assert relayed == written
    assert outcome.steps[-1].event_seq == written.seq


async def test_the_system_stops_its_tasks_and_leaks_none() -> None:
    before = asyncio.all_tasks()
    async with running() as run:
        await run.pa.emit(run.pa.feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT))
        await run.system.oe.wait_until(lambda: run.system.oe.events_seen == 1, timeout=2)
        during = asyncio.all_tasks() - before
        assert {t.get_name() for t in during} >= {"reference-u", "reference-paper", "reference-oe"}

    assert all(task.done() for task in during)
    assert asyncio.all_tasks() == before


async def test_facts_still_queued_at_exit_are_persisted() -> None:
    facts, health, intents = InProcFactChannel(), InProcHealthChannel(), InProcIntentChannel()
    feed = Feed()
    async with ReferenceSystem(":memory:", facts=facts, health=health, intents=intents) as system:
        await facts.deliver([feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT) for _ in range(3)])
        db = system.db
        u = system.u
    # no await between delivering and leaving: U's task never ran, the exit drained the queue into U

    assert u.counters.facts == 3
    assert facts.queue.empty()
    with pytest.raises(Exception, match="closed"):
        db.execute("SELECT 1")


async def _run_with_a_broken_u() -> None:
    facts, health, intents = InProcFactChannel(), InProcHealthChannel(), InProcIntentChannel()
    async with ReferenceSystem(":memory:", facts=facts, health=health, intents=intents):
        facts.queue.put_nowait("not an envelope")  # type: ignore[arg-type]  # stands in for a bug in U
        await asyncio.wait_for(asyncio.Event().wait(), timeout=2)  # cancelled when U's task fails


async def test_a_failing_module_surfaces_when_the_system_stops() -> None:
    with pytest.raises(ExceptionGroup) as raised:
        await _run_with_a_broken_u()

    assert raised.group_contains(AttributeError)
