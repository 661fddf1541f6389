"""What the forwarded facts showed: last trade per contract, net positions, the contract of each order.

The intent gate's fat-finger limits (`guards.py`, ADR 0010) compare an intent against these. They come only
from the platform facts the PA forwards to U anyway: `FactObserver` sits in front of the outbox, hands every
envelope on unchanged and first, then reads it. Nothing is requested from Tradovate for this, nothing is
filtered or changed, and nothing here is sent anywhere: it is the gate's memory, not a derived series.

Cost on the hot path: one call and one dict lookup per fact (~0.1 us; DOM and chart facts stop there). Quote
facts are read only for contracts whose instrument has a price band (`watch_trades`): a substring search and
a dict store each, the trade price being parsed only when an intent needs it. Props, sync snapshots and
responses to the PA's own placements are parsed when they arrive (they are rare next to market data).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from fractions import Fraction
from typing import Any, Final

import msgspec

from platform_adapter.core.ports import FactWriter
from platform_adapter.mic import FactEnvelope, Stream
from platform_adapter.tradovate.protocol import DECODE_ERRORS, sync_snapshot_refs

_TRADE_KEY: Final = b'"Trade"'
_MAX_ORDERS: Final = 100_000  # orders remembered (oldest forgotten first); a day's orders of one PA fit easily
_MAX_EXPECTED: Final = 1_000  # placements awaiting their response


class _Price(msgspec.Struct, gc=False):
    price: Any = None


class _Entries(msgspec.Struct, gc=False, rename={"trade": "Trade"}):
    trade: _Price | None = None


class _Quote(msgspec.Struct, gc=False, rename="camel"):
    contract_id: Any = None
    entries: _Entries | None = None


class _Quotes(msgspec.Struct, gc=False):
    quotes: list[_Quote] | None = None


class _MdEvent(msgspec.Struct, gc=False):
    d: _Quotes | None = None


class _Entity(msgspec.Struct, gc=False, rename="camel"):
    id: Any = None
    account_id: Any = None
    contract_id: Any = None
    net_pos: Any = None


class _PropsBody(msgspec.Struct, gc=False, rename="camel"):
    entity_type: Any = None
    event_type: Any = None
    entity: _Entity | list[_Entity] | None = None


class _PropsEvent(msgspec.Struct, gc=False):
    d: _PropsBody | None = None


class _PlaceResult(msgspec.Struct, gc=False, rename="camel"):
    order_id: Any = None


class _ResponseMessage(msgspec.Struct, gc=False):
    s: Any = None
    d: msgspec.Raw = msgspec.Raw()  # empty when absent


_MD: Final = msgspec.json.Decoder(_MdEvent)
_PROPS: Final = msgspec.json.Decoder(_PropsEvent)
_RESPONSE: Final = msgspec.json.Decoder(_ResponseMessage)
_PLACE: Final = msgspec.json.Decoder(_PlaceResult)


class ObservedState:
    """The gate's memory of the facts: read by `guards.IntentGuards`, written by `FactObserver`."""

    def __init__(self) -> None:
        self._trades: dict[int, Fraction] = {}  # contract id -> last trade price read
        self._unread: dict[int, bytes] = {}  # contract id -> a later quote payload with a `Trade` entry, not read yet
        self._positions: dict[tuple[int, int], int] = {}  # (account id, contract id) -> netPos
        self._orders: OrderedDict[int, int] = OrderedDict()  # order id -> contract id
        self._expected: OrderedDict[str, int] = OrderedDict()  # intent id of a placement -> contract id
        self.unreadable = 0  # facts the observer could not read (forwarded regardless)
        self._watched: frozenset[int] = frozenset()  # contracts whose last trade is tracked
        self._readers: dict[Stream, Callable[[FactEnvelope], None]] = {
            Stream.PROPS: lambda envelope: self._props(bytes(envelope.payload)),
            Stream.SYNC_SNAPSHOT: lambda envelope: self._snapshot(bytes(envelope.payload)),
            Stream.RESPONSE: self._response,
        }

    def watch_trades(self, contract_ids: set[int]) -> None:
        """Track the last trade of these contracts (the ones with a price band); quotes of others are not read."""
        self._watched = frozenset(contract_ids)
        for stream in (Stream.QUOTE, Stream.MD):
            if contract_ids:
                self._readers[stream] = self._quote
            else:
                self._readers.pop(stream, None)

    # -- what the gate reads ----------------------------------------------------------------------------

    def last_trade(self, contract_id: int) -> Fraction | None:
        """The price of the last trade the quote facts showed for the contract, exactly as sent."""
        unread = self._unread.pop(contract_id, None)
        if unread is not None:
            price = _trade_price(unread, contract_id)
            if price is not None:  # else (a `Trade` entry without a price) what was known before still holds
                self._trades[contract_id] = price
        return self._trades.get(contract_id)

    def net_position(self, account_id: int, contract_id: int) -> int:
        """The account's net position in the contract as the facts last showed it (0 when none was shown)."""
        return self._positions.get((account_id, contract_id), 0)

    def order_contract(self, order_id: int) -> int | None:
        """The contract of an order the facts (or the response to the PA's own placement) showed."""
        return self._orders.get(order_id)

    def expect_order(self, intent_id: str, contract_id: int) -> None:
        """A placement is about to be sent: its response fact will name the order id."""
        self._expected[intent_id] = contract_id
        while len(self._expected) > _MAX_EXPECTED:
            self._expected.popitem(last=False)

    # -- what the observer writes ------------------------------------------------------------------------

    def observe(self, envelope: FactEnvelope) -> None:
        """Read one forwarded fact; a fact that cannot be read is counted, never an error."""
        reader = self._readers.get(envelope.stream)
        if reader is not None:  # market data other than quotes (most facts) is not read at all
            reader(envelope)

    def _quote(self, envelope: FactEnvelope) -> None:
        contract_id = envelope.contract_id
        if contract_id is not None and contract_id not in self._watched:
            return
        payload = bytes(envelope.payload)
        if _TRADE_KEY not in payload:
            return
        if contract_id is not None:
            self._unread[contract_id] = payload
        else:  # several contracts in one event: read them now
            self._quotes(payload)

    def _response(self, envelope: FactEnvelope) -> None:
        if envelope.correlation_id is None:
            return
        contract_id = self._expected.pop(envelope.correlation_id, None)
        if contract_id is not None:
            self._placed(bytes(envelope.payload), contract_id)

    def _quotes(self, payload: bytes) -> None:
        try:
            event = _MD.decode(payload)
        except DECODE_ERRORS:
            self.unreadable += 1
            return
        for quote in (event.d.quotes if event.d is not None else None) or ():
            price = _price_of(quote)
            if price is not None and quote.contract_id in self._watched:
                self._unread.pop(quote.contract_id, None)
                self._trades[quote.contract_id] = price

    def _props(self, payload: bytes) -> None:
        try:
            event = _PROPS.decode(payload)
        except DECODE_ERRORS:
            self.unreadable += 1
            return
        body = event.d
        if body is None or body.entity_type not in ("position", "order"):
            return
        entities = body.entity if isinstance(body.entity, list) else [body.entity] if body.entity else []
        for entity in entities:
            account_id, contract_id = entity.account_id, entity.contract_id
            if body.entity_type == "order":
                if type(entity.id) is int and type(contract_id) is int:
                    self._remember_order(entity.id, contract_id)
            elif type(account_id) is int and type(contract_id) is int:
                if body.event_type == "Deleted":
                    self._positions.pop((account_id, contract_id), None)
                elif type(entity.net_pos) is int:
                    self._positions[(account_id, contract_id)] = entity.net_pos

    def _snapshot(self, payload: bytes) -> None:
        try:
            message = _RESPONSE.decode(payload)
        except DECODE_ERRORS:
            self.unreadable += 1
            return
        refs = sync_snapshot_refs(message.d or None, part=True)  # one of the responses to a user/syncrequest
        if refs is None:
            return
        # A snapshot is the whole state at that moment (Tradovate replays nothing): its positions list replaces the
        # positions. A part of a split snapshot without that list (absent or null) says nothing about them.
        if "positions" in refs.lists:
            self._positions = {
                (p.account_id, p.contract_id): p.net_pos
                for p in refs.positions
                if p.account_id is not None and p.contract_id is not None and p.net_pos is not None
            }
        for order in refs.orders:
            if order.contract_id is not None:
                self._remember_order(order.id, order.contract_id)

    def _placed(self, payload: bytes, contract_id: int) -> None:
        try:
            message = _RESPONSE.decode(payload)
            result = _PLACE.decode(message.d) if message.s == 200 and message.d else None
        except DECODE_ERRORS:
            self.unreadable += 1
            return
        if result is not None and type(result.order_id) is int:
            self._remember_order(result.order_id, contract_id)

    def _remember_order(self, order_id: int, contract_id: int) -> None:
        self._orders[order_id] = contract_id
        if len(self._orders) > _MAX_ORDERS:
            self._orders.popitem(last=False)


class FactObserver:
    """A `FactWriter` in front of the outbox: every envelope goes on unchanged, then `ObservedState` reads it."""

    def __init__(self, writer: FactWriter, state: ObservedState) -> None:
        self._writer = writer
        self._put = writer.put
        self._readers = state._readers
        self.next_delivery_seq = writer.next_delivery_seq  # bound once: no extra call per fact

    def put(self, envelope: FactEnvelope) -> None:
        """Queue the fact (first: nothing here may delay or lose it), then remember what the gate needs."""
        self._put(envelope)
        reader = self._readers.get(envelope.stream)
        if reader is not None:  # most facts (DOM, charts) are not read at all
            reader(envelope)

    @property
    def has_room(self) -> bool:
        """The outbox's room."""
        return self._writer.has_room

    async def wait_for_room(self) -> None:
        """Wait for the outbox's room."""
        await self._writer.wait_for_room()


def _trade_price(payload: bytes, contract_id: int) -> Fraction | None:
    try:
        event = _MD.decode(payload)
    except DECODE_ERRORS:
        return None
    for quote in reversed((event.d.quotes if event.d is not None else None) or ()):
        if quote.contract_id == contract_id:
            return _price_of(quote)
    return None


def _price_of(quote: _Quote) -> Fraction | None:
    trade = quote.entries.trade if quote.entries is not None else None
    price = trade.price if trade is not None else None
    if not isinstance(price, int | float) or isinstance(price, bool) or not 0 < price < float("inf"):
        return None
    return Fraction(repr(price))  # the decimal the platform sent, exactly (repr round-trips a JSON number)
