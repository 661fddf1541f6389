"""The status view is a pure function of a snapshot: rendered headless, it shows what an operator needs."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

from rich.console import Console

from platform_adapter.operator.snapshot import (
    ConditionStatus,
    ContractStatus,
    GapStatus,
    HealthStatus,
    IntentStatus,
    OutboxStatus,
    SocketStatus,
    StatusSnapshot,
    StreamRate,
)
from platform_adapter.operator.view import depth_bar, render_status


def snapshot(**overrides: Any) -> StatusSnapshot:
    values: dict[str, Any] = {
        "title": "Platform Adapter",
        "mode": "LIVE",
        "run_id": "0123456789abcdef",
        "at": "14:30:07",
        "health": HealthStatus("PA_UP", False, (), "", 12.5),
        "sockets": (
            SocketStatus("trading", "up", 1, 40, 0.5, 0),
            SocketStatus("md", "up", 3, 5_000, 120.0, 2, "socket_closed at 14:29:01.000: closed by the server"),
        ),
        "outbox": OutboxStatus(
            depth=0,
            capacity=100_000,
            low_watermark=20_000,
            high_watermark=50_000,
            in_backpressure=False,
            received=5_100,
            delivered=5_100,
            peak_depth=13,
            telemetry_shed=0,
            reader_pauses=0,
            sink_failures=0,
            facts_per_s=119.5,
        ),
        "streams": (StreamRate("quote", 2_000, 60.0), StreamRate("chart_bar", 30, 0.5)),
        "contracts": (
            ContractStatus(
                "ESZ6",
                ("quotes", "1m", "tick"),
                quote="bid 6816.25x63  ask 6816.5x35  last 6816.25x2",
                quote_ts="2026-11-25T14:30:07.035Z",
                bar="1m O 6816.25 H 6816.75 L 6816 C 6816.75",
                bar_ts="2026-11-25T14:30:00.000Z",
                tick="packet of 3 ticks",
                tick_ts="14:30:07.036",
            ),
            ContractStatus("NQZ6", ("quotes", "dom")),
        ),
        "intents": (
            IntentStatus(
                "lost-reply",
                "submit Market Buy 1 ESZ6",
                "unknown",
                "timeout",
                "no reply in 3 s",
                "",
                3000.0,
                False,
                "resolved by facts: command 52000001 seen",
                7,
            ),
            IntentStatus(
                "bad-qty",
                "submit Market Buy 0 ESZ6",
                "failed",
                "invalid_qty",
                "qty must be a positive integer, got 0",
                "",
                0.1,
                False,
                "",
                0,
            ),
            IntentStatus("i-1", "submit Market Buy 1 ESZ6", "accepted", "", "", "order 41000001", 2.1, False, "", 10),
        ),
        "gaps": (GapStatus("14:29:01.000", "md", "socket_closed", "2->3", "chart_bar", "ESZ6", "requested"),),
    }
    values.update(overrides)
    return StatusSnapshot(**values)


def text_of(view: object, width: int = 160) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(view)
    return console.export_text()


def test_the_view_shows_health_state_halt_and_each_condition_with_what_to_do() -> None:
    health = HealthStatus(
        "PA_DEGRADED",
        True,
        ("consumer_backpressure", "socket_closed"),
        "U is not keeping up",
        3.0,
        (
            ConditionStatus("link.md", "socket_closed", "PA_DEGRADED", True, "md socket: closed; reconnecting"),
            ConditionStatus("outbox.backpressure", "consumer_backpressure", "PA_DEGRADED", True, "U is not keeping up"),
        ),
    )
    text = text_of(render_status(snapshot(health=health)))
    assert "PA_DEGRADED for 3.0 s" in text
    assert "halt_required: YES" in text
    assert "reasons: consumer_backpressure, socket_closed" in text
    assert "socket_closed [link.md] halt: md socket: closed; reconnecting" in text


def test_the_view_shows_each_socket_with_state_epoch_rate_and_its_last_loss() -> None:
    text = text_of(render_status(snapshot()))
    md_row = next(line for line in text.splitlines() if line.strip().startswith("md "))
    assert md_row.split()[:5] == ["md", "│", "up", "│", "3"]
    assert "120.0" in md_row
    assert "last loss md: socket_closed at 14:29:01.000: closed by the server" in text


def test_the_view_shows_outbox_depth_against_watermarks_and_the_fact_accounting() -> None:
    outbox = dataclasses.replace(
        snapshot().outbox, depth=60_000, in_backpressure=True, received=70_000, delivered=10_000, telemetry_shed=41
    )
    text = text_of(render_status(snapshot(outbox=outbox)))
    assert "low 20,000  high 50,000  capacity 100,000" in text
    assert "BACKPRESSURE: halt requested" in text
    assert "70,000 received = 10,000 delivered + 60,000 queued" in text
    assert "telemetry shed 41" in text


def test_the_depth_bar_marks_the_watermarks_and_fills_to_the_depth() -> None:
    outbox = dataclasses.replace(snapshot().outbox, depth=25_000)
    bar = depth_bar(outbox, width=20).plain
    assert bar == "[####l.....H.........]"  # 25 % filled (5 of 20); low mark at 20 %, high mark at 50 %


def test_the_view_shows_subscriptions_and_last_values_per_contract_as_sent() -> None:
    text = text_of(render_status(snapshot()))
    assert "quotes, 1m, tick" in text
    assert "bid 6816.25x63  ask 6816.5x35  last 6816.25x2" in text
    assert "2026-11-25T14:30:07.035Z" in text
    assert "1m O 6816.25 H 6816.75 L 6816 C 6816.75" in text
    assert "packet of 3 ticks" in text
    assert "quotes, dom" in text


def test_the_view_shows_recent_intents_with_acks_platform_ids_and_resolutions() -> None:
    text = text_of(render_status(snapshot(unresolved_intents=1)), width=200)
    assert "1 unknown outcome(s) awaiting platform facts" in text
    assert "unknown (timeout)" in text
    assert "resolved by facts: command 52000001 seen" in text
    assert "failed (invalid_qty)" in text
    assert "qty must be a positive integer, got 0" in text
    assert "order 41000001" in text


def test_the_view_shows_recent_gaps_and_says_none_when_there_are_none() -> None:
    text = text_of(render_status(snapshot()))
    gap_row = next(line for line in text.splitlines() if "2->3" in line)
    assert [cell for cell in gap_row.split() if cell not in {"│", "14:29:01.000"}] == [
        "md",
        "socket_closed",
        "2->3",
        "chart_bar",
        "ESZ6",
        "requested",
    ]
    assert "none" in text_of(render_status(snapshot(gaps=())))


def test_the_view_fits_a_narrow_terminal_without_losing_the_health_line() -> None:
    text = text_of(render_status(snapshot()), width=100)
    assert "PA_UP for 12.5 s   halt_required: no" in text
    assert max(len(line) for line in text.splitlines()) <= 100
