"""Market-data subscriptions on the MD socket, re-made on every connection, with gap facts and chart backfill.

Mapping of configured timeframes (ADR 0003): minutes and hours -> `md/getChart` MinuteBar with
elementSize = minutes; days -> DailyBar; sub-minute (1s, 15s, 30s) -> one Tick chart per contract,
forwarded as raw tick packets (Tradovate has no seconds bars; the PA never aggregates). Quotes via
`md/subscribeQuote`, DOM via `md/subscribeDOM` when configured.

Tradovate answers a refused market-data request with status 200 and `{errorText, errorCode, mode}` (no service plan,
an inaccessible symbol; MDSWAG `MarketDataSubscriptionResult`, JSISS#7): the PA reads every answer, and a refusal
is PA_DOWN `md_refused` naming the request, the symbol and the platform's text, never a healthy link with no data.
The connection stays up for what was granted; refused requests are asked again on the next connection, and
their condition is cleared once granted.

After a reconnect the PA first reports what it may have missed (one gap fact per contract and stream,
with the last platform timestamp it forwarded), then resubscribes and asks each chart for history from
the last bar it saw (ticks: from shortly before the last receipt), marking those facts `backfill`: they
may repeat bars U already has, and they are forwarded anyway, never de-duplicated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from platform_adapter.config import Settings, Timeframe
from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthReason, HealthState, Stream
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.connection import TradovateSocket
from platform_adapter.tradovate.contracts import Instrument, ReferenceData
from platform_adapter.tradovate.correlation import ChartRequest, ChartRoute, RequestRoute
from platform_adapter.tradovate.errors import PlatformStatusError
from platform_adapter.tradovate.facts import FactBuilder
from platform_adapter.tradovate.protocol import MarketDataResult, Response, decode_model, encode_body
from platform_adapter.tradovate.protocol.routing import ChartHead, ChartPacket
from platform_adapter.tradovate.supervisor import LinkLoss, SocketSupervisor

_log = get_logger("pa.md")
TICK = "tick"


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """One chart subscription: what to ask Tradovate for, and the label facts carry."""

    underlying_type: str  # "MinuteBar" | "DailyBar" | "Tick"
    element_size: int
    label: str  # "1m", "15m", "1d" or "tick"


def chart_specs(timeframes: tuple[Timeframe, ...]) -> list[ChartSpec]:
    """The chart subscriptions that serve a list of configured timeframes (sub-minute ones share one Tick chart)."""
    specs: dict[str, ChartSpec] = {}
    for tf in timeframes:
        if tf.unit == "s":
            specs[TICK] = ChartSpec("Tick", 1, TICK)
        elif tf.unit == "d":
            specs[str(tf)] = ChartSpec("DailyBar", tf.size, str(tf))
        else:
            specs[str(tf)] = ChartSpec("MinuteBar", tf.seconds // 60, str(tf))
    return list(specs.values())


@dataclass
class _Seen:
    last_bar_ts: str | None = None  # platform `timestamp` of the last bar forwarded, as sent
    last_tick_id: int | None = None
    last_tick_base_ms: int | None = None  # platform `bt` of the last tick packet forwarded


class MarketDataFeed:
    """Owns the MD socket's subscriptions: first subscription, loss bookkeeping, gap facts, backfill."""

    def __init__(
        self, reference: ReferenceData, builder: FactBuilder, settings: Settings, clock: Clock, health: HealthMonitor
    ) -> None:
        self._reference = reference
        self._builder = builder
        self._settings = settings
        self._clock = clock
        self._health = health
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._loss: LinkLoss | None = None
        self._resuming = False  # the first subscription backfills what a previous PA run left (resume.py)
        self.subscriptions: dict[str, list[str]] = {}  # symbol -> what is subscribed, for the status view
        self.backfills_requested = 0
        builder.on_chart = self._on_chart

    def attach(self, link: SocketSupervisor) -> None:
        """Run on every MD connection; remember every loss."""
        link.socket.ready_hooks.append(self.subscribe_all)
        link.lost_hooks.append(self._on_lost)

    def resume_from(self, anchors: Mapping[tuple[str, str], tuple[str | None, int | None]]) -> None:
        """Backfill the first subscription's charts from where a previous PA run's stopped (`tradovate/resume.py`).

        `anchors`: (symbol, chart label) -> (last bar timestamp, last tick packet `bt`) of the facts U holds.
        """
        for key, (last_bar_ts, last_tick_base_ms) in anchors.items():
            self._seen[key] = _Seen(last_bar_ts=last_bar_ts, last_tick_base_ms=last_tick_base_ms)
        self._resuming = True

    def _on_lost(self, socket: TradovateSocket, loss: LinkLoss) -> None:
        if self._loss is None:  # several failed attempts are one outage: keep its start
            self._loss = loss

    def _on_chart(self, route: ChartRoute, head: ChartHead | ChartPacket) -> None:
        """One chart packet forwarded (or a message of one): its subscription's backfill anchors move on."""
        key = (route.symbol, route.timeframe)
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = _Seen()
        if head.last_bar_timestamp is not None:
            seen.last_bar_ts = head.last_bar_timestamp
        if head.last_tick_id is not None:
            seen.last_tick_id = head.last_tick_id
        if head.last_tick_base_ms is not None:
            seen.last_tick_base_ms = head.last_tick_base_ms

    async def subscribe_all(self, socket: TradovateSocket, epoch: int) -> None:
        """Report the gap (after a loss), then subscribe quotes, DOM and charts for every instrument."""
        loss, self._loss = self._loss, None
        resuming, self._resuming = self._resuming, False
        if loss is not None:
            self._report_gaps(socket, loss, epoch)
        for instrument in self._reference.instruments.values():
            subscribed: list[str] = []
            body = encode_body({"symbol": instrument.contract_id})
            if instrument.settings.quotes:
                response = await self._subscribe(socket, "md/subscribeQuote", body)
                subscribed.append(self._granted(response, "md/subscribeQuote", instrument, "quotes"))
            if instrument.settings.dom:
                response = await self._subscribe(socket, "md/subscribeDOM", body)
                subscribed.append(self._granted(response, "md/subscribeDOM", instrument, "dom"))
            for spec in chart_specs(instrument.settings.parsed_timeframes()):
                response = await self._get_chart(socket, instrument, spec, backfill=loss is not None or resuming)
                subscribed.append(self._granted(response, "md/getChart", instrument, spec.label))
            self.subscriptions[instrument.symbol] = subscribed

    async def _subscribe(self, socket: TradovateSocket, endpoint: str, body: bytes) -> Response:
        response = await socket.request(endpoint, body=body, require_ready=False, route=RequestRoute(Stream.RESPONSE))
        if response.status != 200:
            # A subscription that fails must not look healthy (nautilus_trader#3001): fail the connection.
            raise PlatformStatusError(response.status, _text(response), endpoint)
        return response

    def _granted(self, response: Response, endpoint: str, instrument: Instrument, label: str) -> str:
        """Read a 200 md answer: a refusal in its body is PA_DOWN `md_refused` (cleared once granted again)."""
        key = f"md.refused.{instrument.symbol}.{label}"
        result = decode_model(MarketDataResult, response.d)
        if not isinstance(result, MarketDataResult) or not result.refused:
            self._health.clear(key)
            if isinstance(result, MarketDataResult) and result.mode == "Delayed":
                _log.warning("md_delayed", endpoint=endpoint, symbol=instrument.symbol, timeframe=label)
                return f"{label} (delayed)"
            return label
        code = result.error_code or "no errorCode"
        text = result.error_text or "no errorText"
        detail = (
            f"Tradovate refused {endpoint} for {instrument.symbol} ({label}): {code}: {text} (mode "
            f"{result.mode or 'not given'}); no data will come for it. Check the user's market-data subscription "
            "(CME entitlement / API market-data access) or the symbol; it is asked again on every reconnect"
        )
        self._health.raise_condition(key, HealthReason.MD_REFUSED, HealthState.DOWN, detail=detail)
        _log.error("md_refused", endpoint=endpoint, symbol=instrument.symbol, timeframe=label, code=code, text=text)
        return f"{label} (refused: {code})"

    async def _get_chart(
        self, socket: TradovateSocket, instrument: Instrument, spec: ChartSpec, *, backfill: bool
    ) -> Response:
        seen = self._seen.get((instrument.symbol, spec.label))
        time_range: dict[str, object]
        # Backfill asks from the last platform time the PA forwarded (never the PA's own clock, which may be
        # skewed): the last bar's timestamp, or the base time of the last tick packet.
        if backfill and seen is not None and spec.label != TICK and seen.last_bar_ts is not None:
            time_range = {"asFarAsTimestamp": seen.last_bar_ts, "asMuchAsElements": 10_000}
        elif backfill and seen is not None and spec.label == TICK and seen.last_tick_base_ms is not None:
            time_range = {"asFarAsTimestamp": _iso_ms(seen.last_tick_base_ms), "asMuchAsElements": 100_000}
        else:
            elements = self._settings.chart_history_ticks if spec.label == TICK else self._settings.chart_history_bars
            time_range = {"asMuchAsElements": elements}
        body = encode_body(
            {
                "symbol": instrument.contract_id,
                "chartDescription": {
                    "underlyingType": spec.underlying_type,
                    "elementSize": spec.element_size,
                    "elementSizeUnit": "UnderlyingUnits",
                    "withHistogram": False,
                },
                "timeRange": time_range,
            }
        )
        # The answer's chart ids are routed inline in the reader, before the chart packets that may share its frame.
        chart = ChartRequest(instrument.symbol, instrument.contract_id, spec.label, backfill)
        response = await socket.request("md/getChart", body=body, require_ready=False, route=RequestRoute(chart=chart))
        if response.status != 200:
            raise PlatformStatusError(response.status, _text(response), "md/getChart")
        if backfill:
            self.backfills_requested += 1
            _log.info("chart_backfill_requested", symbol=instrument.symbol, timeframe=spec.label, range=time_range)
        return response

    def _report_gaps(self, socket: TradovateSocket, loss: LinkLoss, epoch: int) -> None:
        now = self._clock.now_ns()
        for instrument in self._reference.instruments.values():
            streams: list[tuple[str, str | None, str]] = []
            if instrument.settings.quotes:
                streams.append((Stream.QUOTE.value, None, "none"))
            if instrument.settings.dom:
                streams.append((Stream.DOM.value, None, "none"))
            for spec in chart_specs(instrument.settings.parsed_timeframes()):
                seen = self._seen.get((instrument.symbol, spec.label))
                stream = Stream.CHART_TICK.value if spec.label == TICK else Stream.CHART_BAR.value
                streams.append((stream, seen.last_bar_ts if seen else None, "requested"))
            for stream, last_seen, backfill in streams:
                detail = (
                    "chart history re-requested from the last bar seen; backfilled facts are marked"
                    if backfill == "requested"
                    else "Tradovate does not replay quotes/DOM; the first update after resubscribing is current"
                )
                gap = loss.gap(
                    socket.role.value,
                    stream,
                    to_epoch=epoch,
                    until_ts=now,
                    last_seen=last_seen,
                    backfill=backfill,
                    detail=detail,
                    contract_id=instrument.contract_id,
                    symbol=instrument.symbol,
                )
                self._builder.gap(socket.context, now, gap)


def _text(response: Response) -> str:
    return bytes(response.d).decode("utf-8", "replace") if response.d is not None else ""


def _iso_ms(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
