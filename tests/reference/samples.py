"""Tradovate messages as the PA forwards them, and a builder of the envelopes that carry them to U.

VERBATIM samples are copied from the public docs (source keys as in the lead sheet,
/work/shared/reference/tradovate-protocol.md); "comments removed" means only ``//`` comments and
``...`` elisions were dropped so the text is JSON. CONSTRUCTED samples follow a documented shape
(named) with values chosen here.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec

from platform_adapter.mic import FactEnvelope, FactKind, FactMode, GapDetail, Stream

from .. import docs_samples as docs  # the verbatim docs samples, defined once

# JS:EX-08 README, quote event (comments removed); lead sheet §4.1
QUOTE_EVENT = docs.QUOTE_EVENT

# JS:EX-10 README, one bar (VERBATIM object); the packet around it is CONSTRUCTED per MDDOC (§4.3).
BAR = docs.BAR
CHART_BARS_EVENT = '{"e":"chart","d":{"charts":[{"id":32,"td":20170413,"bars":[' + BAR + "]}]}}"

# FAQ:HowToHandleDataSizeLimits / MDDOC: end-of-history packet; id CONSTRUCTED (§4.3)
EOH_EVENT = docs.EOH_EVENT

# JS:EX-11 README, tick chart packet (comments and "..." removed; the unquoted key `eoh` quoted) (§4.3)
TICK_CHART_EVENT = '{"e":"chart","d":' + docs.TICK_CHART_D + "}"

# DOCS wss-guide/message-protocol, "Decoding Server Frames": the props order event (VERBATIM) (§5)
PROPS_ORDER_EVENT = (
    '{"e":"props","d":{"entityType":"order","eventType":"Created","entity":{"id":210518,"accountId":25,'
    '"contractId":560901,"timestamp":"2016-11-04T00:02:36.626Z","action":"Sell","ordStatus":"PendingNew",'
    '"admin":false}}}'
)

# DOCS wss-guide/message-protocol, shutdown event; values CONSTRUCTED (§3)
SHUTDOWN_EVENT = docs.SHUTDOWN_EVENT

ACCOUNT_ID = 25
CONTRACT_ID = 560901
SYMBOL = "ESZ6"


def props(entity_type: str, event_type: str, entity: dict[str, Any]) -> str:
    """A props event (CONSTRUCTED per WSMD: `{"e":"props","d":{entityType, eventType, entity}}`)."""
    return json.dumps({"e": "props", "d": {"entityType": entity_type, "eventType": event_type, "entity": entity}})


def order(order_id: int, status: str, ts: str, action: str = "Buy") -> dict[str, Any]:
    """An Order entity (CONSTRUCTED; fields per SWAG Order, lead sheet §5)."""
    return {
        "id": order_id,
        "accountId": ACCOUNT_ID,
        "contractId": CONTRACT_ID,
        "timestamp": ts,
        "action": action,
        "ordStatus": status,
        "admin": False,
    }


def command(command_id: int, order_id: int, clordid: str, ts: str, status: str = "RiskPassed") -> dict[str, Any]:
    """A Command entity (CONSTRUCTED; fields per SWAG Command)."""
    return {
        "id": command_id,
        "orderId": order_id,
        "timestamp": ts,
        "clOrdId": clordid,
        "commandType": "New",
        "commandStatus": status,
        "isAutomated": True,
    }


def execution_report(
    report_id: int,
    order_id: int,
    command_id: int,
    exec_type: str,
    status: str,
    ts: str,
    *,
    cum_qty: int = 0,
    last_qty: int | None = None,
    last_px: float | None = None,
) -> dict[str, Any]:
    """An ExecutionReport entity (CONSTRUCTED; fields per SWAG ExecutionReport)."""
    report: dict[str, Any] = {
        "id": report_id,
        "commandId": command_id,
        "name": "DEMO1234",
        "accountId": ACCOUNT_ID,
        "contractId": CONTRACT_ID,
        "timestamp": ts,
        "tradeDate": {"year": 2026, "month": 11, "day": 25},
        "orderId": order_id,
        "execType": exec_type,
        "ordStatus": status,
        "action": "Buy",
        "cumQty": cum_qty,
    }
    if last_qty is not None:
        report.update(lastQty=last_qty, lastPx=last_px, avgPx=last_px)
    return report


def fill(fill_id: int, order_id: int, qty: int, price: float, ts: str, *, active: bool = True) -> dict[str, Any]:
    """A Fill entity (CONSTRUCTED; fields per SWAG Fill)."""
    return {
        "id": fill_id,
        "orderId": order_id,
        "contractId": CONTRACT_ID,
        "timestamp": ts,
        "tradeDate": {"year": 2026, "month": 11, "day": 25},
        "action": "Buy",
        "qty": qty,
        "price": price,
        "active": active,
        "finallyPaired": 0,
    }


def bar(ts: str, o: float, h: float, lo: float, c: float, up: float = 10, down: float = 5) -> dict[str, Any]:
    """A chart bar (CONSTRUCTED; fields per MDDOC / JS:EX-10)."""
    return {
        "timestamp": ts,
        "open": o,
        "high": h,
        "low": lo,
        "close": c,
        "upVolume": up,
        "downVolume": down,
        "upTicks": 3,
        "downTicks": 2,
        "bidVolume": down,
        "offerVolume": up,
    }


def chart_bars(td: int, *bars: dict[str, Any], subscription_id: int = 31) -> str:
    """A chart event carrying bars of one subscription (CONSTRUCTED per MDDOC)."""
    return json.dumps({"e": "chart", "d": {"charts": [{"id": subscription_id, "td": td, "bars": list(bars)}]}})


class Feed:
    """Envelopes as one PA run delivers them: `delivery_seq` gap-free from 1, `recv_ts` increasing."""

    def __init__(self, mode: FactMode = FactMode.LIVE, start_recv_ts: int = 1_795_000_000_000_000_000) -> None:
        self.mode = mode
        self._seq = itertools.count(1)
        self._recv = itertools.count(start_recv_ts, 1_000_000)

    def skip(self, n: int = 1) -> None:
        """Lose `n` delivery numbers, as if those envelopes never reached U."""
        for _ in range(n):
            next(self._seq)

    def envelope(self, kind: FactKind, stream: Stream, payload: str | bytes, **fields: Any) -> FactEnvelope:
        """One envelope with the next delivery_seq."""
        connection = "md" if kind == FactKind.MARKET else "trading"
        return FactEnvelope(
            kind=kind,
            stream=stream,
            mode=fields.pop("mode", self.mode),
            recv_ts=next(self._recv),
            connection=connection,
            connection_id=f"{connection}-1",
            epoch=1,
            delivery_seq=next(self._seq),
            payload=msgspec.Raw(payload.encode() if isinstance(payload, str) else payload),
            **fields,
        )

    def event(self, stream: Stream, payload: str, **fields: Any) -> FactEnvelope:
        """A platform_event fact."""
        return self.envelope(FactKind.PLATFORM_EVENT, stream, payload, **fields)

    def props(
        self, entity_type: str, event_type: str, entity: dict[str, Any], correlation_id: str | None = None
    ) -> FactEnvelope:
        """A props fact, platform_ts = the entity's timestamp as sent."""
        return self.event(
            Stream.PROPS,
            props(entity_type, event_type, entity),
            platform_ts=entity.get("timestamp"),
            account_id=ACCOUNT_ID,
            correlation_id=correlation_id,
        )

    def response(self, request_id: int, d: Any, correlation_id: str | None = None, status: int = 200) -> FactEnvelope:
        """A response fact (`{"s","i","d"}`)."""
        return self.event(
            Stream.RESPONSE,
            json.dumps({"s": status, "i": request_id, "d": d}),
            request_id=request_id,
            correlation_id=correlation_id,
        )

    def bars(self, payload: str, *, symbol: str = SYMBOL, timeframe: str = "1m", **fields: Any) -> FactEnvelope:
        """A chart_bar fact."""
        return self.envelope(
            FactKind.MARKET,
            Stream.CHART_BAR,
            payload,
            symbol=symbol,
            contract_id=CONTRACT_ID,
            timeframe=timeframe,
            historical=fields.pop("historical", False),
            **fields,
        )

    def gap(self) -> FactEnvelope:
        """A gap fact about the market-data socket."""
        detail = GapDetail(
            reason="socket_closed",
            connection="md",
            from_epoch=1,
            to_epoch=2,
            first_missing_recv_ts=1_795_000_000_000_000_000,
            last_missing_recv_ts=1_795_000_005_000_000_000,
            backfill="requested",
            streams=("chart_bar",),
        )
        return self.envelope(FactKind.GAP, Stream.CONNECTION, msgspec.json.encode(detail))
