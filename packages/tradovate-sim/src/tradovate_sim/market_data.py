"""The `md/*` requests of the market-data socket and the per-step fan-out of quotes, DOMs, histograms, charts.

What the answers look like, which id chart history carries, how chart packets share events, which id cancels a
chart and whether data repeats are variant switches (`tradovate_sim.variants`; docs/simulator.md "Variants").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

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
from tradovate_sim.variants import Variants, VariantState
from tradovate_sim.wire import JsonObject, event_message

# Tradovate's answer when a required `symbol` is missing from the body (ISS#32).
MISSING_SYMBOL_TEXT = "No usable value for symbol\nDid not find value which can be converted into java.lang.String"
# The refusal the official JS tutorial logged for a symbol it may not see (JSISS#7).
UNKNOWN_SYMBOL: Final[JsonObject] = {
    "errorText": "Symbol is inaccessible",
    "errorCode": "UnknownSymbol",
    "mode": "None",
}
# No capture shows the text of a NoServicePlan refusal; the code and `mode` are from the MD swagger.
NO_SERVICE_PLAN_TEXT = "No market data subscription for this symbol"
# How many md events per stream `md_duplicates=replay_on_reconnect` re-sends to a new socket.
REPLAY_DEPTH = 3
_MODES: Final = {"realtime": "RealTime", "delayed": "Delayed", "none": "None"}
_STREAMS: Final = {"md/subscribequote": "quotes", "md/subscribedom": "doms", "md/subscribehistogram": "histograms"}
_UNSUBSCRIBES: Final = {
    "md/unsubscribequote": "quotes",
    "md/unsubscribedom": "doms",
    "md/unsubscribehistogram": "histograms",
}


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
    # stream ("quotes", "doms", "histograms") -> contract id -> how many times subscribed (1 unless doubled)
    streams: dict[str, dict[int, int]] = field(default_factory=lambda: {"quotes": {}, "doms": {}, "histograms": {}})
    charts: list[ChartSubscription] = field(default_factory=list)


@dataclass
class _Recent:
    """The last md events of one stream of one user, and the socket they went to."""

    conn_id: int
    events: deque[JsonObject] = field(default_factory=lambda: deque(maxlen=REPLAY_DEPTH))


class MarketDataService:
    """Serves `md/*` and pushes each step's prints to the sockets subscribed to them."""

    def __init__(self, config: SimConfig, variants: VariantState, market: Market, catalog: ContractCatalog) -> None:
        self._config = config
        self._variants = variants
        self._market = market
        self._catalog = catalog
        self._quotes = QuoteTracker()
        self.charts = ChartStore(market)
        self._sessions: dict[int, _Subscriptions] = {}
        self._recent: dict[tuple[int | None, str, int], _Recent] = {}
        self._next_subscription_id = 1
        for spec in catalog.contracts:
            self._quotes.advance(market.contract(spec.id))

    def forget(self, connection: SimConnection) -> None:
        """Drop a closed socket's subscriptions (MarketData.md: they end with the socket)."""
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
        variants = self._variants.current
        session = self._session(connection)
        if endpoint_key == "md/cancelchart":
            return self._cancel_chart(session, body.get("subscriptionId"), variants)
        if "symbol" not in body:
            return MdReply(400, MISSING_SYMBOL_TEXT)
        spec = self._catalog.resolve(body["symbol"])
        if spec is None:
            if variants.md_entitlement == "minimal":
                return MdReply(200, {"errorText": f"Symbol not found: {body['symbol']}", "errorCode": "UnknownSymbol"})
            return MdReply(200, dict(UNKNOWN_SYMBOL))
        if endpoint_key in _UNSUBSCRIBES:
            session.streams[_UNSUBSCRIBES[endpoint_key]].pop(spec.id, None)
            return MdReply(200, _result(variants))
        if endpoint_key not in _STREAMS and endpoint_key != "md/getchart":
            return MdReply(404, f"Not found: {endpoint_key}")
        if variants.md_entitlement == "none":
            refusal = {"errorText": NO_SERVICE_PLAN_TEXT, "errorCode": "NoServicePlan", "mode": "None"}
            return MdReply(200, refusal)
        if endpoint_key == "md/getchart":
            return self._get_chart(session, spec, body, variants)
        return self._subscribe(session, _STREAMS[endpoint_key], spec, variants)

    def _subscribe(self, session: _Subscriptions, stream: str, spec: ContractSpec, variants: Variants) -> MdReply:
        counts = session.streams[stream]
        first = spec.id not in counts
        # One subscription per type and contract (MarketData.md); `resubscribe_doubles` stacks them instead.
        counts[spec.id] = counts.get(spec.id, 0) + 1 if variants.md_duplicates == "resubscribe_doubles" else 1
        events: list[JsonObject] = []
        recent = self._recent.get((session.connection.user_id, stream, spec.id))
        replay = variants.md_duplicates == "replay_on_reconnect" and first
        if replay and recent is not None and recent.conn_id != session.connection.id:
            events.extend(recent.events)
        snapshot = _md(stream, self._snapshot(stream, spec))
        events.append(snapshot)
        self._remember(session, stream, spec.id, snapshot)
        return MdReply(200, _result(variants), events)

    def _snapshot(self, stream: str, spec: ContractSpec) -> JsonObject:
        market = self._market.contract(spec.id)
        if stream == "quotes":
            return self._quotes.full(market)
        if stream == "doms":
            return dom(market, self._config.dom_depth)
        return histogram(market, refresh=True)

    def _remember(self, session: _Subscriptions, stream: str, contract_id: int, event: JsonObject) -> None:
        key = (session.connection.user_id, stream, contract_id)
        recent = self._recent.get(key)
        if recent is None or recent.conn_id != session.connection.id:
            recent = self._recent[key] = _Recent(session.connection.id)
        recent.events.append(event)

    def _get_chart(self, session: _Subscriptions, spec: ContractSpec, body: JsonObject, variants: Variants) -> MdReply:
        try:
            chart = ChartSpec.from_description(body.get("chartDescription"))
            time_range = TimeRange.from_json(body.get("timeRange"))
        except ChartRequestError as error:
            refusal: JsonObject = {"errorText": str(error), "errorCode": error.code}
            if variants.md_entitlement != "minimal":
                refusal["mode"] = "None"
            return MdReply(200, refusal)
        # realtimeId below historicalId, as in the MDDOC sample {"historicalId":32,"realtimeId":31}.
        realtime_id = self._next_subscription_id
        historical_id = realtime_id + 1
        self._next_subscription_id += 2
        subscription = ChartSubscription(realtime_id, historical_id, spec, chart)
        history_id = historical_id if variants.chart_history_id == "historical" else realtime_id
        cap = self._config.max_history_elements
        if chart.underlying in BAR_TYPES:
            series = self.charts.series(spec.id, chart)
            bars = select_bars(series.bars, time_range, cap)
            packets = bar_packets(history_id, bars, spec, self._config.bars_per_packet)
        else:
            ticks = select_ticks(self._market.tape(spec.id), time_range, cap)
            packets = tick_packets(history_id, ticks, spec, self._config.ticks_per_packet)
        session.charts.append(subscription)
        ids = {"historicalId": historical_id, "realtimeId": realtime_id}
        return MdReply(200, {**_result(variants), **ids}, _history_events(packets, history_id, variants))

    def _cancel_chart(self, session: _Subscriptions, subscription_id: object, variants: Variants) -> MdReply:
        # MarketData.md names the historical id, the official JS and C# samples send the realtime id: a switch.
        def cancels(sub: ChartSubscription) -> bool:
            if variants.cancel_chart_id == "historical_only":
                return subscription_id == sub.historical_id
            if variants.cancel_chart_id == "realtime_only":
                return subscription_id == sub.realtime_id
            return subscription_id in (sub.realtime_id, sub.historical_id)

        session.charts = [sub for sub in session.charts if not cancels(sub)]
        return MdReply(200, _result(variants))

    def on_trades(self, ticks: Sequence[Tick]) -> None:
        """Market listener: advance quote state and bar series, then push to every subscriber."""
        quotes = {tick.contract_id: self._quotes.advance(self._market.contract(tick.contract_id)) for tick in ticks}
        updated_bars = self.charts.on_ticks(ticks)
        variants = self._variants.current
        for session in list(self._sessions.values()):
            events: list[JsonObject] = []
            chart_packets: list[JsonObject] = []
            for tick in ticks:
                contract_id = tick.contract_id
                market = self._market.contract(contract_id)
                for stream, counts in session.streams.items():
                    times = counts.get(contract_id, 0)
                    if not times:
                        continue
                    if stream == "quotes":
                        item = quotes[contract_id]
                    elif stream == "doms":
                        item = dom(market, self._config.dom_depth)
                    else:
                        item = histogram(market, refresh=False)
                    event = _md(stream, item)
                    self._remember(session, stream, contract_id, event)
                    events.extend([event] * times)
                for sub in session.charts:
                    if sub.contract.id != contract_id:
                        continue
                    if sub.chart.underlying == "Tick":
                        packet = tick_packet(sub.realtime_id, [tick], sub.contract, "rt")
                    else:
                        bar = updated_bars[(contract_id, sub.chart)]
                        packet = {"id": sub.realtime_id, "td": bar.trade_date, "bars": [bar.as_json(sub.contract)]}
                    if variants.chart_packing == "merged":
                        chart_packets.append(packet)
                    else:
                        events.append(_charts([packet]))
            if chart_packets:
                # Throttled data may combine several subscriptions in one message (COMM 2124).
                events.append(_charts(chart_packets))
            if events:
                session.connection.send_events(events)


def _result(variants: Variants) -> JsonObject:
    """The body of an accepted md request: `{"mode": ..}` (MD swagger: required), or `{}` under `minimal`."""
    if variants.md_entitlement == "minimal":
        return {}
    return {"mode": _MODES[variants.md_entitlement]}


def _history_events(packets: list[JsonObject], history_id: int, variants: Variants) -> list[JsonObject]:
    """History then the end-of-history marker, packed into `chart` events as the `chart_packing` variant says."""
    end = {"id": history_id, "eoh": True}
    if variants.chart_packing == "separate" or not packets:
        return [_charts([packet]) for packet in [*packets, end]]
    if variants.chart_packing == "same_array":
        # JS EX-11 README: the last data packet and eoh share one `charts` array.
        return [*(_charts([packet]) for packet in packets[:-1]), _charts([packets[-1], end])]
    return [_charts([*packets, end])]


def _md(key: str, item: JsonObject) -> JsonObject:
    return event_message("md", {key: [item]})


def _charts(packets: list[JsonObject]) -> JsonObject:
    return event_message("chart", {"charts": packets})
