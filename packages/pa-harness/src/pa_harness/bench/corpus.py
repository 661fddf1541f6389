"""A fixed, realistic corpus of Tradovate server frames, generated from a seed (no files, no network).

The mix follows what a PA subscribed to two contracts sees on a busy session, in the shapes the simulator
and the public docs use: partial quotes (only changed entries plus `Trade` / `TotalTradeVolume`), 10-level
DOM books, 1-minute forming bars, realtime tick packets, throttled `a[...]` frames carrying several `md`
messages, order life cycles as `props` events (order, command, orderVersion, executionReport, fill,
position, cashBalance) co-batched with the order response, a `user/syncrequest` snapshot, and `h`.

Ids match the simulator's catalog (ESZ6, NQZ6) and the chart subscription ids a fake server hands out
(`CHART_BAR_ID`, `CHART_TICK_ID`), so the PA labels facts exactly as it would in production.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from tradovate_sim.contracts import ESZ6, NQZ6

JsonObject = dict[str, Any]

CHART_BAR_ID: Final = 1  # realtimeId of the first md/getChart (ESZ6 1m) a fake server answers
CHART_TICK_ID: Final = 3  # realtimeId of the second md/getChart (ESZ6 tick chart)
ACCOUNT_ID: Final = 701234
USER_ID: Final = 5001
SYNC_REQUEST_ID: Final = 3
MARKET_START_MS: Final = 1_764_081_000_000  # 2025-11-25T14:30:00Z
_QUOTE_KEYS: Final = (
    "Bid",
    "TotalTradeVolume",
    "Offer",
    "LowPrice",
    "Trade",
    "OpenInterest",
    "OpeningPrice",
    "HighPrice",
    "SettlementPrice",
)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _iso(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


@dataclass
class Corpus:
    """Server frames as aiohttp hands them to the reader (`str`), plus what they contain."""

    frames: list[str]
    seed: int
    kinds: Counter[str] = field(default_factory=Counter)  # message kind -> count
    intent_ids: list[str] = field(default_factory=list)  # clOrdIds of the order life cycles
    order_request_ids: list[int] = field(default_factory=list)

    @property
    def messages(self) -> int:
        """Messages in all `a[...]` frames."""
        return sum(self.kinds.values())

    @property
    def message_frames(self) -> list[str]:
        """Only the `a[...]` frames."""
        return [frame for frame in self.frames if frame.startswith("a")]

    @property
    def bytes(self) -> int:
        """UTF-8 size of every frame."""
        return sum(len(frame.encode()) for frame in self.frames)

    def describe(self) -> str:
        """One line: frames, messages, bytes and the mix."""
        mix = ", ".join(f"{kind} {count}" for kind, count in sorted(self.kinds.items(), key=lambda kv: -kv[1]))
        return (
            f"{len(self.frames)} frames, {self.messages} messages, {self.bytes / 1024:.0f} KiB "
            f"(avg {self.bytes / max(1, self.messages):.0f} B/message; seed {self.seed}): {mix}"
        )


class _Book:
    """A seeded random walk of one contract: enough state for coherent quotes, books, bars and ticks."""

    def __init__(self, contract_id: int, start: float, tick: float, rng: random.Random) -> None:
        self.contract_id = contract_id
        self.tick = tick
        self.rng = rng
        self.bid = round(start / tick)
        self.volume = rng.randint(100_000, 900_000)
        self.open = self.bid
        self.high = self.bid + 12
        self.low = self.bid - 9
        self.last_price = self.bid
        self.last_size = 1
        self.bid_size = 20
        self.ask_size = 20
        self.tick_id = 11_768_401
        self.previous: dict[str, JsonObject] = {}
        self.bar_minute = -1
        self.bar: JsonObject = {}

    def price(self, ticks: int) -> float:
        value = ticks * self.tick
        return int(value) if value == int(value) else value

    def trade(self) -> None:
        rng = self.rng
        move = rng.random()
        if move < 0.22:
            self.bid -= 1
        elif move < 0.44:
            self.bid += 1
        self.last_price = self.bid + (1 if rng.random() < 0.5 else 0)
        self.last_size = min(25, 1 + int(rng.expovariate(0.6)))
        self.bid_size = rng.randint(5, 120)
        self.ask_size = rng.randint(5, 120)
        self.volume += self.last_size
        self.high = max(self.high, self.last_price)
        self.low = min(self.low, self.last_price)
        self.tick_id += 1

    def entries(self) -> dict[str, JsonObject]:
        return {
            "Bid": {"price": self.price(self.bid), "size": self.bid_size},
            "TotalTradeVolume": {"size": self.volume},
            "Offer": {"price": self.price(self.bid + 1), "size": self.ask_size},
            "LowPrice": {"price": self.price(self.low)},
            "Trade": {"price": self.price(self.last_price), "size": self.last_size},
            "OpenInterest": {"size": 2_104_332},
            "OpeningPrice": {"price": self.price(self.open)},
            "HighPrice": {"price": self.price(self.high)},
            "SettlementPrice": {"price": self.price(self.open - 3)},
        }

    def quote(self, now_ms: int, full: bool = False) -> JsonObject:
        entries = self.entries()
        if not full:
            entries = {
                key: value
                for key, value in entries.items()
                if key in ("Trade", "TotalTradeVolume") or self.previous.get(key) != value
            }
        self.previous = self.entries()
        return {"timestamp": _iso(now_ms), "contractId": self.contract_id, "entries": entries}

    def dom(self, now_ms: int, depth: int = 10) -> JsonObject:
        rng = self.rng
        return {
            "contractId": self.contract_id,
            "timestamp": _iso(now_ms),
            "bids": [{"price": self.price(self.bid - i), "size": rng.randint(5, 400)} for i in range(depth)],
            "offers": [{"price": self.price(self.bid + 1 + i), "size": rng.randint(5, 400)} for i in range(depth)],
        }

    def forming_bar(self, now_ms: int) -> JsonObject:
        minute = now_ms // 60_000
        price = self.price(self.last_price)
        if minute != self.bar_minute:
            self.bar_minute = minute
            self.bar = {
                "timestamp": _iso(minute * 60_000),
                "open": price,
                "high": price,
                "low": price,
                "close": price,
                "upVolume": 0,
                "downVolume": 0,
                "upTicks": 0,
                "downTicks": 0,
                "bidVolume": 0,
                "offerVolume": 0,
            }
        bar = self.bar
        bar["high"] = max(bar["high"], price)
        bar["low"] = min(bar["low"], price)
        bar["close"] = price
        up = self.last_price > self.bid
        bar["upVolume" if up else "downVolume"] += self.last_size
        bar["upTicks" if up else "downTicks"] += 1
        bar["offerVolume" if up else "bidVolume"] += self.last_size
        return dict(bar)

    def tick_packet(self, now_ms: int, subscription_id: int) -> JsonObject:
        base = self.last_price
        return {
            "id": subscription_id,
            "s": "rt",
            "td": 20251125,
            "bp": base,
            "bt": now_ms,
            "ts": self.tick,
            "tks": [
                {
                    "t": 0,
                    "p": 0,
                    "s": self.last_size,
                    "b": -1,
                    "a": 0,
                    "bs": self.bid_size,
                    "as": self.ask_size,
                    "id": self.tick_id,
                }
            ],
        }


def _md(key: str, item: JsonObject) -> JsonObject:
    return {"e": "md", "d": {key: [item]}}


def _chart(packet: JsonObject) -> JsonObject:
    return {"e": "chart", "d": {"charts": [packet]}}


def _props(entity_type: str, event_type: str, entity: JsonObject) -> JsonObject:
    return {"e": "props", "d": {"entityType": entity_type, "eventType": event_type, "entity": entity}}


class _Orders:
    """Order life cycles as the trading socket reports them: response, then props for every entity touched."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_id = 8_800_000
        self.next_request = 10
        self.position = 0
        self.history: list[tuple[str, JsonObject]] = []  # (snapshot array, entity) for the sync snapshot

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def life_cycle(self, book: _Book, now_ms: int, intent_id: str) -> tuple[JsonObject, list[JsonObject]]:
        """The order response and the props events of one market order that fills at once."""
        stamp = _iso(now_ms)
        action = "Buy" if self.rng.random() < 0.5 else "Sell"
        qty = self.rng.randint(1, 3)
        order_id, command_id, version_id, fill_id = self._id(), self._id(), self._id(), self._id()
        price = book.price(book.last_price)
        common = {"accountId": ACCOUNT_ID, "contractId": book.contract_id, "timestamp": stamp}
        order = {"id": order_id, **common, "action": action, "ordStatus": "PendingNew", "admin": False}
        command = {
            "id": command_id,
            "orderId": order_id,
            "timestamp": stamp,
            "clOrdId": intent_id,
            "commandType": "New",
            "commandStatus": "OnHold",
            "activationTime": stamp,
            "isAutomated": True,
        }
        version = {"id": version_id, "orderId": order_id, "orderQty": qty, "orderType": "Market", "timeInForce": "Day"}
        report_new = {
            "id": self._id(),
            "commandId": command_id,
            "name": "ExecutionReport",
            **common,
            "orderId": order_id,
            "execType": "New",
            "ordStatus": "Working",
            "action": action,
            "cumQty": 0,
            "avgPx": 0,
        }
        report_fill = {
            **report_new,
            "id": self._id(),
            "execType": "Trade",
            "ordStatus": "Filled",
            "cumQty": qty,
            "avgPx": price,
            "lastQty": qty,
            "lastPx": price,
        }
        fill = {
            "id": fill_id,
            "orderId": order_id,
            "contractId": book.contract_id,
            "timestamp": stamp,
            "tradeDate": {"year": 2025, "month": 11, "day": 25},
            "action": action,
            "qty": qty,
            "price": price,
            "active": True,
            "finallyPaired": 0,
        }
        self.position += qty if action == "Buy" else -qty
        position = {
            "id": 900 + book.contract_id % 100,
            **common,
            "tradeDate": {"year": 2025, "month": 11, "day": 25},
            "netPos": self.position,
            "netPrice": price,
            "bought": qty if action == "Buy" else 0,
            "boughtValue": price * qty if action == "Buy" else 0,
            "sold": qty if action == "Sell" else 0,
            "soldValue": price * qty if action == "Sell" else 0,
            "prevPos": 0,
            "prevPrice": 0,
        }
        cash = {
            "id": 40_000 + ACCOUNT_ID % 1000,
            "accountId": ACCOUNT_ID,
            "timestamp": stamp,
            "tradeDate": {"year": 2025, "month": 11, "day": 25},
            "currencyId": 1,
            "amount": 50_000.0,
            "realizedPnL": round(self.rng.uniform(-500, 500), 2),
            "weekRealizedPnL": 0.0,
        }
        events = [
            _props("order", "Created", order),
            _props("command", "Created", command),
            _props("orderVersion", "Created", version),
            _props("executionReport", "Created", report_new),
            _props("order", "Updated", {**order, "ordStatus": "Working"}),
            _props("executionReport", "Created", report_fill),
            _props("fill", "Created", fill),
            _props("order", "Updated", {**order, "ordStatus": "Filled"}),
            _props("position", "Updated", position),
            _props("cashBalance", "Updated", cash),
        ]
        self.history += [
            ("orders", {**order, "ordStatus": "Filled"}),
            ("commands", command),
            ("orderVersions", version),
            ("executionReports", report_new),
            ("executionReports", report_fill),
            ("fills", fill),
        ]
        self.next_request += 1
        return {"s": 200, "i": self.next_request, "d": {"orderId": order_id}}, events

    def snapshot(self, now_ms: int) -> JsonObject:
        """A `user/syncrequest` payload holding every entity created so far."""
        stamp = _iso(now_ms)
        arrays: dict[str, list[JsonObject]] = {
            "users": [{"id": USER_ID, "name": "demo", "timestamp": stamp, "email": "demo@example.com"}],
            "accounts": [{"id": ACCOUNT_ID, "name": f"DEMO{ACCOUNT_ID}", "userId": USER_ID, "timestamp": stamp}],
            "accountRiskStatuses": [{"id": ACCOUNT_ID, "adminAction": "Normal", "userTriggeredLiqOnly": False}],
            "cashBalances": [{"id": 40_234, "accountId": ACCOUNT_ID, "amount": 50_000.0, "timestamp": stamp}],
            "positions": [],
            "orders": [],
            "commands": [],
            "orderVersions": [],
            "executionReports": [],
            "fills": [],
            "contractGroups": [],
        }
        for name, entity in self.history:
            arrays[name].append(entity)
        return arrays


def build_corpus(*, seed: int = 20251125, steps: int = 2000) -> Corpus:
    """The corpus: `steps` market prints on ESZ6 and NQZ6 plus order activity; same seed, same frames."""
    rng = random.Random(seed)
    es = _Book(ESZ6.id, 6850.0, 0.25, rng)
    nq = _Book(NQZ6.id, 25100.0, 0.25, rng)
    orders = _Orders(rng)
    corpus = Corpus(frames=[], seed=seed)
    now = MARKET_START_MS

    def frame(messages: list[JsonObject]) -> None:
        corpus.frames.append("a[" + ",".join(_dumps(m) for m in messages) + "]")
        for message in messages:
            corpus.kinds[_kind(message)] += 1

    # Session start: full quotes and a full book, as right after md/subscribeQuote / subscribeDOM.
    frame([_md("quotes", es.quote(now, full=True))])
    frame([_md("quotes", nq.quote(now, full=True))])
    frame([_md("doms", nq.dom(now))])
    for step in range(steps):
        now += rng.randint(20, 400)
        es.trade()
        nq.trade()
        throttled = rng.random() < 0.15
        batch = [
            _md("quotes", es.quote(now)),
            _md("quotes", nq.quote(now)),
            _md("doms", nq.dom(now)),
            _chart({"id": CHART_BAR_ID, "td": 20251125, "bars": [es.forming_bar(now)]}),
            _chart(es.tick_packet(now, CHART_TICK_ID)),
        ]
        if throttled:
            frame(batch)  # Tradovate throttles md: several messages share one frame
        else:
            for message in batch:
                frame([message])
        if step % 40 == 17:
            intent_id = f"bench-{step:05d}"
            response, events = orders.life_cycle(es if step % 80 == 17 else nq, now, intent_id)
            corpus.intent_ids.append(intent_id)
            corpus.order_request_ids.append(response["i"])
            frame([response, *events[:3]])  # the response co-batched with the first events
            for event in events[3:]:
                frame([event])
        if step == steps // 2:
            frame([{"s": 200, "i": SYNC_REQUEST_ID, "d": orders.snapshot(now)}])
        if step % 250 == 249:
            corpus.frames.append("h")
    return corpus


def _kind(message: JsonObject) -> str:
    if "e" not in message:
        return "sync_snapshot" if message.get("i") == SYNC_REQUEST_ID else "response"
    data = message["d"]
    if message["e"] == "md":
        return "quote" if "quotes" in data else "dom" if "doms" in data else "md"
    if message["e"] == "chart":
        packet = data["charts"][0]
        return "chart_tick" if "tks" in packet else "chart_bar"
    return f"props:{data['entityType']}"
