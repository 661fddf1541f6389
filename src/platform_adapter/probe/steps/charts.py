"""P3: which `md/getChart` descriptions Tradovate accepts (1m, 15m, daily, tick; two "seconds" attempts that
should be refused, with the exact refusal), which id history comes under, and the shape of an error `d` (an md
request on the trading socket). P4: tick id and time order, and forming-bar re-sends
(discovery report §5, §6, §8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from platform_adapter.probe.analysis import (
    bar_resends,
    bars_of,
    chart_arrays,
    chart_packets,
    payload,
    response_text,
    tick_order,
    ticks_of,
)
from platform_adapter.probe.findings import Verdict
from platform_adapter.probe.socket import ProbeSocket
from platform_adapter.probe.steps.context import ChartSub, ProbeContext
from platform_adapter.tradovate.protocol import Event, Message


@dataclass(frozen=True, slots=True)
class ChartAsk:
    """One chart description P3 tries."""

    label: str
    description: dict[str, Any]
    should_accept: bool


CHART_ASKS = (
    ChartAsk("1m", {"underlyingType": "MinuteBar", "elementSize": 1, "elementSizeUnit": "UnderlyingUnits"}, True),
    ChartAsk("15m", {"underlyingType": "MinuteBar", "elementSize": 15, "elementSizeUnit": "UnderlyingUnits"}, True),
    ChartAsk("1d", {"underlyingType": "DailyBar", "elementSize": 1, "elementSizeUnit": "UnderlyingUnits"}, True),
    ChartAsk("tick", {"underlyingType": "Tick", "elementSize": 1, "elementSizeUnit": "UnderlyingUnits"}, True),
    # The two "seconds" recipes a third-party note attributes to a search-engine summary (discovery report §5).
    ChartAsk("15s (Seconds unit)", {"underlyingType": "Tick", "elementSize": 15, "elementSizeUnit": "Seconds"}, False),
    ChartAsk(
        "15s (0.25 minute)",
        {"underlyingType": "MinuteBar", "elementSize": 0.25, "elementSizeUnit": "UnderlyingUnits"},
        False,
    ),
)
KEPT = ("1m", "tick")  # stay open for P4 and P5


async def get_chart(
    ctx: ProbeContext, socket: ProbeSocket, label: str, description: dict[str, Any], time_range: dict[str, Any]
) -> ChartSub:
    """Send one `md/getChart` and wait (one window at most) for the end of its history."""
    instrument = ctx.require_instrument()
    body = {
        "symbol": instrument.contract_id,
        "chartDescription": {**description, "withHistogram": False},
        "timeRange": time_range,
    }
    answer = await socket.request("md/getChart", body)
    d = payload(answer)
    ids = d if isinstance(d, dict) else {}
    historical = ids.get("historicalId") if isinstance(ids.get("historicalId"), int) else None
    realtime = ids.get("realtimeId", ids.get("subscriptionId"))
    realtime = realtime if isinstance(realtime, int) else None
    accepted = answer.status == 200 and "errorText" not in ids and (historical is not None or realtime is not None)
    sub = ChartSub(label, socket.conn, historical, realtime, response_text(answer), accepted)
    if accepted:
        await socket.wait_for(lambda m: _is_eoh(m, sub.ids), ctx.options.window_s)
    return sub


def _is_eoh(message: Message, ids: tuple[int, ...]) -> bool:
    if not isinstance(message, Event) or message.kind != "chart":
        return False
    d = payload(message)
    charts = d.get("charts") if isinstance(d, dict) else None
    return any(isinstance(p, dict) and p.get("eoh") and p.get("id") in ids for p in charts or [])


async def cancel_chart(socket: ProbeSocket, subscription_id: int) -> str:
    """`md/cancelChart` with one id; returns the response as text."""
    answer = await socket.request("md/cancelChart", {"subscriptionId": subscription_id})
    return response_text(answer)


async def p3_chart_types(ctx: ProbeContext) -> None:
    """Ask for each chart description once; keep 1m and tick open; cancel the rest."""
    ctx.session.capture.begin_step("P3", "chart types: 1m, 15m, daily, tick accepted; seconds refused")
    md = ctx.require_md()
    for ask in CHART_ASKS:
        elements = (
            ctx.options.history_ticks if ask.description["underlyingType"] == "Tick" else ctx.options.history_bars
        )
        mark = len(md.received)
        sub = await get_chart(ctx, md, ask.label, ask.description, {"asMuchAsElements": elements})
        ctx.charts[ask.label] = sub
        described = ", ".join(f"{k}={v}" for k, v in ask.description.items())
        if sub.accepted:
            packets = chart_packets(md.messages_since(mark), sub.ids)
            carried = sorted(
                {
                    "historicalId" if p.get("id") == sub.historical_id else "realtimeId"
                    for _, p in packets
                    if p.get("eoh")
                }
            )
            history = [p for _, p in packets if not p.get("eoh")]
            _history_layout(ctx, sub, packets, chart_arrays(md.messages_since(mark)))
            items = sum(len(p.get("bars", []) or p.get("tks", []) or []) for p in history)
            observation = (
                f"accepted: {sub.response}; {len(history)} history packets ({items} items), "
                f"end of history under {', '.join(carried) or 'no eoh within the window'}"
            )
        else:
            observation = f"REFUSED: {sub.response}"
        ctx.add(
            "P3",
            f"md/getChart {ask.label} ({described})",
            observation,
            Verdict.AS_EXPECTED if sub.accepted == ask.should_accept else Verdict.DIFFERS,
            expected="accepted" if ask.should_accept else "refused (no native seconds bars)",
            accepted=sub.accepted,
            response=sub.response,
        )
        if sub.accepted and ask.label not in KEPT:
            # Polite: nothing stays subscribed that no step reads. The order of §13.1: realtimeId, then historicalId.
            for subscription_id in (sub.realtime_id, sub.historical_id):
                if subscription_id is not None:
                    await cancel_chart(md, subscription_id)
    await _error_shape(ctx)


def _history_layout(
    ctx: ProbeContext, sub: ChartSub, packets: list[tuple[float, dict[str, Any]]], arrays: list[list[dict[str, Any]]]
) -> None:
    """Note which id the history before `eoh` came under, and whether `eoh` shared its array with data."""
    ids = {sub.realtime_id: "realtimeId", sub.historical_id: "historicalId"}
    before_eoh: list[dict[str, Any]] = []
    for _, packet in packets:
        if packet.get("eoh"):
            break
        before_eoh.append(packet)
    ctx.notes.setdefault("history_under", set()).update(ids.get(p.get("id"), "?") for p in before_eoh)
    for array in arrays:
        mine = [p for p in array if p.get("id") in sub.ids]
        if any(p.get("eoh") for p in mine):
            ctx.notes.setdefault("eoh_with_data", []).append(any(not p.get("eoh") for p in mine))
            break


def _chart_variants(ctx: ProbeContext, arrays: list[list[dict[str, Any]]]) -> None:
    """`chart_history_id` from P3's history; `chart_packing` from P3's `eoh` and the live events of P4."""
    under: set[str] = ctx.notes.get("history_under", set())
    if under == {"realtimeId"}:
        ctx.showed("chart_history_id", "realtime", "P3", "every history packet before `eoh` carried the realtimeId")
    elif under == {"historicalId"}:
        ctx.showed("chart_history_id", "historical", "P3", "every history packet carried the historicalId")
    else:
        ctx.showed("chart_history_id", None, "P3", f"history packets under: {', '.join(sorted(under)) or 'none'}")
    subscriptions = [set(sub.ids) for sub in ctx.charts.values() if sub.accepted and sub.ids]
    mixed = sum(1 for array in arrays if sum(1 for ids in subscriptions if any(p.get("id") in ids for p in array)) > 1)
    shared: list[bool] = ctx.notes.get("eoh_with_data", [])
    if mixed:
        ctx.showed("chart_packing", "merged", "P4", f"{mixed} chart events held packets of several subscriptions")
    elif shared and all(shared):
        ctx.showed("chart_packing", "same_array", "P3", f"`eoh` shared its array with history in {len(shared)} charts")
    elif shared and not any(shared):
        ctx.showed("chart_packing", "separate", "P3", f"`eoh` came alone in {len(shared)} charts")
    else:
        ctx.showed("chart_packing", None, "P3", f"`eoh` with data in {sum(shared)} of {len(shared)} charts")


async def _error_shape(ctx: ProbeContext) -> None:
    """`md/getChart` on the trading socket: a 404 (ISS#38) whose `d` shows how error text is sent (`error_d`)."""
    answer = await ctx.require_trading().request("md/getChart", {"symbol": ctx.require_instrument().contract_id})
    d = payload(answer)
    if answer.status < 400 or not isinstance(d, str):
        ctx.showed("error_d", None, "P3", f"md/getChart on the trading socket: {response_text(answer)}")
        return
    quoted = len(d) >= 2 and d[0] == d[-1] == '"'
    value = "quoted_string" if quoted else "string"
    ctx.showed("error_d", value, "P3", f"md/getChart on the trading socket: {response_text(answer)}")


async def p4_tick_order(ctx: ProbeContext) -> None:
    """Watch the kept tick and 1m charts for one window, then measure id/time order and bar re-sends."""
    ctx.session.capture.begin_step("P4", "tick ids and times; forming-bar re-sends")
    md = ctx.require_md()
    await md.observe(ctx.options.window_s)
    _chart_variants(ctx, chart_arrays(md.received))
    tick = ctx.charts.get("tick")
    if tick is not None and tick.accepted:
        order = tick_order(ticks_of(chart_packets(md.received, tick.ids)))
        ctx.notes["tick_order_before_reconnect"] = order
        if order.ticks == 0:
            ctx.add("P4", "Tick id monotonicity and tick-time order", "no ticks received", Verdict.INCONCLUSIVE, "-")
        else:
            disorder = order.packets_with_unsorted_ids + order.packets_overlapping_previous + order.times_out_of_order
            ctx.add(
                "P4",
                "Tick id monotonicity within / across packets; out-of-order tick times",
                f"{order.ticks} ticks in {order.packets} packets ({order.realtime_ticks} realtime), ids "
                f"{order.id_range}: {order.packets_with_unsorted_ids} packets with unsorted ids, "
                f"{order.packets_overlapping_previous} packets starting at or below an earlier id, "
                f"{order.duplicate_ids} duplicate ids, {order.id_gaps} id gaps; {order.times_out_of_order} ticks "
                f"earlier than the tick before them, {order.times_disagree_with_ids} id-order/time-order disagreements",
                Verdict.AS_EXPECTED if disorder == 0 else Verdict.INCONCLUSIVE,
                "high" if order.realtime_ticks >= 20 else "medium",
                expected="ids increase; ticks may arrive out of time order (U sorts, the PA forwards as received)",
                order=order.__dict__,
            )
    minute = ctx.charts.get("1m")
    if minute is not None and minute.accepted and minute.realtime_id is not None:
        realtime = bars_of(chart_packets(md.received, (minute.realtime_id,)))
        resends = bar_resends(realtime)
        ctx.add(
            "P4",
            "Is the forming 1m bar re-sent under the same `timestamp`?",
            f"{resends.bars} realtime bar updates over {resends.distinct_timestamps} timestamps: "
            f"{resends.resent} repeated the previous bar's timestamp",
            Verdict.INCONCLUSIVE if resends.bars < 2 else Verdict.AS_EXPECTED if resends.resent else Verdict.DIFFERS,
            "high" if resends.bars >= 10 else "medium",
            expected="yes: the forming bar is re-sent (the PA marks it `update`, U decides closure)",
        )
