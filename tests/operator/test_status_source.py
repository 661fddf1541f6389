"""The status snapshot of a running PA (simulator + PA + reference U/Paper/OE), read headless."""

from __future__ import annotations

import asyncio
import io

import msgspec
import pytest
from rich.console import Console

from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckStatus, OrderAction
from platform_adapter.operator import StatusSource, render_status
from platform_adapter.operator.snapshot import RateMeter
from tests.integration.harness import ACCOUNT_ID, market_order

from .running import running_with_tap

ESZ6_ID = 3570918


def _last_quote_sent(sim: object, contract_id: int) -> dict[str, object]:
    for message in reversed(sim.sent_messages(kind="md")):  # type: ignore[attr-defined]
        body = msgspec.json.decode(message.text)
        quotes = body.get("d", {}).get("quotes") if body.get("e") == "md" else None
        if quotes and quotes[-1]["contractId"] == contract_id:
            entries: dict[str, object] = quotes[-1]["entries"]
            return entries
    raise AssertionError("no quote sent")


async def test_the_snapshot_shows_sockets_subscriptions_and_the_last_quote_exactly_as_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running_with_tap(monkeypatch) as (h, tap):
        await h.up()
        await h.sim.step_market(60)
        await h.drained()
        snapshot = StatusSource(h.stack.adapter, h.stack.platform, tap).snapshot()
        assert (snapshot.health.state, snapshot.health.halt_required) == ("PA_UP", False)
        assert {(s.role, s.state, s.epoch) for s in snapshot.sockets} == {("trading", "up", 1), ("md", "up", 1)}
        es = next(c for c in snapshot.contracts if c.symbol == "ESZ6")
        assert es.subscriptions[0] == "quotes"
        bid = _last_quote_sent(h.sim, ESZ6_ID)["Bid"]
        assert isinstance(bid, dict)
        assert f"bid {bid['price']}x{bid['size']}" in es.quote
        assert es.bar.startswith("1m O ")
        assert es.tick.startswith("packet of ")
        assert snapshot.outbox.received == snapshot.outbox.delivered == tap.delivered
        assert {s.stream for s in snapshot.streams} >= {"quote", "chart_bar", "chart_tick", "dom", "sync_snapshot"}


async def test_the_snapshot_ties_intents_to_acks_facts_and_resolutions(monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_with_tap(monkeypatch) as (h, tap):
        await h.up()
        filled = await h.oe.submit_market(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1)
        await h.oe.wait_outcome(filled.intent_id, {"Filled"}, timeout=10)
        h.sim.faults.drop_order_replies(1)
        lost = market_order("lost-reply", action=OrderAction.SELL)
        pending = asyncio.ensure_future(h.stack.intents.call(lost, OE_IDENTITY))
        await h.until(lambda: len(h.sim.received_requests("order/placeorder")) == 2, what="order sent")
        await h.advance(3.5)
        assert (await pending).status is AckStatus.UNKNOWN
        await h.until(lambda: not h.stack.adapter.intents.ledger.unresolved(), what="resolution")
        await h.drained()
        snapshot = StatusSource(h.stack.adapter, h.stack.platform, tap).snapshot()
        newest, oldest = snapshot.intents
        assert (newest.intent_id, newest.status, newest.reason) == ("lost-reply", "unknown", "timeout")
        assert newest.resolution.startswith("resolved by facts")
        assert (oldest.what, oldest.status) == ("submit Market Buy 1 ESZ6", "accepted")
        assert oldest.platform_ids == f"order {filled.platform_order_id}"
        assert oldest.facts > 0 and newest.facts > 0  # platform facts carried the intent id
        assert snapshot.unresolved_intents == 0


async def test_a_reconnect_shows_the_new_epoch_the_loss_and_the_gap_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_with_tap(monkeypatch) as (h, tap):
        await h.up()
        await h.sim.faults.close_sockets("md")
        await h.until(lambda: h.stack.adapter.health.state.value != "PA_UP", what="degraded")
        source = StatusSource(h.stack.adapter, h.stack.platform, tap)
        during = source.snapshot()
        md = next(s for s in during.sockets if s.role == "md")
        assert md.state == "reconnecting"
        assert during.health.halt_required and "socket_closed" in during.health.reasons
        await h.advance(5.0)
        await h.up()
        await h.drained()
        after = source.snapshot()
        md = next(s for s in after.sockets if s.role == "md")
        assert (md.state, md.epoch, md.reconnects) == ("up", 2, 1)
        assert md.last_loss.startswith("socket_closed")
        assert after.gaps and {g.connection for g in after.gaps} == {"md"}
        assert any(g.epochs == "1->2" and g.backfill == "requested" for g in after.gaps)
        console = Console(record=True, width=160, file=io.StringIO(), color_system=None)
        console.print(render_status(after))
        text = console.export_text()
        assert "recent gaps reported to U" in text and "1->2" in text


def test_rates_are_counter_differences_over_the_window() -> None:
    now = [0.0]
    meter = RateMeter(window_s=2.0, monotonic=lambda: now[0])
    assert meter.update({"quote": 0}) == {"quote": 0.0}
    now[0] = 1.0
    assert meter.update({"quote": 50}) == {"quote": 50.0}
    now[0] = 2.0
    assert meter.update({"quote": 150}) == {"quote": 75.0}
    now[0] = 4.0
    assert meter.update({"quote": 150, "dom": 10}) == {"quote": 0.0, "dom": 5.0}  # the window slid past t=2
