"""`orderStrategy/startOrderStrategy`: the multi-bracket strategy (`orderStrategyTypeId` 2) of Tradovate's examples.

The request (DOC20 swagger `StartOrderStrategy` and the `orderStrategy/startorderstrategy` description; STRAT
`standardMiddleware/startOrderStrategy.js`): `{accountId, accountSpec, symbol, action, orderStrategyTypeId: 2,
params}`, `params` a JSON string of `{entryVersion: {orderQty, orderType, price?, stopPrice?}, brackets: [{qty,
profitTarget, stopLoss, trailingStop}]}`. `profitTarget` and `stopLoss` are price offsets from the entry with their
sign (the docs' Sell example: `profitTarget: -30, stopLoss: 15`). The answer is an `OrderStrategyStatusResponse`:
`{"orderStrategy": {...}}`, or `{"errorText": ..}`.

How the strategy runs is not documented beyond that; the simulator's choice (**sim choice**): an `orderStrategy`
entity (status `ActiveStrategy`), the entry order, and once the entry has filled, per bracket a Limit order at
entry + profitTarget and a Stop order at entry + stopLoss on the other side, one cancelling the other when it
fills; `ExecutionFinished` when every order is done (`ExecutionInterrupted` if the entry does not fill). Each order
is tied to the strategy by an `orderStrategyLink` with the label `Entry`, `Target` or `Stop` (labels: sim choice).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tradovate_sim.accounts import AccountBook
from tradovate_sim.contracts import ContractCatalog
from tradovate_sim.entities import EntityStore, IdSequence, OrderStrategy, OrderStrategyLink
from tradovate_sim.orders import LiveOrder, OrderEngine, OrderFailure
from tradovate_sim.wire import JsonObject, format_timestamp

MULTIBRACKET = 2  # "2 is 'multibracket', we currently only offer this strategy" (DOC20 swagger)
Role = Literal["Entry", "Target", "Stop"]


@dataclass(frozen=True)
class _Bracket:
    qty: int
    profit_target: float | None
    stop_loss: float | None


@dataclass
class _Strategy:
    entity: OrderStrategy
    user_id: int
    symbol: str
    entry_side: str
    brackets: tuple[_Bracket, ...]
    open_orders: set[int] = field(default_factory=set)
    siblings: dict[int, int] = field(default_factory=dict)  # bracket order id -> the other order of its bracket


@dataclass(frozen=True)
class StrategyLeg:
    """What an order is to its strategy."""

    strategy: _Strategy
    role: Role


class OrderStrategies:
    """Starts multi-bracket strategies and runs their brackets as the entry and bracket orders fill."""

    def __init__(
        self,
        store: EntityStore,
        accounts: AccountBook,
        orders: OrderEngine,
        catalog: ContractCatalog,
        now_ms: Callable[[], int],
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._orders = orders
        self._catalog = catalog
        self._now_ms = now_ms
        self._ids = IdSequence(57_000_001)
        self._link_ids = IdSequence(58_000_001)
        for entity_type in ("orderStrategy", "orderStrategyLink"):
            store.register_type(entity_type)
        orders.watchers.append(self)

    def start(self, body: JsonObject, user_id: int) -> JsonObject:
        """`orderStrategy/startorderstrategy`: `{"orderStrategy": {...}}` or `{"errorText": ..}` (status 200)."""
        try:
            entry, brackets = _parse(body)
        except OrderFailure as failure:
            return {"errorText": failure.text}
        spec_symbol = body.get("symbol")
        contract = self._catalog.resolve(spec_symbol)
        if contract is None:
            return {"errorText": f"Unknown symbol {spec_symbol!r}"}
        action = body.get("action")
        strategy = _Strategy(
            OrderStrategy(
                id=self._ids.next(),
                account_id=self._accounts.account_id,
                timestamp=self._stamp(),
                contract_id=contract.id,
                order_strategy_type_id=MULTIBRACKET,
                action=str(action),
                params=str(body.get("params")),
                status="ActiveStrategy",
                sender_id=user_id,
                custom_tag50=body.get("customTag50") if isinstance(body.get("customTag50"), str) else None,
            ),
            user_id,
            str(spec_symbol),
            str(action),
            brackets,
        )
        entry_body: JsonObject = {
            **{key: body[key] for key in ("accountId", "accountSpec") if key in body},
            "symbol": spec_symbol,
            "action": action,
            **entry,
            "isAutomated": bool(body.get("isAutomated", True)),
        }
        self._store.create(strategy.entity, strategy.entity.account_id)
        placed = self._orders.place(entry_body, user_id, leg=StrategyLeg(strategy, "Entry"))
        if "orderId" not in placed:
            text = str(placed.get("failureText", ""))
            self._finish(strategy, "ExecutionFailed", failure=text)
            return {"errorText": text, "orderStrategy": strategy.entity.as_json()}
        return {"orderStrategy": strategy.entity.as_json()}

    def _link(self, strategy: _Strategy, order_id: int, role: Role) -> None:
        link = OrderStrategyLink(
            id=self._link_ids.next(), order_strategy_id=strategy.entity.id, order_id=order_id, label=role
        )
        self._store.create(link, strategy.entity.account_id)

    def on_order_created(self, live: LiveOrder) -> None:
        """Tie a new order of a strategy to it (called by the order engine before the order can fill)."""
        leg = live.leg
        if isinstance(leg, StrategyLeg):
            leg.strategy.open_orders.add(live.order.id)
            self._link(leg.strategy, live.order.id, leg.role)

    def on_order_done(self, live: LiveOrder) -> None:
        """Run the strategy on: brackets after the entry fills, one cancels the other, finish when all are done."""
        leg = live.leg
        if not isinstance(leg, StrategyLeg):
            return
        strategy = leg.strategy
        strategy.open_orders.discard(live.order.id)
        filled = live.order.ord_status == "Filled"
        if leg.role == "Entry":
            if filled:
                self._place_brackets(strategy, live)
            else:
                self._finish(strategy, "ExecutionInterrupted")
                return
        elif filled:
            sibling = strategy.siblings.get(live.order.id)
            if sibling is not None and sibling in strategy.open_orders:
                self._orders.cancel({"orderId": sibling, "isAutomated": True}, strategy.user_id)
        if not strategy.open_orders and strategy.entity.status == "ActiveStrategy":
            self._finish(strategy, "ExecutionFinished")

    def _place_brackets(self, strategy: _Strategy, entry: LiveOrder) -> None:
        average = entry.value / entry.cum_qty
        exit_side = "Sell" if strategy.entry_side == "Buy" else "Buy"
        tick = entry.spec.tick_size
        for bracket in strategy.brackets:
            ids: list[int] = []
            legs: tuple[tuple[Role, float | None, str, str], ...] = (
                ("Target", bracket.profit_target, "Limit", "price"),
                ("Stop", bracket.stop_loss, "Stop", "stopPrice"),
            )
            for role, offset, order_type, price_key in legs:
                if offset is None:
                    continue
                price = round(round((average + offset) / tick) * tick, 10)
                body: JsonObject = {
                    "accountId": entry.order.account_id,
                    "symbol": entry.spec.name,
                    "action": exit_side,
                    "orderQty": bracket.qty,
                    "orderType": order_type,
                    price_key: price,
                    "timeInForce": "GTC",
                    "isAutomated": True,
                }
                placed = self._orders.place(body, strategy.user_id, leg=StrategyLeg(strategy, role))
                if isinstance(placed.get("orderId"), int):
                    ids.append(placed["orderId"])
            if len(ids) == 2:
                strategy.siblings[ids[0]] = ids[1]
                strategy.siblings[ids[1]] = ids[0]

    def _finish(self, strategy: _Strategy, status: str, failure: str | None = None) -> None:
        strategy.entity.status = status
        strategy.entity.failure_message = failure or None
        strategy.entity.timestamp = self._stamp()
        self._store.update(strategy.entity, strategy.entity.account_id)

    def _stamp(self) -> str:
        return format_timestamp(self._now_ms())


def _parse(body: JsonObject) -> tuple[JsonObject, tuple[_Bracket, ...]]:
    """The entry order's fields and the brackets, from `params`; an OrderFailure says what is wrong."""
    if body.get("orderStrategyTypeId") != MULTIBRACKET:
        raise OrderFailure("UnknownReason", f"orderStrategyTypeId {body.get('orderStrategyTypeId')!r} is not supported")
    if body.get("action") not in ("Buy", "Sell"):
        raise OrderFailure("UnknownReason", f"action must be Buy or Sell, got {body.get('action')!r}")
    raw = body.get("params")
    try:
        params = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        params = None
    if not isinstance(params, dict) or not isinstance(params.get("entryVersion"), dict):
        raise OrderFailure("UnknownReason", "params must be a JSON string of {entryVersion, brackets}")
    version = params["entryVersion"]
    entry = {
        key: version[key] for key in ("orderQty", "orderType", "price", "stopPrice", "timeInForce") if key in version
    }
    brackets = []
    for item in params.get("brackets") or []:
        if not isinstance(item, dict) or not isinstance(item.get("qty"), int) or item["qty"] <= 0:
            raise OrderFailure("UnknownReason", f"a bracket needs a positive integer qty, got {item!r}")
        if item.get("trailingStop"):
            raise OrderFailure("Unsupported", "trailing stops are not supported by the simulator")
        brackets.append(_Bracket(item["qty"], _offset(item, "profitTarget"), _offset(item, "stopLoss")))
    return entry, tuple(brackets)


def _offset(item: JsonObject, key: str) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise OrderFailure("UnknownReason", f"{key} must be a number, got {value!r}")
    return float(value)
