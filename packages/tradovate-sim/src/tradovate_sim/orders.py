"""Order handling: place, modify, cancel, liquidate, and fills against the simulated market.

Each accepted command produces the entity sequence a Tradovate client sees (lead sheet §5): command,
order, orderVersion, commandReport, executionReport New, order Working; then per fill executionReport
Trade, fill, position (+ fillPair when closing), order Filled, cashBalance. The order of the executionReport, the
fill and the position of one fill is not public: the `props_order` variant chooses it. Business failures are
results (`failureReason`/`failureText`, status 200), never HTTP errors.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tradovate_sim.accounts import AccountBook
from tradovate_sim.contracts import ContractCatalog, ContractSpec
from tradovate_sim.entities import (
    Command,
    CommandReport,
    EntityStore,
    ExecutionReport,
    Fill,
    IdSequence,
    Order,
    OrderVersion,
)
from tradovate_sim.market import Market, Tick, trade_date_of
from tradovate_sim.variants import VariantState
from tradovate_sim.wire import JsonObject, format_timestamp

SUPPORTED_TYPES = frozenset({"Market", "Limit", "Stop", "StopLimit"})
KNOWN_TYPES = SUPPORTED_TYPES | {"MIT", "QTS", "TrailingStop", "TrailingStopLimit"}
SUPPORTED_TIF = frozenset({"Day", "GTC", "IOC", "FOK"})


class OrderFailure(Exception):
    """A business rejection, answered as `{"failureReason","failureText"}` with status 200."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(f"{reason}: {text}")
        self.reason = reason
        self.text = text

    def as_result(self) -> JsonObject:
        """The PlaceOrderResult / CommandResult body."""
        return {"failureReason": self.reason, "failureText": self.text}


@dataclass(frozen=True, slots=True)
class _Terms:
    order_qty: int
    order_type: str
    time_in_force: str
    price: int | None
    stop_price: int | None


@dataclass(slots=True)
class LiveOrder:
    """A working order with what the engine needs to fill it."""

    order: Order
    version: OrderVersion
    spec: ContractSpec
    terms: _Terms
    command_id: int
    cum_qty: int = 0
    value: float = 0.0
    triggered: bool = False
    leg: object = None  # what the order is to an order strategy (strategies.StrategyLeg), if anything

    @property
    def side(self) -> int:
        """+1 for Buy, -1 for Sell."""
        return 1 if self.order.action == "Buy" else -1

    @property
    def remaining(self) -> int:
        """Quantity still to fill."""
        return self.terms.order_qty - self.cum_qty


class OrderWatcher(Protocol):
    """Told when an order starts working and when it stops (filled, canceled, expired): order strategies."""

    def on_order_created(self, live: LiveOrder) -> None:
        """A new order is working (it may fill right after)."""
        ...

    def on_order_done(self, live: LiveOrder) -> None:
        """An order left the working set; `live.order.ord_status` says how."""
        ...


class OrderEngine:
    """Validates order commands, keeps working orders, and fills them as the market moves."""

    def __init__(
        self,
        store: EntityStore,
        accounts: AccountBook,
        market: Market,
        catalog: ContractCatalog,
        variants: VariantState,
        seed: int,
        partial_fill_qty: int | None = None,
    ) -> None:
        self._variants = variants
        self._shuffle = random.Random(f"{seed}:props-order")
        self._store = store
        self._accounts = accounts
        self._market = market
        self._catalog = catalog
        self.partial_fill_qty = partial_fill_qty
        self._working: dict[int, LiveOrder] = {}
        self.watchers: list[OrderWatcher] = []
        self._order_ids = IdSequence(41_000_001)
        self._command_ids = IdSequence(52_000_001)
        self._report_ids = IdSequence(63_000_001)
        self._execution_ids = IdSequence(74_000_001)
        self._fill_ids = IdSequence(85_000_001)
        self._trade_date = market.trade_date
        for entity_type in ("order", "orderVersion", "command", "commandReport", "executionReport", "fill"):
            store.register_type(entity_type)

    def working_orders(self) -> list[LiveOrder]:
        """Orders still working, oldest first."""
        return list(self._working.values())

    def place(self, body: JsonObject, user_id: int, leg: object = None) -> JsonObject:
        """`order/placeorder`: `{"orderId": N}` or a failure result (`leg`: the order's part in a strategy)."""
        try:
            return {"orderId": self._place(body, user_id, leg=leg).order.id}
        except OrderFailure as failure:
            return failure.as_result()

    def modify(self, body: JsonObject, user_id: int) -> JsonObject:
        """`order/modifyorder`: `{"commandId": N}` or a failure result."""
        try:
            return {"commandId": self._modify(body, user_id)}
        except OrderFailure as failure:
            return failure.as_result()

    def cancel(self, body: JsonObject, user_id: int) -> JsonObject:
        """`order/cancelorder`: `{"commandId": N}` or a failure result."""
        try:
            live = self._working_order(body)
            return {"commandId": self._cancel_by_command(live, body, user_id)}
        except OrderFailure as failure:
            return failure.as_result()

    def liquidate(self, body: JsonObject, user_id: int) -> JsonObject:
        """`order/liquidateposition`: cancel the contract's working orders, then close the position."""
        try:
            self._check_account(body, required=True)
            contract_id = body.get("contractId")
            spec = self._catalog.by_id(contract_id) if isinstance(contract_id, int) else None
            if spec is None:
                raise OrderFailure("InvalidContract", f"Unknown contractId {contract_id!r}")
            for live in [order for order in self._working.values() if order.spec.id == spec.id]:
                self._cancel_by_command(live, {"isAutomated": body.get("isAutomated", False)}, user_id)
            net = self._accounts.net_pos(spec.id)
            if net == 0:
                raise OrderFailure("UnknownReason", "Position is already flat")
            closing: JsonObject = {
                "accountId": self._accounts.account_id,
                "symbol": spec.name,
                "action": "Sell" if net > 0 else "Buy",
                "orderQty": abs(net),
                "orderType": "Market",
                "isAutomated": bool(body.get("isAutomated", False)),
                "text": "Liquidation",
            }
            return {"orderId": self._place(closing, user_id, liquidating=True).order.id}
        except OrderFailure as failure:
            return failure.as_result()

    def _place(self, body: JsonObject, user_id: int, liquidating: bool = False, leg: object = None) -> LiveOrder:
        if self._accounts.trading_locked:
            raise OrderFailure("TradingLocked", "Trading is locked for this account")
        self._check_account(body, required=True)
        spec = self._catalog.resolve(body.get("symbol"))
        if spec is None:
            raise OrderFailure("InvalidContract", f"Unknown symbol {body.get('symbol')!r}")
        action = body.get("action")
        if action not in ("Buy", "Sell"):
            raise OrderFailure("UnknownReason", f"action must be Buy or Sell, got {action!r}")
        terms = self._terms(body, spec, default_tif="Day")
        if not self._market.session_open:
            raise OrderFailure("SessionClosed", f"Session is closed for {spec.name}")
        side = 1 if action == "Buy" else -1
        net = self._accounts.net_pos(spec.id)
        if self._accounts.liquidation_only and not liquidating and (side * net >= 0 or terms.order_qty > abs(net)):
            raise OrderFailure("LiquidationOnly", "Account is in liquidation-only mode")

        stamp, trade_date = self._now()
        account_id = self._accounts.account_id
        command = Command(
            id=self._command_ids.next(),
            order_id=self._order_ids.next(),
            timestamp=stamp,
            cl_ord_id=_optional_str(body, "clOrdId"),
            command_type="New",
            command_status="RiskPassed",
            sender_id=user_id,
            activation_time=_optional_str(body, "activationTime"),
            custom_tag50=_optional_str(body, "customTag50"),
            is_automated=bool(body.get("isAutomated", False)),
        )
        order = Order(
            id=command.order_id,
            account_id=account_id,
            contract_id=spec.id,
            timestamp=stamp,
            action=action,
            ord_status="PendingNew",
        )
        version = self._version(command.id, order.id, spec, terms, _optional_str(body, "text"))
        live = LiveOrder(order=order, version=version, spec=spec, terms=terms, command_id=command.id, leg=leg)
        self._store.create(command, account_id)
        self._store.create(order, account_id)
        self._store.create(version, account_id)
        self._report(command.id, stamp, "RiskPassed", "Working")
        self._execution(live, "New", "Working", stamp, trade_date)
        order.ord_status = "Working"
        self._store.update(order, account_id)
        self._working[order.id] = live
        for watcher in self.watchers:
            watcher.on_order_created(live)
        self._try_fill(live, immediate=True, trade_price=None)
        return live

    def _check_account(self, body: JsonObject, required: bool) -> None:
        account_id = body.get("accountId")
        account_spec = body.get("accountSpec")
        if account_id is None and account_spec is None:
            if required:
                raise OrderFailure("UnknownReason", "Violation: accountId or accountSpec is required")
            return
        if account_id is not None and account_id != self._accounts.account_id:
            raise OrderFailure("Unauthorized", f"Account {account_id!r} is not accessible")
        if account_spec is not None and account_spec != self._accounts.account.name:
            raise OrderFailure("Unauthorized", f"Account {account_spec!r} is not accessible")

    def _terms(self, body: JsonObject, spec: ContractSpec, default_tif: str) -> _Terms:
        qty = body.get("orderQty")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise OrderFailure("UnknownReason", f"orderQty must be a positive integer, got {qty!r}")
        order_type = body.get("orderType")
        if order_type not in KNOWN_TYPES:
            raise OrderFailure("UnknownReason", f"Unknown orderType {order_type!r}")
        if order_type not in SUPPORTED_TYPES:
            raise OrderFailure("Unsupported", f"orderType {order_type} is not supported by the simulator")
        tif = body.get("timeInForce") or default_tif
        if tif not in SUPPORTED_TIF:
            raise OrderFailure("Unsupported", f"timeInForce {tif!r} is not supported")
        price = stop = None
        if order_type in ("Limit", "StopLimit"):
            price = _price_ticks(body, "price", spec)
        if order_type in ("Stop", "StopLimit"):
            stop = _price_ticks(body, "stopPrice", spec)
        return _Terms(qty, order_type, tif, price, stop)

    def _version(
        self, version_id: int, order_id: int, spec: ContractSpec, terms: _Terms, text: str | None
    ) -> OrderVersion:
        return OrderVersion(
            id=version_id,
            order_id=order_id,
            order_qty=terms.order_qty,
            order_type=terms.order_type,
            price=spec.price(terms.price) if terms.price is not None else None,
            stop_price=spec.price(terms.stop_price) if terms.stop_price is not None else None,
            time_in_force=terms.time_in_force,
            text=text,
        )

    def _working_order(self, body: JsonObject) -> LiveOrder:
        order_id = body.get("orderId")
        live = self._working.get(order_id) if isinstance(order_id, int) else None
        if live is not None:
            return live
        if isinstance(order_id, int) and self._store.get("order", order_id) is not None:
            raise OrderFailure("TooLate", f"Order {order_id} is no longer working")
        raise OrderFailure("UnknownReason", f"Order {order_id!r} not found")

    def _modify(self, body: JsonObject, user_id: int) -> int:
        live = self._working_order(body)
        terms = self._terms(body, live.spec, default_tif=live.terms.time_in_force)
        if terms.order_qty <= live.cum_qty:
            raise OrderFailure("UnknownReason", f"orderQty must exceed the filled quantity {live.cum_qty}")
        stamp, trade_date = self._now()
        command = self._command(live, "Modify", body, user_id, stamp)
        version = self._version(command.id, live.order.id, live.spec, terms, _optional_str(body, "text"))
        self._store.create(version, live.order.account_id)
        live.version, live.terms, live.command_id = version, terms, command.id
        live.triggered = False
        self._report(command.id, stamp, "RiskPassed", "Working")
        self._execution(live, "Replaced", "Working", stamp, trade_date)
        live.order.timestamp = stamp
        self._store.update(live.order, live.order.account_id)
        self._try_fill(live, immediate=True, trade_price=None)
        return command.id

    def _command(self, live: LiveOrder, command_type: str, body: JsonObject, user_id: int, stamp: str) -> Command:
        command = Command(
            id=self._command_ids.next(),
            order_id=live.order.id,
            timestamp=stamp,
            cl_ord_id=_optional_str(body, "clOrdId"),
            command_type=command_type,
            command_status="RiskPassed",
            sender_id=user_id,
            activation_time=_optional_str(body, "activationTime"),
            custom_tag50=_optional_str(body, "customTag50"),
            is_automated=bool(body.get("isAutomated", False)),
        )
        self._store.create(command, live.order.account_id)
        return command

    def _cancel_by_command(self, live: LiveOrder, body: JsonObject, user_id: int) -> int:
        stamp, trade_date = self._now()
        command = self._command(live, "Cancel", body, user_id, stamp)
        live.command_id = command.id
        self._report(command.id, stamp, "RiskPassed", "Canceled")
        self._finish(live, "Canceled", "Canceled", stamp, trade_date, text=None)
        return command.id

    def _finish(
        self, live: LiveOrder, exec_type: str, ord_status: str, stamp: str, trade_date: int, text: str | None
    ) -> None:
        self._working.pop(live.order.id, None)
        self._execution(live, exec_type, ord_status, stamp, trade_date, text=text)
        live.order.ord_status = ord_status
        live.order.timestamp = stamp
        self._store.update(live.order, live.order.account_id)
        self._done(live)

    def _done(self, live: LiveOrder) -> None:
        for watcher in self.watchers:
            watcher.on_order_done(live)

    def on_trades(self, ticks: Sequence[Tick]) -> None:
        """Market listener: expire Day orders at the trade-date roll, then fill what the market crossed."""
        if not ticks:
            return
        trade_date = ticks[0].trade_date
        if trade_date != self._trade_date:
            self._trade_date = trade_date
            stamp, _ = self._now()
            for live in [order for order in self._working.values() if order.terms.time_in_force == "Day"]:
                self._finish(live, "Expired", "Expired", stamp, trade_date, text="Day order expired")
        by_contract = {tick.contract_id: tick for tick in ticks}
        for live in list(self._working.values()):
            tick = by_contract.get(live.spec.id)
            if tick is not None:
                self._try_fill(live, immediate=False, trade_price=tick.price)

    def _try_fill(self, live: LiveOrder, immediate: bool, trade_price: int | None) -> None:
        book = self._market.contract(live.spec.id)
        price = self._fill_price(live, book.bid, book.ask, immediate, trade_price)
        tif = live.terms.time_in_force
        if price is not None:
            qty = live.remaining if self.partial_fill_qty is None else min(live.remaining, self.partial_fill_qty)
            if not (tif == "FOK" and qty < live.remaining):
                self._fill(live, qty, price)
        if immediate and tif in ("IOC", "FOK") and live.order.id in self._working:
            stamp, trade_date = self._now()
            self._finish(live, "Canceled", "Canceled", stamp, trade_date, text=f"{tif} remainder canceled")

    def _fill_price(self, live: LiveOrder, bid: int, ask: int, immediate: bool, trade_price: int | None) -> int | None:
        terms = live.terms
        buy = live.side > 0
        if terms.order_type in ("Stop", "StopLimit") and not live.triggered:
            stop = terms.stop_price
            assert stop is not None
            last = self._market.contract(live.spec.id).last
            reference = trade_price if trade_price is not None else (last.price if last else None)
            if reference is None or (reference < stop if buy else reference > stop):
                return None
            live.triggered = True
        if terms.order_type in ("Market", "Stop"):
            return ask if buy else bid
        limit = terms.price
        assert limit is not None
        if buy and ask <= limit:
            return ask if immediate else limit
        if not buy and bid >= limit:
            return bid if immediate else limit
        if trade_price is not None and (trade_price < limit if buy else trade_price > limit):
            return limit
        return None

    def _fill(self, live: LiveOrder, qty: int, price_ticks: int) -> None:
        stamp, trade_date = self._now()
        price = live.spec.price(price_ticks)
        live.cum_qty += qty
        live.value += qty * price
        status = "Filled" if live.remaining == 0 else "Working"
        account_id = live.order.account_id
        fill = Fill(
            id=self._fill_ids.next(),
            order_id=live.order.id,
            contract_id=live.spec.id,
            timestamp=stamp,
            trade_date=trade_date,
            action=live.order.action,
            qty=qty,
            price=price,
        )
        realized = 0.0
        for step in self._props_order():
            if step == "er":
                self._execution(live, "Trade", status, stamp, trade_date, last_qty=qty, last_px=price)
            elif step == "fill":
                self._store.create(fill, account_id)
            else:
                realized = self._accounts.apply_fill(fill)  # position (+ fillPair) events
        if status == "Filled":
            self._working.pop(live.order.id, None)
            live.order.ord_status = "Filled"
            live.order.timestamp = stamp
            self._store.update(live.order, account_id)
        self._accounts.book_cash(realized, qty)
        if status == "Filled":
            self._done(live)

    def _props_order(self) -> list[str]:
        """The order in which one fill's executionReport, fill and position (+ fillPair) events go out."""
        order = self._variants.current.props_order
        if order == "shuffled":
            steps = ["er", "fill", "position"]
            self._shuffle.shuffle(steps)
            return steps
        return {
            "er_fill_position": ["er", "fill", "position"],
            "fill_er_position": ["fill", "er", "position"],
            "er_position_fill": ["er", "position", "fill"],
        }[order]

    def _report(self, command_id: int, stamp: str, command_status: str, ord_status: str) -> None:
        report = CommandReport(
            id=self._report_ids.next(),
            command_id=command_id,
            timestamp=stamp,
            command_status=command_status,
            ord_status=ord_status,
        )
        self._store.create(report, self._accounts.account_id)

    def _execution(
        self,
        live: LiveOrder,
        exec_type: str,
        ord_status: str,
        stamp: str,
        trade_date: int,
        last_qty: int | None = None,
        last_px: float | None = None,
        text: str | None = None,
    ) -> None:
        report = ExecutionReport(
            id=self._execution_ids.next(),
            command_id=live.command_id,
            name=live.spec.name,
            account_id=live.order.account_id,
            contract_id=live.spec.id,
            timestamp=stamp,
            trade_date=trade_date,
            order_id=live.order.id,
            exec_type=exec_type,
            ord_status=ord_status,
            action=live.order.action,
            cum_qty=live.cum_qty,
            avg_px=round(live.value / live.cum_qty, 10) if live.cum_qty else None,
            last_qty=last_qty,
            last_px=last_px,
            text=text,
        )
        self._store.create(report, live.order.account_id)

    def _now(self) -> tuple[str, int]:
        now = self._market.now_ms
        return format_timestamp(now), trade_date_of(now)


def _optional_str(body: JsonObject, key: str) -> str | None:
    value: Any = body.get(key)
    return value if isinstance(value, str) else None


def _price_ticks(body: JsonObject, key: str, spec: ContractSpec) -> int:
    value = body.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise OrderFailure("InvalidPrice", f"{key} is required and must be positive, got {value!r}")
    ticks = spec.ticks(float(value))
    if ticks is None:
        raise OrderFailure("InvalidPrice", f"{key} {value} is not a multiple of tick size {spec.tick_size}")
    return ticks
