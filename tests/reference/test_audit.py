"""One audit trail per intent: intent -> ack -> orderId -> commands, executionReports, fills, in delivery order."""

from __future__ import annotations

from pathlib import Path

import pytest

from pa_harness.reference import IntentNotFound, audit_trail, render_audit
from pa_harness.reference.store import open_db
from tests.reference.harness import Running, running
from tests.reference.samples import ACCOUNT_ID, SYMBOL, command, execution_report, fill, order

TS = "2026-11-25T14:30:01.250Z"


EXPECTED = [
    ("response", "s=200", None),
    ("command", "Created", 8101),
    ("order", "Created", 9001),
    ("executionReport", "Created", 31),
    ("executionReport", "Created", 32),
    ("fill", "Created", 41),
    ("order", "Updated", 9001),
]


async def _place_and_fill(run: Running) -> str:
    """Submit a market order and play the platform's answer, other orders' facts interleaved; the intent id."""
    oe, pa = run.system.oe, run.pa
    ack = await oe.submit_market(ACCOUNT_ID, SYMBOL, "Buy", 2)
    corr = ack.intent_id
    feed = pa.feed
    await pa.emit(
        feed.response(17, {"orderId": 9001}, correlation_id=corr),
        feed.props("command", "Created", command(8101, 9001, corr, TS), correlation_id=corr),
        feed.props("order", "Created", order(7777, "Working", TS)),  # another order, not in the trail
        feed.props("order", "Created", order(9001, "PendingNew", TS), correlation_id=corr),
        feed.props("executionReport", "Created", execution_report(31, 9001, 8101, "New", "Working", TS)),
        feed.props(
            "executionReport",
            "Created",
            execution_report(32, 9001, 8101, "Trade", "Filled", TS, cum_qty=2, last_qty=2, last_px=6012.5),
            correlation_id=corr,
        ),
        feed.props("fill", "Created", fill(41, 9001, 2, 6012.5, TS), correlation_id=corr),
        feed.props("fill", "Created", fill(42, 7777, 1, 6013.0, TS)),  # another order's fill
        feed.props("order", "Updated", order(9001, "Filled", TS), correlation_id=corr),
    )
    await oe.wait_until(lambda: oe.events_seen == 9, timeout=2)
    return corr


async def test_the_trail_lists_intent_ack_order_id_execution_reports_and_fills_in_delivery_order() -> None:
    async with running() as run:
        intent_id = await _place_and_fill(run)
        trail = audit_trail(run.system.db, intent_id)

    assert trail.intent_id == intent_id
    assert (trail.intent_type, trail.intent["qty"], trail.intent["symbol"]) == ("submit_order", 2, SYMBOL)
    assert trail.ack_status == "accepted"
    assert trail.ack is not None
    assert trail.ack["platform_order_id"] == 9001
    assert trail.order_ids == (9001,)
    assert trail.command_ids == (8101,)
    assert trail.request_ids == (17,)
    assert [(e.entity_type, e.event_type, e.entity_id) for e in trail.entries] == EXPECTED
    assert [e.delivery_seq for e in trail.entries] == sorted(e.delivery_seq for e in trail.entries)
    # the uncorrelated New report joined through its orderId
    assert [e.correlated for e in trail.entries if e.entity_type == "executionReport"] == [False, True]


async def test_render_shows_every_step_on_its_own_line() -> None:
    async with running() as run:
        intent_id = await _place_and_fill(run)
        rendered = render_audit(audit_trail(run.system.db, intent_id))

    lines = rendered.splitlines()
    assert intent_id in lines[0]
    assert "submit_order" in lines[0]
    assert any(line.startswith("ack      accepted") and "platform_order_id=9001" in line for line in lines)
    assert "orderIds=[9001]" in rendered
    assert "commandIds=[8101]" in rendered
    table = lines[lines.index("") + 2 :]
    assert [line.split()[3] for line in table] == [
        "response",
        "command",
        "order",
        "executionReport",
        "executionReport",
        "fill",
        "order",
    ]
    assert "clOrdId = intent_id" in rendered
    assert "Trade/Filled" in rendered
    assert "Buy 2@6012.5" in rendered
    assert "7777" not in rendered


async def test_the_trail_is_read_from_the_database_file_after_the_system_stopped(tmp_path: Path) -> None:
    db_path = tmp_path / "reference.db"
    async with running(db_path) as run:
        intent_id = await _place_and_fill(run)

    trail = audit_trail(db_path, intent_id)

    assert [(e.entity_type, e.event_type, e.entity_id) for e in trail.entries] == EXPECTED


def test_an_unknown_intent_id_is_a_typed_error(tmp_path: Path) -> None:
    db_path = tmp_path / "reference.db"
    open_db(db_path).close()

    with pytest.raises(IntentNotFound, match="nope"):
        audit_trail(db_path, "nope")
    with pytest.raises(FileNotFoundError):
        audit_trail(tmp_path / "missing.db", "nope")
