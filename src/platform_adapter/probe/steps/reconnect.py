"""P5: a forced reconnect of the market-data socket. Does the server replay anything? Is the first quote
after resubscribing a full snapshot? How many bars/ticks does an overlapping history re-request repeat?
(discovery report §7, §10.4; ADR 0005)."""

from __future__ import annotations

import itertools
import json

from platform_adapter.probe.analysis import (
    bars_of,
    chart_packets,
    history_packets,
    iso_ms,
    quotes_in,
    response_text,
    ticks_of,
)
from platform_adapter.probe.findings import Verdict
from platform_adapter.probe.socket import ProbeSocket, Received
from platform_adapter.probe.steps.charts import get_chart
from platform_adapter.probe.steps.context import ProbeContext
from platform_adapter.tradovate.protocol import Event, Response

_MINUTE = {"underlyingType": "MinuteBar", "elementSize": 1, "elementSizeUnit": "UnderlyingUnits"}
_TICK = {"underlyingType": "Tick", "elementSize": 1, "elementSizeUnit": "UnderlyingUnits"}
_OVERLAP_BARS = 3
_OVERLAP_TICKS = 20


async def p5_reconnect(ctx: ProbeContext) -> None:
    """Close md-1, wait, open md-2, watch for unrequested data, resubscribe, re-request overlapping history."""
    session = ctx.session
    session.capture.begin_step("P5", "forced reconnect: replay? first quote? duplicates in re-requested history")
    old = ctx.require_md()
    instrument = ctx.require_instrument()
    window = ctx.options.window_s
    minute, tick = ctx.charts.get("1m"), ctx.charts.get("tick")
    bars_before = bars_of(chart_packets(old.received, minute.ids)) if minute and minute.accepted else []
    ticks_before = ticks_of(chart_packets(old.received, tick.ids)) if tick and tick.accepted else []
    first_quote_before = ctx.notes.get("first_quote_entries")

    await old.close()
    await session.clock.sleep(window / 2)  # the market moves on while we are away
    new = session.socket("md")
    await new.open()
    new.start_heartbeats()
    await new.authorize(ctx.md_token or "")
    ctx.md = new
    await new.observe(window / 2)
    unrequested = [r for r in new.received if not isinstance(r.message, Response)]
    ctx.add(
        "P5",
        "After a reconnect, does the server send anything before it is asked (a replay)?",
        f"{len(unrequested)} messages on {new.conn} in {window / 2:.1f} s after authorize, before any request",
        Verdict.AS_EXPECTED if not unrequested else Verdict.DIFFERS,
        expected="nothing: subscriptions die with the socket, nothing is replayed",
    )

    mark = len(new.received)
    answer = await new.request("md/subscribeQuote", {"symbol": instrument.contract_id})
    first = await new.wait_for(lambda m: bool(quotes_in(m, instrument.contract_id)), window, start=mark)
    await new.observe(window / 2)
    _replayed(ctx, old.received, new.messages_since(mark), instrument.contract_id)
    entries = sorted(quotes_in(first.message, instrument.contract_id)[0].get("entries", {})) if first else None
    if entries is None:
        observation, verdict = f"no quote within {window:.1f} s ({response_text(answer)})", Verdict.INCONCLUSIVE
    else:
        same = "the same entries as" if entries == first_quote_before else "other entries than"
        observation = f"first quote has {len(entries)} entries ({', '.join(entries)}): {same} the first quote on md-1"
        verdict = Verdict.AS_EXPECTED
    ctx.add(
        "P5",
        "Is the first quote after resubscribing a full snapshot?",
        observation,
        verdict,
        expected="unknown (the PA forwards it either way)",
        entries=entries,
        entries_before=first_quote_before,
    )

    await _resubscribed(ctx, new, instrument.contract_id)

    stamps = list(dict.fromkeys(b.get("timestamp") for b in bars_before))  # distinct, in order
    if len(stamps) > _OVERLAP_BARS:
        since = stamps[-_OVERLAP_BARS - 1]
        sub = await get_chart(ctx, new, "1m again", _MINUTE, {"asFarAsTimestamp": since, "asMuchAsElements": 10_000})
        # History comes under the realtimeId or the historicalId (`chart_history_id`); live bars are left out by
        # taking only what came before the subscription's `eoh`.
        after = bars_of(history_packets(chart_packets(new.received, sub.ids)))
        seen = {json.dumps(b, sort_keys=True) for b in bars_before}
        repeated = [b for b in after if b.get("timestamp") in stamps]
        identical = sum(1 for b in repeated if json.dumps(b, sort_keys=True) in seen)
        ctx.add(
            "P5",
            "1m history re-requested from before the drop: duplicates vs before",
            f"asked from {since} ({sub.response}): {len(after)} bars back; {len(repeated)} at timestamps seen "
            f"before ({identical} byte-identical, {len(repeated) - identical} changed), "
            f"{len(after) - len(repeated)} new",
            Verdict.AS_EXPECTED if repeated else Verdict.DIFFERS,
            expected="overlap comes back as duplicates (the PA marks them backfill, U dedupes)",
            bars=len(after),
            repeated=len(repeated),
            identical=identical,
        )
    else:
        ctx.add(
            "P5", "1m history re-requested: duplicates vs before", "too few bars before the drop", Verdict.NOT_RUN, "-"
        )

    if len(ticks_before) > _OVERLAP_TICKS:
        anchor = ticks_before[-_OVERLAP_TICKS]
        last_id = max(t.id for t in ticks_before)
        sub = await get_chart(
            ctx, new, "tick again", _TICK, {"asFarAsTimestamp": iso_ms(anchor.time_ms), "asMuchAsElements": 5_000}
        )
        ticks_after = ticks_of(history_packets(chart_packets(new.received, sub.ids)))
        ids_before = {t.id for t in ticks_before}
        tick_repeats = sum(1 for t in ticks_after if t.id in ids_before)
        filled = sum(1 for t in ticks_after if t.id > last_id)
        ctx.add(
            "P5",
            "Tick history re-requested from before the drop: duplicate ids, gap filled?",
            f"asked from {iso_ms(anchor.time_ms)} ({sub.response}): {len(ticks_after)} ticks back; {tick_repeats} "
            f"ids seen before; {filled} ids newer than the last one seen before the drop ({last_id})",
            Verdict.AS_EXPECTED if tick_repeats else Verdict.DIFFERS,
            expected="overlap repeats tick ids; ticks missed during the drop come back in history",
            ticks=len(ticks_after),
            repeated=tick_repeats,
            newer=filled,
        )
    else:
        ctx.add(
            "P5",
            "Tick history re-requested: duplicates vs before",
            "too few ticks before the drop",
            Verdict.NOT_RUN,
            "-",
        )


def _replayed(ctx: ProbeContext, before: list[Received], after: list[Received], contract_id: int) -> None:
    """Note whether quote messages seen on the old socket came again on the new one (a replay)."""
    seen = {_raw(item) for item in before if quotes_in(item.message, contract_id)}
    again = [item for item in after if quotes_in(item.message, contract_id) and _raw(item) in seen]
    ctx.notes["replayed_quotes"] = len(again)
    ctx.notes["quotes_after_reconnect"] = sum(1 for item in after if quotes_in(item.message, contract_id))


def _raw(item: Received) -> bytes:
    message = item.message
    return bytes(message.d) if isinstance(message, Event) and message.d is not None else b""


def doubled_since_the_first_pair(messages: list[bytes]) -> tuple[int, int]:
    """How many messages came twice in a row, and how many messages that judgement covers.

    Counted from the first repeated pair on: the quotes that arrived between the second subscribe and the moment
    it took effect came once, and would otherwise read as "not doubled" on a loaded machine.
    """
    first = next((i for i, (a, b) in enumerate(itertools.pairwise(messages)) if a == b), None)
    if first is None:
        return 0, len(messages)
    tail = messages[first:]
    return sum(1 for a, b in itertools.pairwise(tail) if a == b), len(tail)


async def _resubscribed(ctx: ProbeContext, md: ProbeSocket, contract_id: int) -> None:
    """A second md/subscribeQuote for the same symbol: does the stream double? Then decide `md_duplicates`."""
    mark = len(md.received)
    answer = await md.request("md/subscribeQuote", {"symbol": contract_id})
    await md.observe(ctx.options.window_s / 2)
    messages = [_raw(item) for item in md.messages_since(mark) if quotes_in(item.message, contract_id)]
    doubled, counted = doubled_since_the_first_pair(messages)
    replayed, after = ctx.notes.get("replayed_quotes", 0), ctx.notes.get("quotes_after_reconnect", 0)
    why = (
        f"after a reconnect {replayed} of {after} quote messages repeated the old socket's; after a second "
        f"md/subscribeQuote ({response_text(answer)}) {doubled} of {counted} quote messages came twice"
    )
    if replayed:
        ctx.showed("md_duplicates", "replay_on_reconnect", "P5", why)
    elif doubled and doubled * 2 >= counted - 1:
        ctx.showed("md_duplicates", "resubscribe_doubles", "P5", why)
    elif len(messages) >= 2 and after:
        ctx.showed("md_duplicates", "none", "P5", why)
    else:
        ctx.showed("md_duplicates", None, "P5", why + " (too few quotes to tell)")
