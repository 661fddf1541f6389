"""Acceptance D: OE intents executed on Tradovate with receipt-acks; outcomes reach OE only via U -> Paper -> OE.

Intents take OE's path on both transports: `h.stack.intents` is OE's side (the in-process channel, or a
`NatsIntentCaller` connected as NATS user `oe`).
"""

from __future__ import annotations

import ast
import asyncio
import json
import pathlib

import pytest

from platform_adapter.config import Mode
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import (
    AckReason,
    AckStatus,
    Cancel,
    FactKind,
    Kill,
    OrderAction,
    OrderType,
    ResetKill,
    Stream,
    SubmitOrder,
    TimeInForce,
)
from platform_adapter.mic.codec import encode
from platform_adapter.transport.nats import Module
from platform_adapter.transport.nats.subjects import INTENT_SUBJECT

from .harness import ACCOUNT_ID, Harness, Transport, running
from .harness import market_order as order

ESZ6_ID = 3570918
SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "platform_adapter"


def last_price(h: Harness) -> float:
    spec = next(c for c in h.sim.config.contracts if c.id == ESZ6_ID)
    tick = h.sim.market.contract(ESZ6_ID).last
    assert tick is not None
    return float(spec.price(tick.price))


async def test_acceptance_D_submit_is_acked_with_order_id_and_the_fill_reaches_oe_via_u_and_paper(
    transport: Transport,
) -> None:
    async with running(transport) as h:
        await h.up()
        ack = await h.oe.submit_market(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1)
        assert ack.status is AckStatus.ACCEPTED
        assert ack.platform_order_id is not None
        outcome = await h.oe.wait_outcome(ack.intent_id, {"Filled"}, timeout=10)
        assert outcome.status == "Filled"
        assert ack.platform_order_id in outcome.order_ids
        assert outcome.steps  # every step is an EventStream record U wrote and Paper relayed
        assert all(step.event_seq > 0 for step in outcome.steps)
        paper_seqs = {record.seq for record in h.system.paper.relayed()}
        assert {step.event_seq for step in outcome.steps} <= paper_seqs
        # OE may see "Filled" (an order event) before U has stored the fill entity sent after it.
        await h.drained()
        fills = [f for f in h.u_facts() if f.stream is Stream.PROPS and b'"entityType":"fill"' in bytes(f.payload)]
        assert fills
        assert all(f.correlation_id == ack.intent_id for f in fills)
        placed = h.sim.received_requests("order/placeorder")
        assert len(placed) == 1
        assert f'"clOrdId":"{ack.intent_id}"' in placed[0].body
        assert '"isAutomated":true' in placed[0].body


def test_acceptance_D_the_pa_has_no_path_to_oe_but_acks_and_health() -> None:
    # The PA's code (all of src/platform_adapter, CLI included) never imports the harness that holds the
    # reference U / Paper / OE, nor the simulator; its only ports towards OE are the intent call's return value
    # (the ReceiptAck) and the HealthSink. (The same rule is an import-linter contract in `make test`.)
    pa_modules = list(SRC.rglob("*.py"))
    assert len(pa_modules) > 60
    for path in pa_modules:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                assert not name.startswith(("pa_harness", "tradovate_sim")), f"{path} imports {name}"
    ports = (SRC / "core" / "ports.py").read_text()
    assert "class HealthSink" in ports
    assert "IntentHandler = Callable[[Intent, str], Awaitable[ReceiptAck]]" in ports


@pytest.mark.parametrize(
    ("intent", "reason"),
    [
        (order("bad-account", account_id=999), AckReason.UNKNOWN_ACCOUNT),
        (order("bad-symbol", symbol="ZZZ9"), AckReason.UNKNOWN_SYMBOL),
        (order("bad-qty", qty=0), AckReason.INVALID_QTY),
        (order("no-price", order_type=OrderType.LIMIT), AckReason.MISSING_PRICE),
        (order("off-grid", order_type=OrderType.LIMIT, price=6000.1), AckReason.OFF_TICK_GRID),
    ],
)
async def test_acceptance_D_a_bad_intent_fails_with_its_reason_and_the_platform_receives_nothing(
    intent: SubmitOrder, reason: AckReason, transport: Transport
) -> None:
    async with running(transport) as h:
        await h.up()
        ack = await h.stack.intents.call(intent, OE_IDENTITY)
        assert (ack.status, ack.reason) == (AckStatus.FAILED, reason)
        assert ack.detail
        assert h.sim.received_requests("order/placeorder") == []


async def test_acceptance_D_an_intent_from_anyone_but_oe_is_never_executed(transport: Transport) -> None:
    # In process the PA refuses any sender but OE (also tests/core/test_intent_gate.py). Over NATS the sender is the
    # user the server authenticated, and the server refuses any other user's publish on `pa.intents`
    # (tests/transport/test_intents.py::test_only_oe_may_publish_intents_the_server_refuses_any_other_user).
    async with running(transport) as h:
        await h.up()
        if h.nats is None:
            forged = await h.stack.intents.call(order("forged"), "U")
            assert (forged.status, forged.reason) == (AckStatus.FAILED, AckReason.NOT_FROM_OE)
        else:
            refusal = await h.nats.refused_publish(Module.U, INTENT_SUBJECT, encode(order("forged")))
            assert 'permissions violation for publish to "pa.intents"' in refusal.lower()
        real = await h.oe.submit_market(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1)
        assert real.status is AckStatus.ACCEPTED
        placed = h.sim.received_requests("order/placeorder")
        assert len(placed) == 1  # OE's order, and only OE's
        assert f'"clOrdId":"{real.intent_id}"' in placed[0].body
        if h.nats is not None:
            assert h.nats.stack.pa.intents.served == 1  # the forged intent never reached the PA


async def test_acceptance_D_an_unanswered_order_is_unknown_then_resolved_by_facts_and_never_sent_twice(
    transport: Transport,
) -> None:
    async with running(transport) as h:
        await h.up()
        h.sim.faults.drop_order_replies(1)
        intent = order("lost-reply")
        pending = asyncio.ensure_future(h.stack.intents.call(intent, OE_IDENTITY))
        await h.until(lambda: len(h.sim.received_requests("order/placeorder")) == 1, what="order sent")
        await h.advance(3.5)
        ack = await pending
        assert (ack.status, ack.reason) == (AckStatus.UNKNOWN, AckReason.TIMEOUT)
        await h.until(lambda: not h.stack.adapter.intents.ledger.unresolved(), what="resolution from facts")
        again = await h.stack.intents.call(intent, OE_IDENTITY)
        assert again.duplicate
        assert again.status is AckStatus.UNKNOWN
        assert len(h.sim.received_requests("order/placeorder")) == 1  # no second order
        await h.drained()
        commands = [
            f for f in h.u_facts() if f.correlation_id == "lost-reply" and b'"entityType":"command"' in bytes(f.payload)
        ]
        assert commands  # the platform's own record of the order reached U, tied to the intent


async def test_acceptance_D_a_fill_during_a_disconnect_is_forwarded_after_the_resync(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        price = last_price(h) - 0.5
        ack = await h.oe.submit_limit(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1, price)
        assert ack.status is AckStatus.ACCEPTED
        await h.oe.wait_outcome(ack.intent_id, {"Working"}, timeout=10)
        await h.sim.faults.close_sockets("trading")
        await h.until(lambda: not h.stack.platform.trading.ready.is_set(), what="trading down")  # type: ignore[union-attr]
        for _ in range(40):  # the seeded market walks; stop once it has traded through the limit
            await h.sim.step_market(25)
            if last_price(h) < price:
                break
        assert last_price(h) < price, "the seeded market never crossed the limit: pick another price"
        await h.advance(5.0)
        await h.up()
        outcome = await h.oe.wait_outcome(ack.intent_id, {"Filled"}, timeout=10)
        assert outcome.status == "Filled"
        await h.drained()
        snapshots = [f for f in h.u_facts() if f.stream is Stream.SYNC_SNAPSHOT]
        assert len(snapshots) == 2
        assert b'"fills":[{' in bytes(snapshots[-1].payload)
        gaps = [f for f in h.facts_of(FactKind.GAP) if f.stream is Stream.PROPS]
        assert len(gaps) == 1


async def test_acceptance_D_kill_cancels_liquidates_latches_and_flat_is_confirmed_by_facts(
    transport: Transport,
) -> None:
    async with running(transport) as h:
        await h.up()
        buy = await h.oe.submit_market(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 2)
        await h.oe.wait_outcome(buy.intent_id, {"Filled"}, timeout=10)
        resting = await h.oe.submit_limit(ACCOUNT_ID, "NQZ6", OrderAction.BUY, 1, 1000.0)
        await h.oe.wait_outcome(resting.intent_id, {"Working"}, timeout=10)
        kill = await h.stack.intents.call(Kill(intent_id="kill-1", account_id=ACCOUNT_ID, reason="test"), OE_IDENTITY)
        assert kill.status is AckStatus.ACCEPTED
        assert len(kill.platform_order_ids) == 1  # one liquidation: the ESZ6 position
        await h.oe.wait_outcome(resting.intent_id, {"Canceled"}, timeout=10)
        await h.drained()
        positions = [
            f for f in h.u_facts() if f.stream is Stream.PROPS and b'"entityType":"position"' in bytes(f.payload)
        ]
        assert b'"netPos":0' in bytes(positions[-1].payload)  # flat, from the platform's own fact
        refused = await h.stack.intents.call(order("after-kill"), OE_IDENTITY)
        assert (refused.status, refused.reason) == (AckStatus.FAILED, AckReason.KILL_LATCHED)
        reset = await h.stack.intents.call(ResetKill(intent_id="reset-1", account_id=ACCOUNT_ID), OE_IDENTITY)
        assert reset.status is AckStatus.ACCEPTED
        assert (await h.stack.intents.call(order("after-reset"), OE_IDENTITY)).status is AckStatus.ACCEPTED


async def test_acceptance_D_flatten_all_liquidates_every_open_position(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        for symbol in ("ESZ6", "NQZ6"):
            ack = await h.oe.submit_market(ACCOUNT_ID, symbol, OrderAction.SELL, 1)
            await h.oe.wait_outcome(ack.intent_id, {"Filled"}, timeout=10)
        flat = await h.oe.flatten(None, account_id=ACCOUNT_ID)
        assert flat.status is AckStatus.ACCEPTED
        assert len(flat.platform_order_ids) == 2
        for order_id in flat.platform_order_ids:
            await h.until(
                lambda oid=order_id: any(  # type: ignore[misc]
                    f'"id":{oid}'.encode() in bytes(f.payload) and b'"ordStatus":"Filled"' in bytes(f.payload)
                    for f in h.u_facts()
                ),
                what=f"liquidation {order_id} filled",
            )


async def test_acceptance_D_cancel_of_a_working_order_is_acked_with_the_command_id(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        resting = await h.oe.submit_limit(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1, 1000.0)
        await h.oe.wait_outcome(resting.intent_id, {"Working"}, timeout=10)
        assert resting.platform_order_id is not None
        cancel = await h.stack.intents.call(
            Cancel(intent_id="cancel-1", account_id=ACCOUNT_ID, order_id=resting.platform_order_id), OE_IDENTITY
        )
        assert cancel.status is AckStatus.ACCEPTED
        assert cancel.platform_command_id is not None
        await h.oe.wait_outcome(resting.intent_id, {"Canceled"}, timeout=10)


async def test_acceptance_D_sim_mode_refuses_every_intent_while_market_data_flows(transport: Transport) -> None:
    async with running(transport, mode=Mode.SIM) as h:
        await h.up()
        ack = await h.stack.intents.call(order("in-sim"), OE_IDENTITY)
        assert (ack.status, ack.reason) == (AckStatus.FAILED, AckReason.MODE_NOT_LIVE)
        await h.sim.step_market(50)
        await h.until(lambda: any(f.stream is Stream.QUOTE for f in h.u_facts()), what="quotes")
        assert h.sim.received_requests("order/placeorder") == []
        assert h.sim.connections("trading") == []  # market ingress only
        assert {f.mode.value for f in h.u_facts()} == {"SIM"}


@pytest.mark.parametrize(
    ("order_type", "tif", "price_offset", "stop_offset"),
    [
        (OrderType.STOP, TimeInForce.GTC, None, 50.0),
        (OrderType.STOP_LIMIT, TimeInForce.DAY, 50.25, 50.0),
        (OrderType.LIMIT, TimeInForce.IOC, -50.0, None),
        (OrderType.LIMIT, TimeInForce.FOK, -50.0, None),
    ],
)
async def test_acceptance_D_every_order_type_and_time_in_force_reaches_the_platform_as_specified(
    order_type: OrderType, tif: TimeInForce, price_offset: float | None, stop_offset: float | None, transport: Transport
) -> None:
    async with running(transport) as h:
        await h.up()
        base = round(last_price(h) * 4) / 4
        intent = order(
            f"{order_type.value}-{tif.value}",
            order_type=order_type,
            time_in_force=tif,
            price=None if price_offset is None else base + price_offset,
            stop_price=None if stop_offset is None else base + stop_offset,
        )
        ack = await h.stack.intents.call(intent, OE_IDENTITY)
        assert ack.status is AckStatus.ACCEPTED, ack
        body = json.loads(h.sim.received_requests("order/placeorder")[0].body)
        assert body["orderType"] == order_type.value
        assert body["timeInForce"] == tif.value
        assert body["isAutomated"] is True
        assert body["clOrdId"] == intent.intent_id
        assert body.get("price") == intent.price
        assert body.get("stopPrice") == intent.stop_price
        assert {"accountId", "accountSpec", "symbol", "action", "orderQty"} <= set(body)  # the spec 3.1 body


async def test_an_order_during_a_penalty_cool_down_fails_unsent_and_a_penalized_order_is_unknown(
    transport: Transport,
) -> None:
    async with running(transport) as h:
        await h.up()
        h.sim.faults.penalty(n=1, seconds=30, endpoint="order/placeorder")
        first = await h.stack.intents.call(order("penalized"), OE_IDENTITY)
        assert (first.status, first.reason) == (AckStatus.UNKNOWN, AckReason.PENALTY)  # sent; not re-sent
        second = await h.stack.intents.call(order("during-cool-down"), OE_IDENTITY)
        assert (second.status, second.reason) == (AckStatus.FAILED, AckReason.PENALTY)  # refused before sending
        assert len(h.sim.received_requests("order/placeorder")) == 1
