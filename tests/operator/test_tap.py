"""The `FactTap` sees only what the transport accepted, keeps little, and never changes what U receives."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pytest

from platform_adapter.core.clock import ManualClock
from platform_adapter.mic import FactEnvelope, FactKind, FactMode, Stream
from platform_adapter.operator import FactTap


def fact(seq: int, stream: Stream, kind: FactKind = FactKind.MARKET, **fields: object) -> FactEnvelope:
    return FactEnvelope(
        kind=kind,
        stream=stream,
        mode=FactMode.LIVE,
        recv_ts=1_000 + seq,
        connection="md",
        connection_id="md-1",
        epoch=1,
        delivery_seq=seq,
        payload=msgspec.Raw(b"{}"),
        **fields,  # type: ignore[arg-type]
    )


class Recording:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[FactEnvelope]] = []
        self.fail = fail

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        if self.fail:
            raise ConnectionError("transport refused")
        self.batches.append(list(batch))


async def test_the_tap_passes_batches_through_unchanged_and_remembers_the_last_value_per_contract() -> None:
    tap, inner = FactTap(), Recording()
    sink = tap.wrap(inner, ManualClock())
    batch = [
        fact(1, Stream.QUOTE, symbol="ESZ6"),
        fact(2, Stream.QUOTE, symbol="ESZ6"),
        fact(3, Stream.CHART_BAR, symbol="ESZ6", backfill=True),
        fact(4, Stream.PROPS, FactKind.PLATFORM_EVENT, correlation_id="i-1"),
        fact(5, Stream.CONNECTION, FactKind.GAP),
    ]
    await sink.deliver(batch)
    assert inner.batches == [batch]  # the same envelopes, in order
    assert tap.last[("ESZ6", Stream.QUOTE)].delivery_seq == 2
    assert tap.last[("ESZ6", Stream.CHART_BAR)].delivery_seq == 3
    assert [g.delivery_seq for g in tap.gaps] == [5]
    assert tap.facts_by_intent == {"i-1": 1}
    assert tap.backfill_by_stream == {"chart_bar": 1}
    assert (tap.delivered, tap.batches) == (5, 1)


async def test_a_batch_the_transport_refused_is_not_seen_and_the_error_reaches_the_outbox() -> None:
    tap = FactTap()
    sink = tap.wrap(Recording(fail=True), ManualClock())
    with pytest.raises(ConnectionError):
        await sink.deliver([fact(1, Stream.QUOTE, symbol="ESZ6")])
    assert tap.last == {} and tap.delivered == 0


async def test_delivery_lag_is_observed_once_per_batch_from_its_first_fact() -> None:
    clock = ManualClock(start_ns=0)
    await clock.advance(0.5)
    tap = FactTap()
    lags: list[float] = []
    tap.observe_lag = lags.append
    sink = tap.wrap(Recording(), clock)
    await sink.deliver([fact(1, Stream.QUOTE), fact(2, Stream.QUOTE)])
    assert lags == [pytest.approx(0.5 - 1_001e-9)]


async def test_the_tap_forgets_the_oldest_intent_beyond_its_bound() -> None:
    tap = FactTap(intents=2)
    sink = tap.wrap(Recording(), ManualClock())
    for n, intent in enumerate(("a", "b", "c"), start=1):
        await sink.deliver([fact(n, Stream.PROPS, FactKind.PLATFORM_EVENT, correlation_id=intent)])
    assert list(tap.facts_by_intent) == ["b", "c"]
