"""P8: which id `md/cancelChart` needs - `realtimeId` or `historicalId` - to stop a chart's stream, and what
the server answers for the other one (official sources disagree, discovery report §13.1)."""

from __future__ import annotations

from collections.abc import Callable

from platform_adapter.probe.analysis import chart_packets, payload
from platform_adapter.probe.findings import Verdict
from platform_adapter.probe.steps.charts import cancel_chart, get_chart
from platform_adapter.probe.steps.context import ProbeContext
from platform_adapter.tradovate.protocol import Event, Message

_TICK = {"underlyingType": "Tick", "elementSize": 1, "elementSizeUnit": "UnderlyingUnits"}


async def p8_cancel_chart(ctx: ProbeContext) -> None:
    """Two fresh tick charts: cancel one historicalId-first, the other realtimeId-first, watching the stream."""
    ctx.session.capture.begin_step("P8", "md/cancelChart: historicalId vs realtimeId")
    md = ctx.require_md()
    window = ctx.options.window_s
    stopped_by: list[str] = []
    quiet = False
    refused = 0
    for first, second in (("historicalId", "realtimeId"), ("realtimeId", "historicalId")):
        sub = await get_chart(ctx, md, f"P8 {first} first", _TICK, {"asMuchAsElements": 1})
        if not sub.accepted or sub.realtime_id is None or sub.historical_id is None:
            ctx.add("P8", f"cancel with {first} first", f"chart refused: {sub.response}", Verdict.FAILED, "-")
            refused += 1
            continue
        ids = {"historicalId": sub.historical_id, "realtimeId": sub.realtime_id}
        realtime_id = sub.realtime_id
        before = len(md.received)
        flowing = await md.wait_for(_realtime_packet(realtime_id), window, start=before)
        results: list[str] = []
        for name in (first, second):
            answer = await cancel_chart(md, ids[name])
            mark = len(md.received)
            await md.observe(window / 2)
            after = len([p for _, p in chart_packets(md.messages_since(mark), sub.ids) if not p.get("eoh")])
            results.append(f"cancel {name}: {answer}, then {after} packets in {window / 2:.1f} s")
            if name == first and after == 0 and flowing is not None:
                stopped_by.append(name)
        quiet = quiet or flowing is None
        stream = "realtime packets were flowing" if flowing else "NO realtime packet before the cancel (quiet market?)"
        ctx.add(
            "P8",
            f"md/cancelChart with {first} first: does it stop the stream?",
            f"{stream}; " + "; ".join(results),
            Verdict.INCONCLUSIVE if flowing is None else Verdict.AS_EXPECTED,
            "high" if flowing else "low",
            expected="docs disagree; a cancel would send realtimeId, then historicalId, an error on the second "
            "benign (the PA itself never cancels a chart: discovery report §13.1)",
        )
    if quiet or refused:
        why = "a chart was refused" if refused else "no realtime packet flowed before a cancel (quiet market?)"
        ctx.showed("cancel_chart_id", None, "P8", why)
    else:
        value = {frozenset({"historicalId", "realtimeId"}): "either", frozenset({"historicalId"}): "historical_only"}
        value[frozenset({"realtimeId"})] = "realtime_only"
        ctx.showed(
            "cancel_chart_id",
            value.get(frozenset(stopped_by)),
            "P8",
            f"a chart's stream stopped when cancelled by: {', '.join(stopped_by) or 'neither id alone'}",
        )
    if stopped_by or not quiet:
        summary = (
            f"the stream stops when cancelled by: {', '.join(stopped_by)}"
            if stopped_by
            else "neither id alone stopped the stream"
        )
        ctx.add(
            "P8",
            "Which id stops a chart stream?",
            summary,
            Verdict.AS_EXPECTED if "realtimeId" in stopped_by else Verdict.DIFFERS,
            expected="the order §13.1 proposes for a cancel (realtimeId first) stops it",
            stopped_by=stopped_by,
        )


def _realtime_packet(realtime_id: int) -> Callable[[Message], bool]:
    """A predicate: a chart event holding a realtime (non-eoh) packet of `realtime_id`."""

    def matches(message: Message) -> bool:
        if not isinstance(message, Event) or message.kind != "chart":
            return False
        d = payload(message)
        charts = d.get("charts") if isinstance(d, dict) else None
        return any(isinstance(p, dict) and p.get("id") == realtime_id and not p.get("eoh") for p in charts or [])

    return matches
