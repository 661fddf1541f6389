"""Quote, DOM and histogram payloads of `md` events, built from the market state.

Quote events after the first are partial: only entries that changed, plus `Trade` and `TotalTradeVolume`
on every print (JS:EX-08: "Any of entries may absent"; DOCS "md" event shows price-only and size-only entries).
"""

from __future__ import annotations

from tradovate_sim.market import ContractMarket
from tradovate_sim.wire import JsonObject, format_timestamp, format_trade_date

ALWAYS_ON_TRADE = ("Trade", "TotalTradeVolume")


def quote_entries(market: ContractMarket) -> dict[str, JsonObject]:
    """All entries of a full quote, keyed and ordered as in the DOCS "md" event sample."""
    spec = market.spec
    session = market.session
    last = market.last
    entries: dict[str, JsonObject] = {
        "Bid": {"price": spec.price(market.bid), "size": market.bid_size},
        "TotalTradeVolume": {"size": session.volume},
        "Offer": {"price": spec.price(market.ask), "size": market.ask_size},
    }
    if session.low is not None:
        entries["LowPrice"] = {"price": spec.price(session.low)}
    if last is not None:
        entries["Trade"] = {"price": spec.price(last.price), "size": last.size}
    entries["OpenInterest"] = {"size": market.open_interest}
    if session.open is not None:
        entries["OpeningPrice"] = {"price": spec.price(session.open)}
    if session.high is not None:
        entries["HighPrice"] = {"price": spec.price(session.high)}
    entries["SettlementPrice"] = {"price": spec.price(session.settlement)}
    return entries


def _quote(market: ContractMarket, entries: dict[str, JsonObject]) -> JsonObject:
    last = market.last
    stamp = format_timestamp(last.ts_ms) if last else ""
    return {"timestamp": stamp, "contractId": market.spec.id, "entries": entries}


class QuoteTracker:
    """Remembers the last entries of every contract so each step's quote carries only what changed."""

    def __init__(self) -> None:
        self._last: dict[int, dict[str, JsonObject]] = {}

    def full(self, market: ContractMarket) -> JsonObject:
        """A quote with every entry (sent right after `md/subscribeQuote`)."""
        return _quote(market, quote_entries(market))

    def advance(self, market: ContractMarket) -> JsonObject:
        """The partial quote for the latest print; call once per step per contract."""
        entries = quote_entries(market)
        previous = self._last.get(market.spec.id, {})
        changed = {key: value for key, value in entries.items() if key in ALWAYS_ON_TRADE or previous.get(key) != value}
        self._last[market.spec.id] = entries
        return _quote(market, changed)


def dom(market: ContractMarket, depth: int) -> JsonObject:
    """A full book `{contractId, timestamp, bids, offers}` (JS:EX-09)."""
    spec = market.spec
    bids, offers = market.depth(depth)
    last = market.last
    return {
        "contractId": spec.id,
        "timestamp": format_timestamp(last.ts_ms) if last else "",
        "bids": [{"price": spec.price(price), "size": size} for price, size in bids],
        "offers": [{"price": spec.price(price), "size": size} for price, size in offers],
    }


def histogram(market: ContractMarket, refresh: bool) -> JsonObject:
    """Volume at price for the trade date, offsets in ticks from `base` (JS:EX-09).

    With `refresh` every price level is sent; otherwise only the level of the latest print.
    """
    spec = market.spec
    session = market.session
    base = session.open if session.open is not None else market.bid
    last = market.last
    if refresh or last is None:
        levels = sorted(session.volume_at_price.items())
    else:
        levels = [(last.price, session.volume_at_price.get(last.price, 0))]
    return {
        "contractId": spec.id,
        "timestamp": format_timestamp(last.ts_ms) if last else "",
        "tradeDate": format_trade_date(session.trade_date),
        "base": spec.price(base),
        "items": {str(price - base): volume for price, volume in levels},
        "refresh": refresh,
    }
