"""The `md/*` requests of the market-data socket and the per-step fan-out of quotes, DOMs, histograms, charts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tradovate_sim.charts import (
    BAR_TYPES,
    ChartRequestError,
    ChartSpec,
    ChartStore,
    TimeRange,
    bar_packets,
    select_bars,
    select_ticks,
    tick_packet,
    tick_packets,
)
from tradovate_sim.config import SimConfig
from tradovate_sim.connection import SimConnection
from tradovate_sim.contracts import ContractCatalog, ContractSpec
from tradovate_sim.market import Market, Tick
from tradovate_sim.quotes import QuoteTracker, dom, histogram
from tradovate_sim.wire import JsonObject, event_message

# Tradovate's answer when a required `symbol` is missing from the body (ISS#32).
MISSING_SYMBOL_TEXT = "No usable value for symbol\nDid not find value which can be converted into java.lang.String"


@dataclass(frozen=True)
class MdReply:
    """Status and payload of an md request, plus the events that follow the response."""

    status: int
    data: object
    events: list[JsonObject] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ChartSubscription:
    """One `md/getChart` subscription."""

    realtime_id: int
    historical_id: int
    contract: ContractSpec
    chart: ChartSpec


@dataclass
class _Subscriptions:
    connection: SimConnection
    quotes: set[int] = field(default_factory=set)
    doms: set[int] = field(default_factory=set)
    histograms: set[int] = field(default_factory=set)
    charts: list[ChartSubscription] = field(default_factory=list)


class MarketDataService:
    """Serves `md/*` and pushes each step's prints to the sockets subscribed to them."""

    def __init__(self, config: SimConfig, market: Market, catalog: ContractCatalog) -> None:
        self._config = config
        self._market = market
        self._catalog = catalog
        self._quotes = QuoteTracker()
        self.charts = ChartStore(market)
        self._sessions: dict[int, _Subscriptions] = {}
        self._next_subscription_id = 1
        for spec in catalog.contracts:
            self._quotes.advance(market.contract(spec.id))

    def forget(self, connection: SimConnection) -> None:
        """Drop a closed socket's subscriptions."""
        self._sessions.pop(connection.id, None)

    def _session(self, connection: SimConnection) -> _Subscriptions:
        found = self._sessions.get(connection.id)
        if found is None:
            found = self._sessions[connection.id] = _Subscriptions(connection)
        return found

    def handle(self, connection: SimConnection, endpoint_key: str, body: object) -> MdReply:
        """One md request; `endpoint_key` is lower case (`md/subscribequote`)."""
        if not isinstance(body, dict):
            return MdReply(400, MISSING_SYMBOL_TEXT)
        session = self._session(connection)
        if endpoint_key == "md/cancelchart":
            return self._cancel_chart(session, body.get("subscriptionId"))
        if "symbol" not in body:
            return MdReply(400, MISSING_SYMBOL_TEXT)
        spec = self._catalog.resolve(body["symbol"])
        if spec is None:
            return MdReply(200, {"errorText": f"Symbol not found: {body['symbol']}", "errorCode": "UnknownSymbol"})
        market = self._market.contract(spec.id)
        if endpoint_key == "md/subscribequote":
            session.quotes.add(spec.id)
            return MdReply(200, {}, [_md("quotes", self._quotes.full(market))])
        if endpoint_key == "md/subscribedom":
            session.doms.add(spec.id)
            return MdReply(200, {}, [_md("doms", dom(market, self._config.dom_depth))])
        if endpoint_key == "md/subscribehistogram":
            session.histograms.add(spec.id)
            return MdReply(200, {}, [_md("histograms", histogram(market, refresh=True))])
        if endpoint_key == "md/unsubscribequote":
            session.quotes.discard(spec.id)
            return MdReply(200, {})
        if endpoint_key == "md/unsubscribedom":
            session.doms.discard(spec.id)
            return MdReply(200, {})
        if endpoint_key == "md/unsubscribehistogram":
            session.histograms.discard(spec.id)
            return MdReply(200, {})
        if endpoint_key == "md/getchart":
            return self._get_chart(session, spec, body)
        return MdReply(404, f"Not found: {endpoint_key}")

    def _get_chart(self, session: _Subscriptions, spec: ContractSpec, body: JsonObject) -> MdReply:
        try:
            chart = ChartSpec.from_description(body.get("chartDescription"))
            time_range = TimeRange.from_json(body.get("timeRange"))
        except ChartRequestError as error:
            return MdReply(200, {"errorText": str(error), "errorCode": "InvalidRequest"})
        # realtimeId below historicalId, as in the MDDOC sample {"historicalId":32,"realtimeId":31}.
        realtime_id = self._next_subscription_id
        historical_id = realtime_id + 1
        self._next_subscription_id += 2
        subscription = ChartSubscription(realtime_id, historical_id, spec, chart)
        history_id = historical_id if self._config.chart_history_id == "historical" else realtime_id
        cap = self._config.max_history_elements
        if chart.underlying in BAR_TYPES:
            series = self.charts.series(spec.id, chart)
            bars = select_bars(series.bars, time_range, cap)
            packets = bar_packets(history_id, bars, spec, self._config.bars_per_packet)
        else:
            ticks = select_ticks(self._market.tape(spec.id), time_range, cap)
            packets = tick_packets(history_id, ticks, spec, self._config.ticks_per_packet)
        events = [_chart(packet) for packet in packets]
        events.append(_chart({"id": history_id, "eoh": True}))
        session.charts.append(subscription)
        return MdReply(200, {"historicalId": historical_id, "realtimeId": realtime_id}, events)

    def _cancel_chart(self, session: _Subscriptions, subscription_id: object) -> MdReply:
        # Docs disagree on which id cancels (MDDOC); either one ends the subscription here.
        session.charts = [sub for sub in session.charts if subscription_id not in (sub.realtime_id, sub.historical_id)]
        return MdReply(200, {})

    def on_trades(self, ticks: Sequence[Tick]) -> None:
        """Market listener: advance quote state and bar series, then push to every subscriber."""
        quotes = {tick.contract_id: self._quotes.advance(self._market.contract(tick.contract_id)) for tick in ticks}
        updated_bars = self.charts.on_ticks(ticks)
        for session in list(self._sessions.values()):
            events: list[JsonObject] = []
            for tick in ticks:
                contract_id = tick.contract_id
                market = self._market.contract(contract_id)
                if contract_id in session.quotes:
                    events.append(_md("quotes", quotes[contract_id]))
                if contract_id in session.doms:
                    events.append(_md("doms", dom(market, self._config.dom_depth)))
                if contract_id in session.histograms:
                    events.append(_md("histograms", histogram(market, refresh=False)))
                for sub in session.charts:
                    if sub.contract.id != contract_id:
                        continue
                    if sub.chart.underlying == "Tick":
                        events.append(_chart(tick_packet(sub.realtime_id, [tick], sub.contract, "rt")))
                    else:
                        bar = updated_bars[(contract_id, sub.chart)]
                        packet = {"id": sub.realtime_id, "td": bar.trade_date, "bars": [bar.as_json(sub.contract)]}
                        events.append(_chart(packet))
            if events:
                session.connection.send_events(events)


def _md(key: str, item: JsonObject) -> JsonObject:
    return event_message("md", {key: [item]})


def _chart(packet: JsonObject) -> JsonObject:
    return event_message("chart", {"charts": [packet]})
