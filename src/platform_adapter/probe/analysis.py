"""Pure measurements over what the probe received and recorded: chart packets, tick order, heartbeats."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from platform_adapter.probe.capture import CaptureRecord
from platform_adapter.probe.socket import Received
from platform_adapter.tradovate.protocol import Event, Message, Response

_JSON = msgspec.json.Decoder()


def payload(message: Event | Response) -> Any:
    """The decoded `d` of a message (None when absent or not JSON)."""
    if message.d is None:
        return None
    try:
        return _JSON.decode(message.d)
    except msgspec.DecodeError:
        return None


def response_text(response: Response) -> str:
    """A response as one line: `s=<status> d=<d exactly as sent>`."""
    d = bytes(response.d).decode("utf-8", "replace") if response.d is not None else "(none)"
    return f"s={response.status} d={d}"


def entitlement_shown(answer: Response) -> str | None:
    """The `md_entitlement` variant an md request's answer shows (MDSWAG MarketDataSubscriptionResult), or None."""
    d = payload(answer)
    if answer.status != 200 or not isinstance(d, dict):
        return None
    if d.get("errorText") or d.get("errorCode") not in (None, "", "Success") or d.get("mode") == "None":
        return "none"
    return {"RealTime": "realtime", "Delayed": "delayed", None: "minimal"}.get(d.get("mode"))


def chart_packets(received: Iterable[Received], ids: Iterable[int]) -> list[tuple[float, dict[str, Any]]]:
    """Every chart packet (`d.charts[]` item) whose `id` is one of `ids`, with its arrival time, in order."""
    wanted = set(ids)
    packets: list[tuple[float, dict[str, Any]]] = []
    for item in received:
        message = item.message
        if not isinstance(message, Event) or message.kind != "chart":
            continue
        d = payload(message)
        charts = d.get("charts") if isinstance(d, dict) else None
        for packet in charts if isinstance(charts, list) else []:
            if isinstance(packet, dict) and packet.get("id") in wanted:
                packets.append((item.at, packet))
    return packets


def history_packets(packets: Sequence[tuple[float, dict[str, Any]]]) -> list[tuple[float, dict[str, Any]]]:
    """The packets of one subscription up to its `eoh`: its history, whichever id it came under (ADR 0014)."""
    history: list[tuple[float, dict[str, Any]]] = []
    for at, packet in packets:
        if packet.get("eoh"):
            break
        history.append((at, packet))
    return history


def chart_arrays(received: Iterable[Received]) -> list[list[dict[str, Any]]]:
    """The `d.charts` array of every chart event, in order (how packets share events: `chart_packing`)."""
    arrays: list[list[dict[str, Any]]] = []
    for item in received:
        message = item.message
        if isinstance(message, Event) and message.kind == "chart":
            d = payload(message)
            charts = d.get("charts") if isinstance(d, dict) else None
            if isinstance(charts, list):
                arrays.append([packet for packet in charts if isinstance(packet, dict)])
    return arrays


def quotes_in(message: Message, contract_id: int) -> list[dict[str, Any]]:
    """The quotes of one contract in one message (`md` events, `d.quotes[]`)."""
    if not isinstance(message, Event) or message.kind != "md":
        return []
    d = payload(message)
    items = d.get("quotes", []) if isinstance(d, dict) else []
    return [q for q in items if isinstance(q, dict) and q.get("contractId") == contract_id]


def quotes(received: Iterable[Received], contract_id: int) -> list[dict[str, Any]]:
    """Every quote of one contract, in order."""
    return [quote for item in received for quote in quotes_in(item.message, contract_id)]


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick of a Tick chart packet: its id, time (`bt + t`, epoch ms) and the packet it came in."""

    id: int
    time_ms: int
    packet: int
    source: str


def ticks_of(packets: Sequence[tuple[float, dict[str, Any]]]) -> list[Tick]:
    """The ticks of tick packets in arrival order (time = packet `bt` + tick `t`, MDDOC Using-Tick-Charts)."""
    ticks: list[Tick] = []
    for index, (_, packet) in enumerate(packets):
        base = packet.get("bt")
        for tick in packet.get("tks", []) or []:
            if isinstance(tick, dict) and isinstance(tick.get("id"), int) and isinstance(base, int):
                ticks.append(Tick(tick["id"], base + int(tick.get("t", 0)), index, str(packet.get("s", ""))))
    return ticks


@dataclass(frozen=True)
class TickOrder:
    """How tick ids and times are ordered as they arrive (P4)."""

    packets: int
    ticks: int
    realtime_ticks: int
    packets_with_unsorted_ids: int  # ids not strictly increasing inside one packet
    packets_overlapping_previous: int  # first id <= the largest id of earlier packets
    duplicate_ids: int
    id_gaps: int  # holes between consecutive distinct ids (sorted)
    times_out_of_order: int  # a tick whose time is earlier than the tick before it (arrival order)
    times_disagree_with_ids: int  # consecutive ids (sorted) whose times go backwards
    id_range: tuple[int, int] | None = None


def tick_order(ticks: Sequence[Tick]) -> TickOrder:
    """Measure the ordering of ticks as received."""
    unsorted_packets: set[int] = set()
    overlapping: set[int] = set()
    largest: int | None = None
    previous_time: int | None = None
    out_of_order = 0
    by_packet: dict[int, list[Tick]] = {}
    for tick in ticks:
        by_packet.setdefault(tick.packet, []).append(tick)
        if previous_time is not None and tick.time_ms < previous_time:
            out_of_order += 1
        previous_time = tick.time_ms
    for packet, items in sorted(by_packet.items()):
        ids = [t.id for t in items]
        if any(b <= a for a, b in itertools.pairwise(ids)):
            unsorted_packets.add(packet)
        if largest is not None and ids[0] <= largest:
            overlapping.add(packet)
        largest = max(ids) if largest is None else max(largest, *ids)
    distinct = sorted({t.id for t in ticks})
    first_time = {t.id: t.time_ms for t in reversed(ticks)}
    gaps = sum(1 for a, b in itertools.pairwise(distinct) if b - a > 1)
    disagree = sum(1 for a, b in itertools.pairwise(distinct) if first_time[b] < first_time[a])
    return TickOrder(
        packets=len(by_packet),
        ticks=len(ticks),
        realtime_ticks=sum(1 for t in ticks if t.source == "rt"),
        packets_with_unsorted_ids=len(unsorted_packets),
        packets_overlapping_previous=len(overlapping),
        duplicate_ids=len(ticks) - len(distinct),
        id_gaps=gaps,
        times_out_of_order=out_of_order,
        times_disagree_with_ids=disagree,
        id_range=(distinct[0], distinct[-1]) if distinct else None,
    )


def bars_of(packets: Sequence[tuple[float, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The bars of bar packets in arrival order."""
    return [bar for _, packet in packets for bar in packet.get("bars", []) or [] if isinstance(bar, dict)]


@dataclass(frozen=True)
class BarResends:
    """How often a realtime bar repeats the previous bar's `timestamp` (the forming bar re-sent)."""

    bars: int
    resent: int
    distinct_timestamps: int


def bar_resends(bars: Sequence[dict[str, Any]]) -> BarResends:
    """Count re-sends of the forming bar."""
    resent = sum(1 for a, b in itertools.pairwise(bars) if a.get("timestamp") == b.get("timestamp"))
    return BarResends(len(bars), resent, len({b.get("timestamp") for b in bars}))


@dataclass(frozen=True)
class Cadence:
    """Server `h` heartbeats on one connection over a window, measured from the capture (P2)."""

    window_s: float
    heartbeats: int
    data_frames: int
    intervals_s: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float | None:
        """Median gap between heartbeats."""
        return statistics.median(self.intervals_s) if self.intervals_s else None

    def describe(self) -> str:
        """A sentence for the findings table."""
        if not self.heartbeats:
            return f"no `h` in {self.window_s:.1f} s ({self.data_frames} data frames)"
        spread = (
            f"median {self.median_s:.2f} s, min {min(self.intervals_s):.2f} s, max {max(self.intervals_s):.2f} s"
            if self.intervals_s
            else "a single one"
        )
        return f"{self.heartbeats} `h` in {self.window_s:.1f} s ({spread}); {self.data_frames} data frames"


def cadence(records: Iterable[CaptureRecord], conn: str, start_ns: int, end_ns: int) -> Cadence:
    """Heartbeats and data frames the server sent on `conn` between two monotonic instants (ns)."""
    beats: list[int] = []
    data = 0
    for record in records:
        if record.kind != "frame" or record.dir != "recv" or record.conn != conn:
            continue
        if not start_ns <= record.mono_ns <= end_ns:
            continue
        if record.text == "h":
            beats.append(record.mono_ns)
        elif record.text.startswith("a"):
            data += 1
    intervals = [(b - a) / 1e9 for a, b in itertools.pairwise(beats)]
    return Cadence((end_ns - start_ns) / 1e9, len(beats), data, intervals)


def iso_ms(epoch_ms: int) -> str:
    """Epoch milliseconds as Tradovate writes timestamps: ISO-8601 UTC with milliseconds and `Z`."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_iso(text: str) -> datetime | None:
    """An ISO-8601 timestamp (with `Z`), or None."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
