"""The simulated market: a seeded random walk per contract on a virtual clock, recorded as a tick tape.

Every step advances the virtual clock by a seeded interval and prints one trade on every contract, so the
same seed gives the same tape (history and live) and therefore the same frames. Wall time only decides
*when* steps happen (`tick_interval_s`), never *what* they contain.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tradovate_sim.config import SimConfig
from tradovate_sim.contracts import ContractSpec
from tradovate_sim.wire import parse_timestamp

# CME Globex sessions for these products open 17:00 Chicago (23:00 UTC in November) for the next trade date.
TRADE_DATE_ROLL_HOUR_UTC = 23
FIRST_TICK_ID = 11_768_401

TradeListener = Callable[[Sequence["Tick"]], None]


def trade_date_of(epoch_ms: int) -> int:
    """Trade date (YYYYMMDD) of a moment: after the evening roll it belongs to the next day."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    if moment.hour >= TRADE_DATE_ROLL_HOUR_UTC:
        moment += timedelta(days=1)
    return moment.year * 10000 + moment.month * 100 + moment.day


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade print and the top of book right after it; prices in integer ticks."""

    id: int
    contract_id: int
    ts_ms: int
    price: int
    size: int
    bid: int
    ask: int
    bid_size: int
    ask_size: int
    up: bool
    at_offer: bool
    trade_date: int


@dataclass(slots=True)
class SessionStats:
    """Per trade date statistics behind the quote entries and the histogram."""

    trade_date: int
    settlement: int
    open: int | None = None
    high: int | None = None
    low: int | None = None
    volume: int = 0
    volume_at_price: dict[int, int] = field(default_factory=dict)


class ContractMarket:
    """Book, tape and session of one contract."""

    def __init__(self, spec: ContractSpec, seed: int) -> None:
        self.spec = spec
        self._rng = random.Random(f"{seed}:{spec.name}")
        start = spec.ticks(spec.start_price)
        if start is None:
            raise ValueError(f"start price {spec.start_price} of {spec.name} is off its tick grid")
        self.bid = start
        self.ask = start + 1
        self.bid_size = self._rng.randint(5, 120)
        self.ask_size = self._rng.randint(5, 120)
        self.open_interest = self._rng.randint(150_000, 2_500_000)
        self.tape: list[Tick] = []
        self.session = SessionStats(trade_date=0, settlement=start)
        self._up = True
        self._next_tick_id = FIRST_TICK_ID

    @property
    def last(self) -> Tick | None:
        """The latest trade."""
        return self.tape[-1] if self.tape else None

    def trade(self, ts_ms: int, trade_date: int) -> Tick:
        """Move the book one seeded step and print one trade."""
        rng = self._rng
        move = rng.random()
        if move < 0.22:
            self.bid -= 1
        elif move < 0.44:
            self.bid += 1
        self.ask = self.bid + 1
        at_offer = rng.random() < 0.5
        price = self.ask if at_offer else self.bid
        size = min(25, 1 + int(rng.expovariate(0.6)))
        self.bid_size = rng.randint(5, 120)
        self.ask_size = rng.randint(5, 120)
        previous = self.last
        if previous is not None and price != previous.price:
            self._up = price > previous.price
        tick = Tick(
            id=self._next_tick_id,
            contract_id=self.spec.id,
            ts_ms=ts_ms,
            price=price,
            size=size,
            bid=self.bid,
            ask=self.ask,
            bid_size=self.bid_size,
            ask_size=self.ask_size,
            up=self._up,
            at_offer=at_offer,
            trade_date=trade_date,
        )
        self._next_tick_id += 1
        self.tape.append(tick)
        self._record_session(tick)
        return tick

    def _record_session(self, tick: Tick) -> None:
        session = self.session
        if tick.trade_date != session.trade_date:
            settlement = self.tape[-2].price if len(self.tape) > 1 else session.settlement
            session = self.session = SessionStats(trade_date=tick.trade_date, settlement=settlement)
        if session.open is None:
            session.open = tick.price
        session.high = tick.price if session.high is None else max(session.high, tick.price)
        session.low = tick.price if session.low is None else min(session.low, tick.price)
        session.volume += tick.size
        session.volume_at_price[tick.price] = session.volume_at_price.get(tick.price, 0) + tick.size

    def depth(self, levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Bids and offers `(price ticks, size)`, best first; sizes beyond the top are seeded by the tick id."""
        last = self.last
        seed = (last.id if last else 0) * 1_000_003 + self.spec.id
        sizes = random.Random(seed)
        bids = [(self.bid, self.bid_size)] + [(self.bid - level, sizes.randint(10, 400)) for level in range(1, levels)]
        offers = [(self.ask, self.ask_size)] + [
            (self.ask + level, sizes.randint(10, 400)) for level in range(1, levels)
        ]
        return bids, offers


class Market:
    """All contracts on one virtual clock; `step(n)` prints n trades per contract and notifies listeners."""

    def __init__(self, config: SimConfig, contracts: Sequence[ContractSpec]) -> None:
        self._config = config
        self._clock_rng = random.Random(f"{config.seed}:clock")
        self._contracts = {spec.id: ContractMarket(spec, config.seed) for spec in contracts}
        self.start_ms = parse_timestamp(config.market_start)
        self.now_ms = self.start_ms - int(config.history_s * 1000)
        self.step_count = 0
        self.session_open = True
        self._listeners: list[TradeListener] = []
        self._auto_task: asyncio.Task[None] | None = None
        self._generate_history()

    def _generate_history(self) -> None:
        # At least one step, so every contract has a last trade and a full quote from the start.
        self._advance()
        while self.now_ms < self.start_ms:
            self._advance()

    def _advance(self) -> list[Tick]:
        low, high = self._config.trade_interval_ms
        self.now_ms += self._clock_rng.randint(low, high)
        trade_date = trade_date_of(self.now_ms)
        return [market.trade(self.now_ms, trade_date) for market in self._contracts.values()]

    @property
    def trade_date(self) -> int:
        """The trade date of the virtual clock."""
        return trade_date_of(self.now_ms)

    def contract(self, contract_id: int) -> ContractMarket:
        """The market of one contract."""
        return self._contracts[contract_id]

    def tape(self, contract_id: int) -> list[Tick]:
        """Every trade of a contract so far, history included, oldest first."""
        return self._contracts[contract_id].tape

    def add_listener(self, listener: TradeListener) -> None:
        """Call `listener(ticks)` after every live step, in registration order."""
        self._listeners.append(listener)

    async def step(self, n: int = 1) -> list[Tick]:
        """Print n trades on every contract (n steps of the virtual clock) and emit them to subscribers."""
        printed: list[Tick] = []
        for _ in range(n):
            ticks = self._advance()
            self.step_count += 1
            for listener in self._listeners:
                listener(ticks)
            printed.extend(ticks)
        # Let connection writers run so frames leave before the caller looks for them.
        await asyncio.sleep(0)
        return printed

    def start_auto(self, interval_s: float) -> None:
        """Step once every `interval_s` wall seconds until `stop_auto`."""
        if self._auto_task is None:
            self._auto_task = asyncio.create_task(self._auto(interval_s), name="sim-market-auto")

    async def _auto(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.step(1)

    async def stop_auto(self) -> None:
        """Stop automatic stepping."""
        task, self._auto_task = self._auto_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
