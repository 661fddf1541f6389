"""Restart without silent holes in market data (issue 17): a new run reports the previous run's gap and backfills.

The PA runs as `pa run` builds it in process (state directory: ledger, lease, where the facts delivered to U
ended). The first run delivers market data, then dies; the second run on the same state directory must write,
before anything else of its connections, gap facts naming the first run (`previous_run_id`, reason `pa_restart`)
and ask every chart again from the last bar (tick packet) the first run delivered.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from platform_adapter.mic import FactEnvelope, FactKind, GapDetail, Stream
from platform_adapter.mic.codec import decode_gap
from platform_adapter.tradovate.resume import RESTART

from .harness import settings_for
from .restarts import Pa, endpoints_of, simulator, until


async def test_a_restart_reports_the_previous_run_s_gap_and_backfills_charts_from_the_last_bar_u_holds(
    tmp_path: Path,
) -> None:
    async with simulator() as (sim, clock):
        settings = settings_for(sim, state_dir=tmp_path / "state")
        first = Pa(settings, endpoints_of(sim), clock)
        await first.up()
        for _ in range(30):  # market data flows; each delivered batch is noted, the file rewritten each second
            await sim.step_market(1)
            await clock.advance(0.2)
        await until(lambda: any(f.stream is Stream.CHART_TICK for f in first.take_facts()), clock, "tick packets")
        await clock.advance(1.1)
        await sim.step_market(1)
        await until(lambda: first.stack.adapter.outbox.depth == 0 and first.take_facts() != [], clock, "delivery")
        await first.crash()
        delivered = first.take_facts()
        first_md_connections = len(sim.received_requests("md/getChart"))

        second = Pa(settings, endpoints_of(sim), clock)
        await second.up()
        await until(lambda: any(f.backfill for f in second.take_facts()), clock, "backfilled chart facts")
        after = second.take_facts()
        charts_asked = sim.received_requests("md/getChart")[first_md_connections:]
        await second.crash()

    first_run, second_run = first.stack.platform.run_id, second.stack.platform.run_id
    gaps = [(f, decode_gap(bytes(f.payload))) for f in after if f.kind is FactKind.GAP]
    restart_gaps = [(f, g) for f, g in gaps if g.reason == RESTART]
    assert {(g.connection, g.streams, g.symbol) for _, g in restart_gaps} == {
        ("md", ("connection",), None),
        ("md", ("quote",), "ESZ6"),
        ("md", ("chart_bar",), "ESZ6"),
        ("md", ("chart_tick",), "ESZ6"),
        ("md", ("quote",), "NQZ6"),
        ("md", ("dom",), "NQZ6"),
        ("trading", ("connection",), None),
        ("trading", ("props",), None),
    }
    assert {g.previous_run_id for _, g in restart_gaps} == {first_run}
    assert all(f.run_id == second_run for f, _ in restart_gaps)
    # Each socket's gaps come before its subscriptions' facts (md) or its sync snapshot (trading).
    for connection, first_of_new in (("md", FactKind.MARKET), ("trading", FactKind.PLATFORM_EVENT)):
        own = [f for f in after if f.connection == connection and f.stream is not Stream.RESPONSE]
        leading = [f for f in own if f.kind is FactKind.GAP]
        assert own[: len(leading)] == leading, f"{connection}: a fact of the new connection came before its gaps"
        assert own[len(leading)].kind is first_of_new

    # Where the first run stopped, as its state directory kept it: rewritten at most once a second, so after a
    # crash it may be a little before the last fact delivered (a wider gap, more backfill), never after it.
    def anchor_of(gap: GapDetail, stream: Stream) -> FactEnvelope:
        kept = [f for f in delivered if f.stream is stream and f.symbol == gap.symbol and f.kind is FactKind.MARKET]
        anchor = next(f for f in kept if f.recv_ts == gap.first_missing_recv_ts)
        assert kept[-1].recv_ts - anchor.recv_ts <= 1_000_000_000
        return anchor

    bar_gap = next(g for _, g in restart_gaps if g.streams == ("chart_bar",))
    bar = anchor_of(bar_gap, Stream.CHART_BAR)
    assert (bar_gap.last_seen_platform_ts, bar_gap.backfill) == (bar.platform_ts, "requested")
    quote_gap = next(g for _, g in restart_gaps if g.streams == ("quote",) and g.symbol == "ESZ6")
    assert quote_gap.backfill == "none"
    anchor_of(quote_gap, Stream.QUOTE)
    tick = anchor_of(next(g for _, g in restart_gaps if g.streams == ("chart_tick",)), Stream.CHART_TICK)

    ranges = {
        json.loads(r.body)["chartDescription"]["underlyingType"]: json.loads(r.body)["timeRange"] for r in charts_asked
    }
    assert ranges["MinuteBar"]["asFarAsTimestamp"] == bar.platform_ts
    last_bt = json.loads(bytes(tick.payload))["d"]["charts"][-1]["bt"]
    asked_from = datetime.strptime(ranges["Tick"]["asFarAsTimestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert asked_from.timestamp() * 1000 == last_bt
    new_charts = [f for f in after if f.stream in (Stream.CHART_BAR, Stream.CHART_TICK) and f.kind is FactKind.MARKET]
    assert new_charts and all(f.backfill for f in new_charts)


async def test_the_first_run_ever_owes_no_gap(tmp_path: Path) -> None:
    async with simulator() as (sim, clock):
        first = Pa(settings_for(sim, state_dir=tmp_path / "state"), endpoints_of(sim), clock)
        await first.up()
        await until(lambda: any(f.stream is Stream.SYNC_SNAPSHOT for f in first.take_facts()), clock, "the snapshot")
        await first.crash()

    assert [f for f in first.facts if f.kind is FactKind.GAP] == []
    assert not any(f.backfill for f in first.facts)
