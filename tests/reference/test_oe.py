"""OE sends intents as "OE", records each with its ack, and learns outcomes only from facts relayed by Paper."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from pa_harness.reference import ReferenceOE, TradingHalted
from platform_adapter.mic import AckStatus, HealthReason, HealthSignal, HealthState, OrderType, Stream
from platform_adapter.transport.inproc import InProcIntentChannel
from tests.reference import samples
from tests.reference.harness import running
from tests.reference.samples import ACCOUNT_ID, SYMBOL, command, execution_report, fill, order

TS = "2026-11-25T14:30:01.250Z"


async def test_intents_go_out_as_oe_with_fresh_uuid4_hex_ids() -> None:
    async with running() as run:
        first = await run.system.oe.submit_market(ACCOUNT_ID, SYMBOL, "Buy", 1)
        second = await run.system.oe.submit_limit(ACCOUNT_ID, SYMBOL, "Sell", 2, 6012.25)

    senders = [sender for _, sender in run.pa.received]
    ids = [intent.intent_id for intent, _ in run.pa.received]
    assert senders == ["OE", "OE"]
    assert ids == [first.intent_id, second.intent_id]
    assert ids[0] != ids[1]
    assert all(uuid.UUID(hex=i).version == 4 and i == uuid.UUID(hex=i).hex for i in ids)


async def test_each_intent_and_its_ack_are_recorded() -> None:
    async with running() as run:
        ack = await run.system.oe.submit_limit(ACCOUNT_ID, SYMBOL, "Buy", 2, 6012.25)
        row = run.system.db.execute("SELECT * FROM oe_intents WHERE intent_id = ?", (ack.intent_id,)).fetchone()

    assert row["type"] == "submit_order"
    body = json.loads(row["body"])
    assert (body["symbol"], body["qty"], body["price"], body["order_type"]) == (SYMBOL, 2, 6012.25, "Limit")
    assert row["sent_ts"] > 0
    assert row["ack_status"] == "accepted"
    assert json.loads(row["ack_body"])["platform_order_id"] == 9001
    assert row["ack_ts"] >= row["sent_ts"]


async def test_outcome_comes_from_a_fill_fact_carrying_the_intent_id_never_from_the_ack() -> None:
    async with running() as run:
        oe, pa = run.system.oe, run.pa
        ack = await oe.submit_market(ACCOUNT_ID, SYMBOL, "Buy", 2)
        assert ack.status == AckStatus.ACCEPTED
        assert oe.outcome(ack.intent_id).status is None  # accepted is not an outcome

        await pa.emit(pa.feed.props("fill", "Created", fill(501, 7777, 2, 6012.25, TS)))  # someone else's order
        await oe.wait_until(lambda: oe.events_seen == 1, timeout=2)
        assert oe.outcome(ack.intent_id).status is None

        await pa.emit(pa.feed.props("fill", "Created", fill(502, 9001, 2, 6012.5, TS), correlation_id=ack.intent_id))
        outcome = await oe.wait_outcome(ack.intent_id, statuses={"Filled"}, timeout=2)

    assert outcome.filled_qty == 2
    assert outcome.order_ids == {9001}
    assert outcome.steps[-1].entity_type == "fill"


async def test_a_partial_fill_then_an_execution_report_filled() -> None:
    async with running() as run:
        oe, pa = run.system.oe, run.pa
        ack = await oe.submit_market(ACCOUNT_ID, SYMBOL, "Buy", 3)
        corr = ack.intent_id
        await pa.emit(pa.feed.props("fill", "Created", fill(1, 9001, 1, 6012.25, TS), correlation_id=corr))
        partial = await oe.wait_outcome(corr, statuses={"PartiallyFilled"}, timeout=2)
        assert partial.filled_qty == 1

        report = execution_report(3, 9001, 4, "Trade", "Filled", TS, cum_qty=3, last_qty=2, last_px=6012.5)
        await pa.emit(pa.feed.props("executionReport", "Created", report, correlation_id=corr))
        done = await oe.wait_outcome(corr, statuses={"Filled"}, timeout=2)

    assert [s.status for s in done.steps] == ["PartiallyFilled", "Filled"]


async def test_a_late_working_report_does_not_undo_filled() -> None:
    async with running() as run:
        oe, pa = run.system.oe, run.pa
        ack = await oe.submit_market(ACCOUNT_ID, SYMBOL, "Buy", 1)
        corr = ack.intent_id
        await pa.emit(
            pa.feed.props("order", "Updated", order(9001, "Filled", TS), correlation_id=corr),
            pa.feed.props("order", "Updated", order(9001, "Working", TS), correlation_id=corr),
        )
        await oe.wait_until(lambda: oe.events_seen == 2, timeout=2)

    outcome = oe.outcome(corr)
    assert outcome.status == "Filled"
    assert [s.status for s in outcome.steps] == ["Filled", "Working"]
    assert "not applied" in outcome.steps[-1].detail


async def test_a_platform_rejection_in_the_placement_response_resolves_as_rejected() -> None:
    async with running() as run:
        oe, pa = run.system.oe, run.pa
        ack = await oe.submit_market(ACCOUNT_ID, SYMBOL, "Buy", 1)
        refusal = {"failureReason": "SessionClosed", "failureText": "Session is closed"}
        await pa.emit(pa.feed.response(12, refusal, correlation_id=ack.intent_id))
        outcome = await oe.wait_outcome(ack.intent_id, statuses={"Rejected"}, timeout=2)

    assert outcome.steps[-1].detail == "Session is closed"


async def test_cancel_resolves_from_the_order_canceled_fact() -> None:
    async with running() as run:
        oe, pa = run.system.oe, run.pa
        placed = await oe.submit_limit(ACCOUNT_ID, SYMBOL, "Buy", 1, 6000.0)
        assert placed.platform_order_id == 9001
        cancel = await oe.cancel(9001)
        await pa.emit(pa.feed.props("order", "Updated", order(9001, "Canceled", TS), correlation_id=placed.intent_id))
        await oe.wait_outcome(cancel.intent_id, statuses={"Canceled"}, timeout=2)

    assert oe.outcome(placed.intent_id).status == "Canceled"


async def test_an_unknown_ack_is_resolved_by_the_snapshot_through_the_command_clordid() -> None:
    async with running() as run:
        oe, pa = run.system.oe, run.pa
        pa.ack_status = AckStatus.UNKNOWN  # e.g. the socket dropped after the request was sent
        ack = await oe.submit_market(ACCOUNT_ID, SYMBOL, "Sell", 1)
        assert ack.platform_order_id is None
        snapshot = {
            "users": [{"id": 7}],
            "commands": [command(61, 4242, ack.intent_id, TS)],
            "orders": [order(4242, "Filled", TS, action="Sell")],
        }
        await pa.emit(pa.feed.event(Stream.SYNC_SNAPSHOT, json.dumps({"s": 200, "i": 9, "d": snapshot})))
        outcome = await oe.wait_outcome(ack.intent_id, statuses={"Filled"}, timeout=2)

    assert outcome.order_ids == {4242}
    assert outcome.command_ids == {61}


async def test_wait_outcome_times_out_naming_the_current_status() -> None:
    async with running() as run:
        ack = await run.system.oe.submit_market(ACCOUNT_ID, SYMBOL, "Buy", 1)
        with pytest.raises(TimeoutError, match="status None"):
            await run.system.oe.wait_outcome(ack.intent_id, statuses={"Filled"}, timeout=0.05)


async def test_halted_follows_the_last_health_signal_and_blocks_risk_adding_intents() -> None:
    async with running() as run:
        oe, pa = run.system.oe, run.pa
        await pa.signal(HealthState.UP, halt=False)
        await oe.wait_health(lambda s: s.state == HealthState.UP, timeout=2)
        assert not oe.halted

        await pa.signal(HealthState.DEGRADED, halt=True, reasons=(HealthReason.CONSUMER_BACKPRESSURE,))
        await oe.wait_health(lambda s: s.halt_required, timeout=2)
        assert oe.halted
        with pytest.raises(TradingHalted, match="consumer_backpressure"):
            await oe.submit_market(ACCOUNT_ID, SYMBOL, "Buy", 1)
        with pytest.raises(TradingHalted):
            await oe.cancel_replace(9001, 2, OrderType.MARKET)
        await oe.flatten(SYMBOL)  # reducing risk is still allowed
        await oe.kill("halted")

        await pa.signal(HealthState.UP, halt=False)
        await oe.wait_health(lambda s: not s.halt_required, timeout=2)
        assert not oe.halted
        rows = run.system.db.execute("SELECT state, halt_required FROM oe_health ORDER BY transition_id").fetchall()

    assert [type(intent).__name__ for intent, _ in pa.received] == ["Flatten", "Kill"]
    assert [(r["state"], r["halt_required"]) for r in rows] == [("PA_UP", 0), ("PA_DEGRADED", 1), ("PA_UP", 0)]
    assert [s.state for s in oe.health_transitions()] == [HealthState.UP, HealthState.DEGRADED, HealthState.UP]


async def test_a_repeated_health_signal_is_not_a_transition() -> None:
    async with running() as run:
        oe, pa = run.system.oe, run.pa
        for _ in range(3):
            await pa.signal(HealthState.DOWN, halt=True, reasons=(HealthReason.GAVE_UP,))
        await oe.wait_health(lambda s: s.seq == 3, timeout=2)

    assert len(oe.health_transitions()) == 1


def test_oe_follows_the_health_of_the_greatest_lease_epoch_and_ignores_a_deposed_instance() -> None:
    oe = ReferenceOE(InProcIntentChannel(), ":memory:")
    now = 1_796_000_000_000_000_000

    def health(state: HealthState, epoch: int | None, ts: int) -> HealthSignal:
        halt = state is not HealthState.UP
        return HealthSignal(state=state, halt_required=halt, since=ts, ts=ts, seq=1, lease_epoch=epoch)

    oe.apply_health(health(HealthState.UP, 9, now))  # the new holder
    oe.apply_health(health(HealthState.DOWN, 5, now + 1))  # the deposed one's late PA_DOWN not_leader
    assert not oe.halted
    oe.apply_health(health(HealthState.DOWN, None, now + 2))  # OE's own fail-closed signal carries no epoch
    assert oe.halted
    assert [s.lease_epoch for s in oe.health_transitions()] == [9, None]


async def test_a_delivery_hole_reaches_oe_as_an_integrity_alert() -> None:
    async with running() as run:
        oe, pa = run.system.oe, run.pa
        await pa.emit(pa.feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT))
        pa.feed.skip(2)
        await pa.emit(pa.feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT))
        await oe.wait_until(lambda: len(oe.integrity_alerts()) == 1, timeout=2)

    assert json.loads(oe.integrity_alerts()[0].payload)["missing"] == 2


async def test_an_intent_without_any_account_is_refused_before_sending() -> None:
    oe = ReferenceOE(InProcIntentChannel(), ":memory:")  # no account_id, and no PA serving the channel

    with pytest.raises(ValueError, match="account_id"):
        await asyncio.wait_for(oe.cancel(9001), timeout=2)
    assert oe.outcomes() == []


async def test_an_exception_in_the_block_leaves_the_system_unwrapped() -> None:
    with pytest.raises(KeyError):
        async with running() as run:
            run.system.oe.outcome("never-sent")
