"""Charts: bars and tick packets from the one tick tape, for history and for live updates alike.

History and live updates read the same `BarSeries`, which folds ticks with one function, so the bars a
`md/getChart` history returns are exactly the bars the live stream produced (gap backfill is checkable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from tradovate_sim.contracts import ContractSpec
from tradovate_sim.market import Market, Tick
from tradovate_sim.wire import JsonObject, format_timestamp, parse_timestamp

BAR_TYPES = frozenset({"MinuteBar", "DailyBar"})
CHART_TYPES = BAR_TYPES | {"Tick"}

_T = TypeVar("_T")


class ChartRequestError(ValueError):
    """A `md/getChart` body the simulator cannot serve; the text goes to the client as `errorText`.

    `code` is one of the MD swagger's `errorCode` values (`OperationNotSupported`, `UnknownReason`).
    """

    def __init__(self, text: str, code: str = "UnknownReason") -> None:
        super().__init__(text)
        self.code = code


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """What to aggregate: `MinuteBar` of N minutes, `DailyBar`, or raw `Tick`."""

    underlying: str
    element_size: int

    @classmethod
    def from_description(cls, description: object) -> ChartSpec:
        """Read `chartDescription`."""
        if not isinstance(description, Mapping):
            raise ChartRequestError("chartDescription is required")
        underlying = description.get("underlyingType")
        if underlying not in CHART_TYPES:
            raise ChartRequestError(
                f"underlyingType {underlying!r} is not supported by the simulator", "OperationNotSupported"
            )
        unit = description.get("elementSizeUnit", "UnderlyingUnits")
        if unit != "UnderlyingUnits":
            raise ChartRequestError(
                f"elementSizeUnit {unit!r} is not supported by the simulator", "OperationNotSupported"
            )
        size = description.get("elementSize", 1)
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ChartRequestError(f"elementSize must be a positive integer, got {size!r}")
        # Tick and DailyBar charts use elementSize 1 (JS:EX-10/EX-11).
        return cls(underlying, size if underlying == "MinuteBar" else 1)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """`timeRange`: newest bound, oldest bound, element count, newest tick id; all optional."""

    closest_ms: int | None = None
    as_far_ms: int | None = None
    as_much: int | None = None
    closest_tick_id: int | None = None

    @classmethod
    def from_json(cls, value: object) -> TimeRange:
        """Read `timeRange`; at least one field is required (MDDOC)."""
        if not isinstance(value, Mapping):
            raise ChartRequestError("timeRange is required")
        try:
            closest = _timestamp(value, "closestTimestamp")
            as_far = _timestamp(value, "asFarAsTimestamp")
        except ValueError as error:
            raise ChartRequestError(f"bad timestamp in timeRange: {error}") from error
        as_much = _optional_int(value, "asMuchAsElements")
        tick_id = _optional_int(value, "closestTickId")
        if closest is None and as_far is None and as_much is None and tick_id is None:
            raise ChartRequestError("timeRange needs at least one of its fields")
        return cls(closest, as_far, as_much, tick_id)


def _timestamp(value: Mapping[str, Any], key: str) -> int | None:
    text = value.get(key)
    return parse_timestamp(text) if isinstance(text, str) else None


def _optional_int(value: Mapping[str, Any], key: str) -> int | None:
    number = value.get(key)
    if number is None:
        return None
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise ChartRequestError(f"{key} must be a non-negative integer, got {number!r}")
    return number


@dataclass(slots=True)
class Bar:
    """One bar; prices in ticks until serialized."""

    start_ms: int
    trade_date: int
    open: int
    high: int
    low: int
    close: int
    up_volume: int = 0
    down_volume: int = 0
    up_ticks: int = 0
    down_ticks: int = 0
    bid_volume: int = 0
    offer_volume: int = 0

    def add(self, tick: Tick) -> None:
        """Fold one print into the bar (tick rule for up/down; aggressor side for bid/offer volume)."""
        self.high = max(self.high, tick.price)
        self.low = min(self.low, tick.price)
        self.close = tick.price
        if tick.up:
            self.up_volume += tick.size
            self.up_ticks += 1
        else:
            self.down_volume += tick.size
            self.down_ticks += 1
        if tick.at_offer:
            self.offer_volume += tick.size
        else:
            self.bid_volume += tick.size

    def as_json(self, spec: ContractSpec) -> JsonObject:
        """The bar as in the MDDOC chart sample."""
        return {
            "timestamp": format_timestamp(self.start_ms),
            "open": spec.price(self.open),
            "high": spec.price(self.high),
            "low": spec.price(self.low),
            "close": spec.price(self.close),
            "upVolume": self.up_volume,
            "downVolume": self.down_volume,
            "upTicks": self.up_ticks,
            "downTicks": self.down_ticks,
            "bidVolume": self.bid_volume,
            "offerVolume": self.offer_volume,
        }


def bar_start(tick: Tick, chart: ChartSpec) -> int:
    """The bar a print belongs to: minute buckets aligned to the epoch, or the trade date for daily bars."""
    if chart.underlying == "DailyBar":
        day = tick.trade_date
        midnight = datetime(day // 10000, day // 100 % 100, day % 100, tzinfo=UTC)
        return int(midnight.timestamp() * 1000)
    width = chart.element_size * 60_000
    return tick.ts_ms - tick.ts_ms % width


class BarSeries:
    """All bars of one contract and chart spec, extended as prints arrive; the last bar may be forming."""

    def __init__(self, chart: ChartSpec, ticks: Iterable[Tick]) -> None:
        self.chart = chart
        self.bars: list[Bar] = []
        for tick in ticks:
            self.add(tick)

    def add(self, tick: Tick) -> Bar:
        """Fold a print in; returns the bar it landed in."""
        start = bar_start(tick, self.chart)
        if self.bars and self.bars[-1].start_ms == start:
            bar = self.bars[-1]
            bar.add(tick)
            return bar
        bar = Bar(start, tick.trade_date, tick.price, tick.price, tick.price, tick.price)
        bar.add(tick)
        self.bars.append(bar)
        return bar


class ChartStore:
    """Bar series per (contract, chart spec), built on first request and kept current on every step."""

    def __init__(self, market: Market) -> None:
        self._market = market
        self._series: dict[tuple[int, ChartSpec], BarSeries] = {}

    def series(self, contract_id: int, chart: ChartSpec) -> BarSeries:
        """The series, folding the whole tape the first time it is asked for."""
        key = (contract_id, chart)
        found = self._series.get(key)
        if found is None:
            found = self._series[key] = BarSeries(chart, self._market.tape(contract_id))
        return found

    def on_ticks(self, ticks: Sequence[Tick]) -> dict[tuple[int, ChartSpec], Bar]:
        """Fold a step's prints into every live series; returns the bar each series updated."""
        updated: dict[tuple[int, ChartSpec], Bar] = {}
        for tick in ticks:
            for (contract_id, chart), series in self._series.items():
                if contract_id == tick.contract_id:
                    updated[(contract_id, chart)] = series.add(tick)
        return updated


def select_bars(bars: Sequence[Bar], time_range: TimeRange, cap: int) -> list[Bar]:
    """Bars within the range, newest `asMuchAsElements` (and at most `cap`, keeping the newest)."""
    chosen = [
        bar
        for bar in bars
        if (time_range.closest_ms is None or bar.start_ms <= time_range.closest_ms)
        and (time_range.as_far_ms is None or bar.start_ms >= time_range.as_far_ms)
    ]
    return _newest(chosen, time_range.as_much, cap)


def select_ticks(ticks: Sequence[Tick], time_range: TimeRange, cap: int) -> list[Tick]:
    """Ticks within the range (timestamps and `closestTickId`), newest N, at most `cap`."""
    chosen = [
        tick
        for tick in ticks
        if (time_range.closest_ms is None or tick.ts_ms <= time_range.closest_ms)
        and (time_range.as_far_ms is None or tick.ts_ms >= time_range.as_far_ms)
        and (time_range.closest_tick_id is None or tick.id <= time_range.closest_tick_id)
    ]
    return _newest(chosen, time_range.as_much, cap)


def _newest(items: list[_T], as_much: int | None, cap: int) -> list[_T]:
    count = min(len(items), cap if as_much is None else min(as_much, cap))
    return items[len(items) - count :] if count else []


def bar_packets(subscription_id: int, bars: Sequence[Bar], spec: ContractSpec, per_packet: int) -> list[JsonObject]:
    """History as chart objects `{id, td, bars}`: one per trade date, split every `per_packet` bars."""
    packets: list[JsonObject] = []
    for group in _by_trade_date(bars, per_packet, lambda bar: bar.trade_date):
        packets.append({"id": subscription_id, "td": group[0].trade_date, "bars": [bar.as_json(spec) for bar in group]})
    return packets


def tick_packet(subscription_id: int, ticks: Sequence[Tick], spec: ContractSpec, source: str) -> JsonObject:
    """A tick packet (MDDOC; JS:EX-11): prices relative to `bp` in ticks, times relative to `bt` in ms."""
    base_price = ticks[0].price
    base_time = ticks[0].ts_ms
    return {
        "id": subscription_id,
        "s": source,
        "td": ticks[0].trade_date,
        "bp": base_price,
        "bt": base_time,
        "ts": spec.tick_size,
        "tks": [
            {
                "t": tick.ts_ms - base_time,
                "p": tick.price - base_price,
                "s": tick.size,
                "b": tick.bid - base_price,
                "a": tick.ask - base_price,
                "bs": tick.bid_size,
                "as": tick.ask_size,
                "id": tick.id,
            }
            for tick in ticks
        ],
    }


def tick_packets(subscription_id: int, ticks: Sequence[Tick], spec: ContractSpec, per_packet: int) -> list[JsonObject]:
    """History ticks as `db` packets, one per trade date, split every `per_packet` ticks."""
    return [
        tick_packet(subscription_id, group, spec, "db")
        for group in _by_trade_date(ticks, per_packet, lambda tick: tick.trade_date)
    ]


def _by_trade_date(items: Sequence[_T], per_packet: int, trade_date: Callable[[_T], int]) -> list[list[_T]]:
    groups: list[list[_T]] = []
    for item in items:
        if groups and trade_date(groups[-1][0]) == trade_date(item) and len(groups[-1]) < per_packet:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups
