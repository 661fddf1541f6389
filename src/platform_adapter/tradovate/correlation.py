"""Who a platform message belongs to: the PA's own requests, OE's intents, and Tradovate's ids for them.

One owner for the correlation the audit trail rests on (intent id -> request -> orderId / commandId ->
execution facts), and for the chart subscription ids a `md/getChart` answer hands out:

* the socket registers every request it sends with a route (`expect`); the fact builder hands each
  response to `answered`, which returns the route that labels the response fact and, inline before the
  next message, ties the answer's orderId / commandId to the request's intent, or the answer's chart ids to
  the chart the request asked for;
* the order executor says which intents it sends (`intent_sent`); `clOrdId` carries the intent id, so
  `intent_of` finds the intent of any `props` entity, and `commands_in_snapshot` the intents a sync
  snapshot knows;
* a closed connection's requests and charts are forgotten (`forget_connection`): nothing arrives on it again.

Whether a chart packet is history or live is decided by its position in its subscription's stream, not by the id
it carries: Tradovate sends history and `eoh` under the realtimeId (FAQ HowToHandleDataSizeLimits; every official
JS client keeps only realtimeId packets and still gets history), while older docs say a packet's id "matches
either historicalId or realtimeId" (MarketData.md). So what comes before the subscription's `eoh` is history,
`eoh` closes it, and what follows is live; a packet under the historicalId is always history, and once history is
seen under the historicalId the realtimeId carries only live data (docs/simulator.md, `chart_history_id`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from platform_adapter.mic import Stream
from platform_adapter.tradovate.protocol import ChartSubscription, OrderResult, Response, decode_model
from platform_adapter.tradovate.protocol.routing import PropsHead, SyncSnapshotRefs


@dataclass(frozen=True, slots=True)
class ChartRoute:
    """The labels of one part of a chart subscription (its history, or its live updates) on one connection."""

    symbol: str
    contract_id: int
    timeframe: str  # "1m", "1d" or "tick"
    historical: bool  # the history part: before and including the subscription's `eoh`
    backfill: bool  # history of a subscription requested after a reconnect, to fill a gap


@dataclass(frozen=True, slots=True)
class ChartRequest:
    """What a `md/getChart` request asked for; its answer's ids become one `ChartStream`."""

    symbol: str
    contract_id: int
    timeframe: str
    backfill: bool  # asked after a reconnect: its history part fills a gap


class ChartStream:
    """One `md/getChart` subscription on one connection: its two ids, and whether its history has ended."""

    __slots__ = ("_ended", "_split", "historical_id", "history", "live", "realtime_id")

    def __init__(self, chart: ChartRequest, historical_id: int | None, realtime_id: int | None) -> None:
        self.historical_id = historical_id
        self.realtime_id = realtime_id
        self.history = ChartRoute(chart.symbol, chart.contract_id, chart.timeframe, True, chart.backfill)
        self.live = ChartRoute(chart.symbol, chart.contract_id, chart.timeframe, False, False)
        self._ended = False  # its `eoh` was seen
        self._split = False  # history came under the historicalId: the realtimeId carries only live data

    def route(self, packet_id: int, eoh: bool) -> ChartRoute:
        """The labels of one packet of this subscription, in arrival order (it moves the history/live state)."""
        if eoh:
            self._ended = True
            return self.history
        if packet_id == self.historical_id and packet_id != self.realtime_id:
            self._split = True
            return self.history
        return self.live if self._ended or self._split else self.history


@dataclass(frozen=True, slots=True)
class RequestRoute:
    """What the PA knows about one of its requests, to label the response fact and correlate the answer."""

    stream: Stream = Stream.RESPONSE
    intent_id: str | None = None  # an order request of this intent: the answer's ids belong to it
    creates_orders: bool = False  # an orderId in the answer is an order this intent placed
    chart: ChartRequest | None = None
    on_response: Callable[[Response], None] | None = None  # run inline, before the next message
    repeats: bool = False  # several responses may carry this request's id (splitResponses): keep the route


class Correlation:
    """Requests -> intents -> Tradovate order, command and chart ids, for both sockets."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, int], RequestRoute] = {}  # (connection id, request id) -> route
        self._charts: dict[tuple[str, int], ChartStream] = {}  # (connection id, either subscription id) -> stream
        self._intents: dict[str, int] = {}  # intent id -> trading epoch it was sent on
        self._orders: dict[int, str] = {}  # order id -> intent id
        self._commands: dict[int, str] = {}  # command id -> intent id
        # Every clOrdId Tradovate has shown in a command (snapshot or event), with that command's order id: an
        # intent id found here was placed already, whichever PA run (or ledger) sent it.
        self._platform_commands: dict[str, int | None] = {}
        self.chart_stream: Callable[[tuple[str, int]], ChartStream | None] = self._charts.get
        """The subscription of a (connection id, subscription id) chart packet (a bound dict lookup: the hot path)."""

    # -- requests -----------------------------------------------------------------------------------------

    def expect(self, connection_id: str, request_id: int, route: RequestRoute) -> None:
        """A request is about to be sent on `connection_id`; its answer will be labelled by `route`."""
        self._requests[(connection_id, request_id)] = route

    def answered(self, connection_id: str, response: Response) -> RequestRoute | None:
        """The route of the request `response` answers (None if not ours), with its ids correlated first."""
        key = (connection_id, response.request_id)
        route = self._requests.get(key)
        if route is None:
            return None
        if not route.repeats:  # answered once; a repeating route lives until its connection ends
            del self._requests[key]
        if route.intent_id is not None and response.status == 200:
            self._order_ids(route.intent_id, route.creates_orders, response)
        if route.chart is not None:
            self._chart_ids(connection_id, route.chart, response)
        if route.on_response is not None:
            route.on_response(response)
        return route

    def _order_ids(self, intent_id: str, creates_orders: bool, response: Response) -> None:
        result = decode_model(OrderResult, response.d)
        if not isinstance(result, OrderResult):
            return
        if result.order_id is not None and creates_orders:
            self._orders.setdefault(result.order_id, intent_id)
        if result.command_id is not None:
            self._commands.setdefault(result.command_id, intent_id)

    def _chart_ids(self, connection_id: str, chart: ChartRequest, response: Response) -> None:
        ids = decode_model(ChartSubscription, response.d)
        if not isinstance(ids, ChartSubscription):
            return
        realtime = ids.realtime_id if ids.realtime_id is not None else ids.subscription_id
        stream = ChartStream(chart, ids.historical_id, realtime)
        for sub_id in (ids.historical_id, realtime):
            if sub_id is not None:
                self._charts[(connection_id, sub_id)] = stream

    def forget_connection(self, connection_id: str) -> None:
        """Drop the request and chart routes of a closed connection (no message can arrive on it any more)."""
        for table in (self._requests, self._charts):
            for key in [k for k in table if k[0] == connection_id]:
                del table[key]

    def chart_connections(self) -> set[str]:
        """The connections it holds chart routes for (only live ones: a closed connection's are forgotten)."""
        return {connection_id for connection_id, _ in self._charts}

    # -- intents ------------------------------------------------------------------------------------------

    def intent_sent(self, intent_id: str, epoch: int) -> None:
        """An intent is being sent on trading connection `epoch`; its clOrdId is `intent_id`."""
        self._intents[intent_id] = epoch

    def is_intent(self, cl_ord_id: str) -> bool:
        """Whether a clOrdId is one of the intents this PA sent."""
        return cl_ord_id in self._intents

    def sent_on(self, intent_id: str) -> int | None:
        """The trading epoch an intent was sent on (None if this PA run did not send it)."""
        return self._intents.get(intent_id)

    def placed(self, intent_id: str) -> tuple[bool, int | None]:
        """Whether Tradovate has shown a command with clOrdId `intent_id` (and its order id, when known)."""
        if intent_id in self._platform_commands:
            return True, self._platform_commands[intent_id]
        return False, None

    def intent_of(self, head: PropsHead) -> str | None:
        """The intent a props entity belongs to: by clOrdId, by command id, then by order id."""
        if head.entity_type == "command":
            order_id = head.order_ids[0] if len(head.order_ids) == 1 else None
            for cl_ord_id in head.cl_ord_ids:
                if self._platform_commands.get(cl_ord_id) is None:
                    self._platform_commands[cl_ord_id] = order_id
        for cl_ord_id in head.cl_ord_ids:
            if cl_ord_id in self._intents:
                if head.entity_type == "command":
                    for command_id in head.entity_ids:
                        self._commands.setdefault(command_id, cl_ord_id)
                    for order_id in head.order_ids:
                        self._orders.setdefault(order_id, cl_ord_id)
                return cl_ord_id
        for command_id in head.command_ids:
            intent = self._commands.get(command_id)
            if intent is not None:
                return intent
        order_ids = head.entity_ids if head.entity_type == "order" else head.order_ids
        for order_id in order_ids:
            intent = self._orders.get(order_id)
            if intent is not None:
                return intent
        return None

    def commands_in_snapshot(self, refs: SyncSnapshotRefs) -> list[tuple[str, int | None]]:
        """(intent id, order id) of each snapshot command that carries one of this PA's intents, ids tied to it."""
        ours: list[tuple[str, int | None]] = []
        for command in refs.commands:
            intent_id = command.cl_ord_id
            if intent_id is not None and self._platform_commands.get(intent_id) is None:
                self._platform_commands[intent_id] = command.order_id
            if intent_id is None or intent_id not in self._intents:
                continue
            ours.append((intent_id, command.order_id))
            self._commands.setdefault(command.id, intent_id)
            if command.order_id is not None:
                self._orders.setdefault(command.order_id, intent_id)
        return ours
