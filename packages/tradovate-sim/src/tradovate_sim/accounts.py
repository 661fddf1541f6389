"""The simulated user and account: positions with FIFO fill pairing, cash balance, risk status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tradovate_sim.config import SimConfig
from tradovate_sim.contracts import ContractCatalog
from tradovate_sim.entities import (
    Account,
    AccountRiskStatus,
    CashBalance,
    EntityStore,
    Fill,
    FillPair,
    IdSequence,
    MarginSnapshot,
    Position,
    User,
)
from tradovate_sim.market import trade_date_of
from tradovate_sim.wire import format_timestamp

LIQUIDATION_ONLY_ACTIONS = frozenset(
    {"LiquidateOnlyModeImmediately", "AgreedOnLiqOnlyModeByAutoLiq", "LiquidateImmediately"}
)
LOCKED_ACTIONS = frozenset({"LockTradingImmediately"})


@dataclass(slots=True)
class _Lot:
    fill_id: int
    side: int
    qty: int
    price: float


class AccountBook:
    """One user with one account, as the brief asks; positions and cash change only through fills."""

    def __init__(
        self, config: SimConfig, store: EntityStore, catalog: ContractCatalog, now_ms: Callable[[], int]
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._now_ms = now_ms
        self._fee = config.fee_per_contract
        stamp = format_timestamp(now_ms())
        self.user = User(id=config.user_id, name=config.user, timestamp=stamp, email=f"{config.user}@example.invalid")
        self.account = Account(id=config.account_id, name=config.account_name, user_id=config.user_id, timestamp=stamp)
        self.risk = AccountRiskStatus(id=config.account_id)
        self.margin = MarginSnapshot(id=config.account_id, timestamp=stamp)
        self.cash = CashBalance(
            id=31_000_001,
            account_id=config.account_id,
            timestamp=stamp,
            trade_date=trade_date_of(now_ms()),
            amount=config.initial_balance,
        )
        for entity in (self.user, self.account, self.risk, self.margin, self.cash):
            store.load(entity)
        for entity_type in ("position", "fillPair"):
            store.register_type(entity_type)
        self._positions: dict[int, Position] = {}
        self._lots: dict[int, list[_Lot]] = {}
        self._position_ids = IdSequence(96_000_001)
        self._fill_pair_ids = IdSequence(86_000_001)

    @property
    def account_id(self) -> int:
        """The account id."""
        return self.account.id

    def position(self, contract_id: int) -> Position | None:
        """The position in one contract, if it ever traded."""
        return self._positions.get(contract_id)

    def net_pos(self, contract_id: int) -> int:
        """Signed net position (0 when none)."""
        position = self._positions.get(contract_id)
        return position.net_pos if position else 0

    @property
    def trading_locked(self) -> bool:
        """True when the risk status forbids any order."""
        return self.risk.admin_action in LOCKED_ACTIONS

    @property
    def liquidation_only(self) -> bool:
        """True when only position-reducing orders are allowed."""
        return self.risk.admin_action in LIQUIDATION_ONLY_ACTIONS or self.risk.liquidate_only is not None

    def apply_fill(self, fill: Fill) -> float:
        """Update the position (emitting position and fillPair events); returns the realized P&L."""
        spec = self._catalog.by_id(fill.contract_id)
        value_per_point = spec.value_per_point if spec else 1.0
        side = 1 if fill.action == "Buy" else -1
        stamp = fill.timestamp
        position = self._positions.get(fill.contract_id)
        created = position is None
        if position is None:
            position = Position(
                id=self._position_ids.next(),
                account_id=self.account_id,
                contract_id=fill.contract_id,
                timestamp=stamp,
                trade_date=fill.trade_date,
            )
            self._positions[fill.contract_id] = position
        lots = self._lots.setdefault(fill.contract_id, [])
        remaining = fill.qty
        realized = 0.0
        pairs: list[FillPair] = []
        while remaining and lots and lots[0].side != side:
            lot = lots[0]
            matched = min(remaining, lot.qty)
            buy_id, buy_price, sell_id, sell_price = (
                (lot.fill_id, lot.price, fill.id, fill.price)
                if lot.side > 0
                else (fill.id, fill.price, lot.fill_id, lot.price)
            )
            realized += (sell_price - buy_price) * matched * value_per_point
            pairs.append(
                FillPair(
                    id=self._fill_pair_ids.next(),
                    position_id=position.id,
                    buy_fill_id=buy_id,
                    sell_fill_id=sell_id,
                    qty=matched,
                    buy_price=buy_price,
                    sell_price=sell_price,
                )
            )
            lot.qty -= matched
            remaining -= matched
            if lot.qty == 0:
                lots.pop(0)
        if remaining:
            lots.append(_Lot(fill.id, side, remaining, fill.price))
        if side > 0:
            position.bought += fill.qty
            position.bought_value = round(position.bought_value + fill.qty * fill.price, 10)
        else:
            position.sold += fill.qty
            position.sold_value = round(position.sold_value + fill.qty * fill.price, 10)
        position.net_pos = sum(lot.side * lot.qty for lot in lots)
        open_qty = sum(lot.qty for lot in lots)
        position.net_price = round(sum(lot.qty * lot.price for lot in lots) / open_qty, 10) if open_qty else None
        position.timestamp = stamp
        position.trade_date = fill.trade_date
        if created:
            self._store.create(position, self.account_id)
        else:
            self._store.update(position, self.account_id)
        for pair in pairs:
            self._store.create(pair, self.account_id)
        return round(realized, 10)

    def book_cash(self, realized: float, qty: int) -> None:
        """Add realized P&L less fees to the cash balance and emit `cashBalance` Updated."""
        fees = self._fee * qty
        self.cash.amount = round(self.cash.amount + realized - fees, 10)
        self.cash.realized_pnl = round(self.cash.realized_pnl + realized, 10)
        self.cash.week_realized_pnl = round(self.cash.week_realized_pnl + realized, 10)
        self.cash.timestamp = format_timestamp(self._now_ms())
        self._store.update(self.cash, self.account_id)

    def set_risk_action(self, admin_action: str) -> None:
        """Change the account's risk status (e.g. `LiquidateOnlyModeImmediately`) and emit the update."""
        stamp = format_timestamp(self._now_ms())
        self.risk.admin_action = admin_action
        self.risk.admin_timestamp = stamp
        self.risk.liquidate_only = stamp if admin_action in LIQUIDATION_ONLY_ACTIONS else None
        self._store.update(self.risk, self.account_id)
