"""Correlation: requests -> intents -> Tradovate order, command and chart ids, owned in one place."""

from __future__ import annotations

import msgspec

from platform_adapter.mic import Stream
from platform_adapter.tradovate.correlation import ChartRequest, ChartRoute, Correlation, RequestRoute
from platform_adapter.tradovate.protocol import Response, sync_snapshot_refs
from platform_adapter.tradovate.protocol.routing import PropsHead

MD, TRADING = "md-1", "trading-1"


def _answer(request_id: int, d: str | None, status: int = 200) -> Response:
    return Response(request_id, status, None if d is None else msgspec.Raw(d.encode()), b"")


def _props(
    entity_type: str,
    *,
    entity_ids: tuple[int, ...] = (),
    order_ids: tuple[int, ...] = (),
    command_ids: tuple[int, ...] = (),
    cl_ord_ids: tuple[str, ...] = (),
) -> PropsHead:
    return PropsHead(entity_type, "Created", entity_ids, order_ids, command_ids, cl_ord_ids, (), (), None)


def test_an_answer_ties_its_order_id_to_the_intent_that_placed_it_and_later_facts_follow() -> None:
    correlation = Correlation()
    correlation.intent_sent("intent-1", 1)
    correlation.expect(TRADING, 7, RequestRoute(intent_id="intent-1", creates_orders=True))
    route = correlation.answered(TRADING, _answer(7, '{"orderId":555}'))
    assert route is not None and route.intent_id == "intent-1" and route.stream is Stream.RESPONSE
    assert correlation.intent_of(_props("fill", order_ids=(555,))) == "intent-1"
    assert correlation.intent_of(_props("order", entity_ids=(555,))) == "intent-1"


def test_a_modify_answer_names_a_command_never_the_order_another_intent_placed() -> None:
    correlation = Correlation()
    for intent_id in ("place", "modify"):
        correlation.intent_sent(intent_id, 1)
    correlation.expect(TRADING, 1, RequestRoute(intent_id="place", creates_orders=True))
    correlation.answered(TRADING, _answer(1, '{"orderId":555}'))
    correlation.expect(TRADING, 2, RequestRoute(intent_id="modify"))
    correlation.answered(TRADING, _answer(2, '{"orderId":555,"commandId":90}'))
    assert correlation.intent_of(_props("order", entity_ids=(555,))) == "place"
    assert correlation.intent_of(_props("commandReport", command_ids=(90,))) == "modify"


def test_a_refused_or_unreadable_answer_ties_nothing_and_a_route_is_used_once() -> None:
    correlation = Correlation()
    correlation.expect(TRADING, 1, RequestRoute(intent_id="i", creates_orders=True))
    assert correlation.answered(TRADING, _answer(1, '{"orderId":1}', status=400)) is not None
    assert correlation.answered(TRADING, _answer(1, '{"orderId":1}')) is None  # answered already
    correlation.expect(TRADING, 2, RequestRoute(intent_id="i", creates_orders=True))
    correlation.answered(TRADING, _answer(2, '"not an object"'))
    assert correlation.intent_of(_props("order", entity_ids=(1,))) is None


def _chart(correlation: Correlation, backfill: bool = True) -> None:
    # MDDOC Get-Chart: {"historicalId":32,"realtimeId":31}
    correlation.expect(MD, 4, RequestRoute(chart=ChartRequest("ESZ6", 3570918, "1m", backfill=backfill)))
    correlation.answered(MD, _answer(4, '{"historicalId":32,"realtimeId":31}'))


HISTORY = ChartRoute("ESZ6", 3570918, "1m", historical=True, backfill=True)
LIVE = ChartRoute("ESZ6", 3570918, "1m", historical=False, backfill=False)


def _routes(correlation: Correlation, packets: list[tuple[int, bool]]) -> list[ChartRoute]:
    routes = []
    for packet_id, eoh in packets:
        stream = correlation.chart_stream((MD, packet_id))
        assert stream is not None
        routes.append(stream.route(packet_id, eoh))
    return routes


def test_history_under_the_realtime_id_is_history_until_its_eoh_and_only_history_is_backfill() -> None:
    # FAQ HowToHandleDataSizeLimits: the eoh packet carries the realtimeId; the official JS client keeps only those.
    correlation = Correlation()
    _chart(correlation)
    routes = _routes(correlation, [(31, False), (31, False), (31, True), (31, False), (31, False)])
    assert routes == [HISTORY, HISTORY, HISTORY, LIVE, LIVE]
    assert correlation.chart_stream(("md-2", 31)) is None  # ids are per connection


def test_history_under_the_historical_id_is_history_and_the_realtime_id_then_carries_live_data() -> None:
    # MarketData.md: a packet's id "matches either historicalId or realtimeId"; a live update may come between.
    correlation = Correlation()
    _chart(correlation)
    routes = _routes(correlation, [(32, False), (31, False), (32, False), (32, True), (31, False), (32, False)])
    assert routes == [HISTORY, LIVE, HISTORY, HISTORY, LIVE, HISTORY]


def test_a_chart_asked_for_without_a_gap_is_not_backfill() -> None:
    correlation = Correlation()
    _chart(correlation, backfill=False)
    routes = _routes(correlation, [(31, False), (31, True), (31, False)])
    assert [(r.historical, r.backfill) for r in routes] == [(True, False), (True, False), (False, False)]


def test_a_closed_connection_s_requests_and_charts_are_forgotten() -> None:
    correlation = Correlation()
    correlation.expect(MD, 1, RequestRoute(chart=ChartRequest("ESZ6", 1, "tick", backfill=False)))
    correlation.answered(MD, _answer(1, '{"realtimeId":9}'))
    correlation.expect(MD, 2, RequestRoute())
    correlation.expect("md-2", 2, RequestRoute())
    assert correlation.chart_connections() == {MD}
    correlation.forget_connection(MD)
    assert correlation.chart_connections() == set()
    assert correlation.answered(MD, _answer(2, "{}")) is None
    assert correlation.answered("md-2", _answer(2, "{}")) is not None


def test_a_props_entity_is_ours_by_clordid_first_and_a_command_event_ties_its_ids() -> None:
    correlation = Correlation()
    correlation.intent_sent("intent-9", 3)
    head = _props("command", entity_ids=(70,), order_ids=(700,), cl_ord_ids=("not-ours", "intent-9"))
    assert correlation.intent_of(head) == "intent-9"
    assert correlation.intent_of(_props("executionReport", command_ids=(70,))) == "intent-9"
    assert correlation.intent_of(_props("fill", order_ids=(700,))) == "intent-9"
    assert correlation.intent_of(_props("order", entity_ids=(701,))) is None
    assert correlation.is_intent("intent-9") and not correlation.is_intent("not-ours")
    assert correlation.sent_on("intent-9") == 3 and correlation.sent_on("other") is None


def test_a_sync_snapshot_names_the_intents_it_knows_and_ties_their_ids() -> None:
    correlation = Correlation()
    correlation.intent_sent("mine", 1)
    refs = sync_snapshot_refs(
        msgspec.Raw(
            b'{"users":[],"commands":[{"id":5,"orderId":50,"clOrdId":"mine"},{"id":6,"orderId":60,"clOrdId":"x"}]}'
        )
    )
    assert refs is not None
    assert correlation.commands_in_snapshot(refs) == [("mine", 50)]
    assert correlation.intent_of(_props("fill", order_ids=(50,))) == "mine"
    assert correlation.intent_of(_props("fill", order_ids=(60,))) is None


def test_an_answer_runs_its_callback_after_the_ids_are_tied() -> None:
    correlation = Correlation()
    correlation.intent_sent("i", 1)
    seen: list[str | None] = []
    route = RequestRoute(
        Stream.SYNC_SNAPSHOT,
        intent_id="i",
        creates_orders=True,
        on_response=lambda response: seen.append(correlation.intent_of(_props("order", entity_ids=(3,)))),
    )
    correlation.expect(TRADING, 1, route)
    assert correlation.answered(TRADING, _answer(1, '{"orderId":3}')) is route
    assert seen == ["i"]
