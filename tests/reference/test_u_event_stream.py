"""U writes the canonical LIVE EventStream: source "U", seq contiguous per (mode, source), platform in payload."""

from __future__ import annotations

import json
from pathlib import Path

from pa_harness.reference import ReferenceU
from pa_harness.reference.platform_time import iso_to_ns
from platform_adapter.mic import FactEnvelope, FactKind, FactMode, Stream
from tests.reference import samples
from tests.reference.samples import Feed


def _mixed_facts(feed: Feed) -> list[FactEnvelope]:
    return [
        feed.event(Stream.SYNC_SNAPSHOT, '{"s":200,"i":3,"d":{"users":[{"id":7}],"accounts":[],"orders":[]}}'),
        feed.envelope(FactKind.MARKET, Stream.QUOTE, samples.QUOTE_EVENT, contract_id=123456),
        feed.event(Stream.PROPS, samples.PROPS_ORDER_EVENT, platform_ts="2016-11-04T00:02:36.626Z"),
        feed.gap(),
        feed.envelope(FactKind.UNDECODABLE, Stream.FRAME, '"a[{\\"e\\":\\"md\\""'),
        feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT),
    ]


def test_event_stream_seq_is_contiguous_per_mode_and_source_with_u_as_writer() -> None:
    u = ReferenceU(":memory:")
    u.accept_batch(_mixed_facts(Feed()))

    rows = u.db.execute("SELECT mode, source, seq FROM event_stream ORDER BY seq").fetchall()
    assert [(r["mode"], r["source"]) for r in rows] == [("LIVE", "U")] * 5
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert [e.seq for e in u.events()] == [1, 2, 3, 4, 5]


def test_event_types_name_the_fact() -> None:
    u = ReferenceU(":memory:")
    u.accept_batch(_mixed_facts(Feed()))

    assert [e.event_type for e in u.events()] == [
        "sync_snapshot",
        "props.order.Created",
        "gap",
        "undecodable",
        "shutdown",
    ]


def test_payload_carries_the_platform_identifier_and_the_raw_message_unchanged() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept(feed.event(Stream.PROPS, samples.PROPS_ORDER_EVENT, platform_ts="2016-11-04T00:02:36.626Z"))

    payload = json.loads(u.events()[0].payload)
    assert payload["platform"] == "Tradovate"
    assert payload["stream"] == "props"
    assert payload["raw"] == json.loads(samples.PROPS_ORDER_EVENT)
    assert payload["delivery_seq"] == 1
    stored = u.db.execute("SELECT payload FROM event_stream").fetchone()["payload"]
    assert json.loads(stored) == payload


def test_event_ts_is_the_platform_timestamp_when_sent_else_the_receive_time() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    with_platform_ts = feed.event(Stream.PROPS, samples.PROPS_ORDER_EVENT, platform_ts="2016-11-04T00:02:36.626Z")
    without = feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT)
    u.accept_batch([with_platform_ts, without])

    first, second = u.events()
    assert first.event_ts == iso_to_ns("2016-11-04T00:02:36.626Z")
    assert json.loads(first.payload)["event_ts_from"] == "platform_ts"
    assert second.event_ts == without.recv_ts
    assert json.loads(second.payload)["event_ts_from"] == "recv_ts"


def test_correlation_id_and_request_id_travel_in_the_payload() -> None:
    u = ReferenceU(":memory:")
    u.accept(Feed().response(41, {"orderId": 210518}, correlation_id="intent-1"))

    payload = json.loads(u.events()[0].payload)
    assert (payload["correlation_id"], payload["request_id"]) == ("intent-1", 41)
    assert payload["raw"] == {"s": 200, "i": 41, "d": {"orderId": 210518}}


def test_undecodable_and_gap_payloads_are_embedded_as_sent() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    gap = feed.gap()
    u.accept_batch([gap, feed.envelope(FactKind.UNDECODABLE, Stream.FRAME, '"a[{broken"')])

    gap_payload, undecodable_payload = (json.loads(e.payload) for e in u.events())
    assert gap_payload["raw"] == json.loads(bytes(gap.payload))
    assert gap_payload["raw"]["reason"] == "socket_closed"
    assert undecodable_payload["raw"] == "a[{broken"


def test_market_facts_are_logged_but_never_enter_the_event_stream() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    u.accept_batch(
        [
            feed.envelope(FactKind.MARKET, Stream.QUOTE, samples.QUOTE_EVENT),
            feed.bars(samples.CHART_BARS_EVENT),
        ]
    )

    assert u.events() == []
    assert u.db.execute("SELECT COUNT(*) FROM facts").fetchone()[0] == 2


def test_sim_platform_events_are_left_to_paper() -> None:
    u = ReferenceU(":memory:")
    u.accept(Feed(mode=FactMode.SIM).event(Stream.PROPS, samples.PROPS_ORDER_EVENT))

    assert u.events("SIM") == []
    assert u.counters.sim_events_not_written == 1
    assert u.db.execute("SELECT mode FROM facts").fetchone()["mode"] == "SIM"


def test_every_envelope_lands_in_the_facts_log_with_all_fields() -> None:
    u = ReferenceU(":memory:")
    feed = Feed()
    facts = _mixed_facts(feed)
    u.accept_batch(facts)

    rows = u.db.execute("SELECT * FROM facts ORDER BY fact_id").fetchall()
    assert [r["delivery_seq"] for r in rows] == [f.delivery_seq for f in facts]
    assert [r["payload"] for r in rows] == [bytes(f.payload).decode() for f in facts]
    assert [(r["kind"], r["stream"], r["recv_ts"]) for r in rows] == [
        (str(f.kind), str(f.stream), f.recv_ts) for f in facts
    ]
    assert rows[1]["contract_id"] == 123456
    assert rows[2]["platform_ts"] == "2016-11-04T00:02:36.626Z"
    counters = u.counters
    assert counters.facts == 6
    assert counters.received("platform_event") == 3
    assert counters.received("market", "quote") == 1


def test_seq_continues_where_a_previous_u_left_the_database(tmp_path: Path) -> None:
    path = tmp_path / "ref.db"
    feed = Feed()
    first = ReferenceU(path)
    first.accept(feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT))
    first.close()

    second = ReferenceU(path)
    second.accept(feed.event(Stream.SHUTDOWN, samples.SHUTDOWN_EVENT))

    assert [e.seq for e in second.events()] == [1, 2]
    assert second.counters.holes == 0
    second.close()
