"""Acceptance B and C: market data reaches U raw, complete, in order, with platform timestamps; no bar is made
by the PA; bar seq is left to U; a reconnect reports its gap and the backfill restores the simulator's bars."""

from __future__ import annotations

import msgspec

from platform_adapter.config import InstrumentSettings
from platform_adapter.mic import FactKind, Stream
from platform_adapter.mic.codec import decode_gap
from tradovate_sim.charts import BarSeries, ChartSpec

from .harness import Harness, Transport, running

ESZ6_ID = 3570918


def _md_payloads(h: Harness) -> list[bytes]:
    return [bytes(f.payload) for f in h.u_facts() if f.connection == "md" and f.kind is not FactKind.GAP]


async def test_acceptance_B_every_md_message_reaches_u_in_order_with_platform_timestamps_unchanged(
    transport: Transport,
) -> None:
    async with running(transport) as h:
        await h.up()
        for _ in range(20):
            await h.sim.step_market(100)
        await h.drained()  # the PA read all the simulator sent, and U stored every fact built from it
        sent = [m.text.encode() for m in h.sim.sent_messages(kind="md")]
        received = _md_payloads(h)
        assert len(sent) > 2000
        assert received == sent  # every message, byte for byte, in the order the platform sent it
        for fact in h.u_facts():
            if fact.stream in (Stream.QUOTE, Stream.DOM):
                body = msgspec.json.decode(bytes(fact.payload))
                items = body["d"].get("quotes") or body["d"].get("doms")
                assert fact.platform_ts == items[-1]["timestamp"]  # as sent, not re-formatted
                assert fact.recv_ts > 0
        symbols = {f.symbol for f in h.u_facts() if f.stream is Stream.QUOTE}
        assert symbols == {"ESZ6", "NQZ6"}
        assert any(f.stream is Stream.DOM and f.symbol == "NQZ6" for f in h.u_facts())


async def test_acceptance_B_a_sub_minute_timeframe_yields_raw_ticks_and_no_bars(transport: Transport) -> None:
    instruments = (InstrumentSettings(symbol="ESZ6", timeframes=("15s", "30s"), quotes=False),)
    async with running(transport, instruments=instruments) as h:
        await h.up()
        await h.sim.step_market(300)
        await h.drained()
        charts = h.sim.received_requests("md/getChart")
        assert len(charts) == 1  # one Tick chart serves both sub-minute timeframes
        assert '"underlyingType":"Tick"' in charts[0].body
        streams = {f.stream for f in h.u_facts() if f.kind is FactKind.MARKET}
        assert Stream.CHART_TICK in streams
        assert Stream.CHART_BAR not in streams
        assert h.system.u.counters.bars_written == 0
        ticks = [f for f in h.u_facts() if f.stream is Stream.CHART_TICK]
        assert {f.timeframe for f in ticks} == {"tick"}
        assert all(b'"tks"' in bytes(f.payload) for f in ticks)  # the packet itself, not unpacked


async def test_acceptance_C_bar_seq_is_left_for_u_and_platform_ids_stay_in_the_payload(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        await h.sim.step_market(400)
        await h.drained()
        facts = h.u_facts()
        assert all(f.platform_seq is None for f in facts)
        bars = h.system.u.bars("ESZ6", "1m")
        assert len(bars) > 3
        assert [b.seq for b in bars] == list(range(bars[0].seq, bars[0].seq + len(bars)))  # U assigned, contiguous
        tick_facts = [f for f in facts if f.stream is Stream.CHART_TICK]
        assert any(b'"id"' in bytes(f.payload) for f in tick_facts)  # tick ids travel inside the payload
        # History and live bars, told apart by position relative to `eoh`, whichever id and packing Tradovate uses.
        bar_packets = [p for p in h.chart_packets() if "bars" in p.packet]
        assert {(p.symbol, p.timeframe) for p in bar_packets} == {("ESZ6", "1m")}
        assert {p.historical for p in bar_packets} == {True, False}


async def test_acceptance_C_reconnect_mid_minute_reports_the_gap_and_backfills_the_simulators_bars(
    transport: Transport,
) -> None:
    async with running(transport) as h:
        await h.up()
        await h.sim.step_market(120)
        await h.drained()
        await h.sim.faults.close_sockets("md")
        await h.until(lambda: not h.stack.platform.md.ready.is_set(), what="md down")  # type: ignore[union-attr]
        await h.sim.step_market(150)  # the market moves on while the PA is away
        await h.advance(5.0)
        await h.up()
        await h.sim.step_market(120)
        await h.drained()
        gaps = [(f, decode_gap(bytes(f.payload))) for f in h.facts_of(FactKind.GAP)]
        chart_gaps = [g for f, g in gaps if f.stream is Stream.CHART_BAR and f.symbol == "ESZ6"]
        quote_gaps = [g for f, g in gaps if f.stream is Stream.QUOTE and f.symbol == "ESZ6"]
        assert len(chart_gaps) == 1
        assert chart_gaps[0].backfill == "requested"
        assert chart_gaps[0].last_seen_platform_ts is not None
        assert (chart_gaps[0].from_epoch, chart_gaps[0].to_epoch) == (1, 2)
        assert quote_gaps[0].backfill == "none"
        chart_bars = [p for p in h.chart_packets() if "bars" in p.packet]
        assert any(p.backfill for p in chart_bars)
        assert all(p.historical for p in chart_bars if p.backfill)  # only the re-requested history is backfill
        assert any(p.historical and p.fact.epoch == 2 for p in chart_bars)
        # U's bars equal the simulator's own bars for the whole period, the outage included.
        spec = next(c for c in h.sim.config.contracts if c.id == ESZ6_ID)
        expected = {
            bar.start_ms * 1_000_000: bar
            for bar in BarSeries(ChartSpec("MinuteBar", 1), h.sim.market.tape(ESZ6_ID)).bars[:-1]  # last is forming
        }
        held = h.system.u.bars("ESZ6", "1m")
        assert len(held) >= 3
        for bar in held:
            want = expected[bar.bar_ts]
            assert (bar.open, bar.high, bar.low, bar.close) == (
                spec.price(want.open),
                spec.price(want.high),
                spec.price(want.low),
                spec.price(want.close),
            )
            assert bar.volume == want.up_volume + want.down_volume
        first, last = held[0].bar_ts, held[-1].bar_ts
        assert [b.bar_ts for b in held] == sorted(k for k in expected if first <= k <= last)  # no bar missing
