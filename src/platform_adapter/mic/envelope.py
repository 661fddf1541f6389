"""`FactEnvelope`: the one shape in which every platform fact travels from the PA to U.

One envelope carries exactly one platform message (one item of a Tradovate `a[...]` frame), with
the message's bytes untouched in `payload`. The PA adds only metadata: `mode`, `source`, the
receive time, where the message came from, and correlation ids (spec 0.2 "behaviourally dumb").
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

MIC_VERSION = 1
SOURCE_TRADOVATE = "Tradovate"


class FactKind(StrEnum):
    """What sort of fact an envelope carries."""

    MARKET = "market"  # quotes, DOM, histograms, chart bars, tick packets
    PLATFORM_EVENT = "platform_event"  # sync snapshot, props, responses, shutdown notices
    GAP = "gap"  # the PA could not receive some platform messages; bounds in the payload
    UNDECODABLE = "undecodable"  # a frame or message the PA could not parse; raw text in the payload


class FactMode(StrEnum):
    """The system mode a fact belongs to (spec 4.2); REPLAY never produces facts (the PA is off)."""

    LIVE = "LIVE"
    SIM = "SIM"


class Stream(StrEnum):
    """The platform stream a fact came from: lets U route without opening the payload."""

    QUOTE = "quote"
    DOM = "dom"
    HISTOGRAM = "histogram"
    MD = "md"  # an `md` event mixing kinds, or a kind this contract does not name
    CHART_BAR = "chart_bar"
    CHART_TICK = "chart_tick"
    CHART_EOH = "chart_eoh"  # end-of-history marker of a chart subscription
    CHART = "chart"  # a `chart` event whose kind could not be told
    SYNC_SNAPSHOT = "sync_snapshot"  # the `user/syncrequest` response
    PROPS = "props"  # entity Created / Updated / Deleted
    RESPONSE = "response"  # the platform's answer to a request of the PA (orders, subscriptions, ...)
    SHUTDOWN = "shutdown"
    CLOCK = "clock"  # market-replay clock
    EVENT = "event"  # an event kind this contract does not name
    FRAME = "frame"  # a whole socket frame (undecodable, or a close frame)
    CONNECTION = "connection"  # gap facts about a whole socket connection


class PacketLabel(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The labels of one packet of a chart message whose packets do not share their labels (ADR 0014).

    A Tradovate `chart` event may hold several packets (`d.charts`): the last history packet and `eoh`, or, when
    Tradovate throttles, packets of several subscriptions. The envelope still carries the message whole (one
    envelope per message, ADR 0002); where its packets differ, `FactEnvelope.packets` labels each one, in order.
    """

    id: int | None = None  # the packet's `id` as sent (a subscription id, not a sequence)
    contract_id: int | None = None
    symbol: str | None = None
    timeframe: str | None = None
    historical: bool | None = None  # before and including its subscription's `eoh`
    backfill: bool = False


class FactEnvelope(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A platform fact on its way to U.

    `delivery_seq` numbers envelopes per PA run so U can detect a hole between PA and U; it is NOT
    the canonical EventStream/BarStream `seq` (U assigns that, spec 5). `platform_seq` is set only
    when the platform supplies a sequence number; Tradovate supplies none, so it stays null.
    """

    kind: FactKind
    stream: Stream
    mode: FactMode
    recv_ts: int  # UTC epoch nanoseconds at which the PA read the frame off the socket
    connection: str  # "md" | "trading": which platform socket the message arrived on
    connection_id: str  # unique per socket connection within a PA run
    epoch: int  # reconnect epoch of that socket: 1 for the first connection, +1 per reconnect
    delivery_seq: int
    payload: msgspec.Raw  # the platform message exactly as received (gap: a GapDetail)
    run_id: str = ""  # unique per PA run: (run_id, delivery_seq) identifies a fact; a new run restarts delivery_seq
    platform_ts: str | int | None = None  # the platform's timestamp exactly as sent, or null
    platform_seq: int | None = None
    contract_id: int | None = None  # when the message concerns exactly one contract
    symbol: str | None = None  # the configured symbol of that contract, when known
    account_id: int | None = None  # when the message concerns exactly one account
    correlation_id: str | None = None  # the OE intent id, when the fact belongs to one
    request_id: int | None = None  # the platform request id (`i`) of a response
    timeframe: str | None = None  # chart facts: the configured timeframe ("1m", "1d"), or "tick"
    historical: bool | None = None  # chart facts: the history part of a subscription (up to and with its `eoh`)
    backfill: bool = False  # requested after a reconnect to fill a gap; may repeat earlier facts
    # Chart facts whose packets differ in the labels above (several subscriptions, or history and live in one
    # message): each packet's labels, in the order of `d.charts`; the envelope's own labels are then only those
    # every packet shares (null where they differ; `backfill` if any packet is backfill). Null otherwise.
    packets: tuple[PacketLabel, ...] | None = None
    source: str = SOURCE_TRADOVATE
    lease_epoch: int | None = None  # the lease epoch of the PA instance that read it (fencing, ADR 0012)
    v: int = MIC_VERSION


class GapDetail(msgspec.Struct, frozen=True, kw_only=True):
    """The payload of a `gap` fact: what the PA may have missed, and what it did about it."""

    reason: str  # e.g. "socket_closed", "heartbeat_silence", "shutdown", "consumer_backpressure"
    connection: str
    from_epoch: int  # the connection epoch during which the gap began
    to_epoch: int | None  # the epoch after the reconnect; null while still disconnected
    first_missing_recv_ts: int | None  # UTC ns after the last message received before the gap
    last_missing_recv_ts: int | None  # UTC ns of the first message received after the gap
    last_seen_platform_ts: str | int | None = None  # per stream: the last platform ts forwarded
    backfill: str = "none"  # "none" | "requested": whether the PA asked the platform to resend
    streams: tuple[str, ...] = ()  # which subscriptions were affected
    contract_id: int | None = None
    symbol: str | None = None
    detail: str = ""
    previous_run_id: str | None = None  # a gap a new PA run reports for an earlier run (a restart, a failover)
