"""Tradovate entities (field names as in the Swagger/Entities Index) and the store that emits `props` events.

Every create/update goes through `EntityStore`, which is the one place `props` events are made, so no change
can reach the snapshot without also reaching the event stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol

from tradovate_sim.wire import JsonObject, event_message, format_trade_date


class Entity(Protocol):
    """Anything the store can hold: a typed id, a master id for `deps`, and its JSON."""

    @property
    def entity_type(self) -> str:
        """Tradovate's entityType (`order`, `executionReport`, ...)."""
        ...

    @property
    def id(self) -> int:
        """The entity id."""
        ...

    def master_id(self) -> int | None:
        """The id `<entity>/deps?masterid=` matches."""
        ...

    def as_json(self) -> JsonObject:
        """The same JSON as `<entity>/item`."""
        ...


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(kw_only=True)
class Record:
    """Base of the mutable entities: JSON is built from the fields, absent (None) fields are omitted."""

    ENTITY_TYPE: ClassVar[str] = ""
    MASTER_FIELD: ClassVar[str | None] = None
    RENAMES: ClassVar[dict[str, str]] = {}

    id: int

    @property
    def entity_type(self) -> str:
        """Tradovate's entityType."""
        return self.ENTITY_TYPE

    def master_id(self) -> int | None:
        """The master id for `deps`."""
        if self.MASTER_FIELD is None:
            return None
        value = getattr(self, self.MASTER_FIELD)
        return value if isinstance(value, int) else None

    def as_json(self) -> JsonObject:
        """The entity JSON, fields in declaration order (matches the docs' samples)."""
        result: JsonObject = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None:
                continue
            key = self.RENAMES.get(spec.name) or _camel(spec.name)
            result[key] = format_trade_date(value) if spec.name == "trade_date" else value
        return result


@dataclass(kw_only=True)
class User(Record):
    """A user (`users` in the sync snapshot)."""

    ENTITY_TYPE: ClassVar[str] = "user"
    name: str
    timestamp: str
    email: str
    status: str = "Active"
    professional: bool = False


@dataclass(kw_only=True)
class Account(Record):
    """A trading account."""

    ENTITY_TYPE: ClassVar[str] = "account"
    MASTER_FIELD: ClassVar[str | None] = "user_id"
    name: str
    user_id: int
    account_type: str = "Customer"
    active: bool = True
    clearing_house_id: int = 2
    risk_category_id: int = 2
    auto_liq_profile_id: int = 2
    margin_account_type: str = "Speculator"
    legal_status: str = "Individual"
    archived: bool = False
    timestamp: str


@dataclass(kw_only=True)
class AccountRiskStatus(Record):
    """Admin/risk state of an account; its id is the account id."""

    ENTITY_TYPE: ClassVar[str] = "accountRiskStatus"
    MASTER_FIELD: ClassVar[str | None] = "id"
    admin_action: str = "Normal"
    admin_timestamp: str | None = None
    liquidate_only: str | None = None
    user_triggered_liq_only: bool = False


@dataclass(kw_only=True)
class MarginSnapshot(Record):
    """Margin figures of an account; its id is the account id."""

    ENTITY_TYPE: ClassVar[str] = "marginSnapshot"
    MASTER_FIELD: ClassVar[str | None] = "id"
    timestamp: str
    risk_time_period_id: int = 2
    initial_margin: float = 0.0
    maintenance_margin: float = 0.0
    auto_liq_level: float = 0.0
    liq_only_level: float = 0.0
    total_used_margin: float = 0.0
    full_initial_margin: float = 0.0


@dataclass(kw_only=True)
class CashBalance(Record):
    """Cash of an account for the current trade date."""

    ENTITY_TYPE: ClassVar[str] = "cashBalance"
    MASTER_FIELD: ClassVar[str | None] = "account_id"
    RENAMES: ClassVar[dict[str, str]] = {"realized_pnl": "realizedPnL", "week_realized_pnl": "weekRealizedPnL"}
    account_id: int
    timestamp: str
    trade_date: int
    currency_id: int = 1
    amount: float
    realized_pnl: float = 0.0
    week_realized_pnl: float = 0.0


@dataclass(kw_only=True)
class Position(Record):
    """Net position of an account in one contract."""

    ENTITY_TYPE: ClassVar[str] = "position"
    MASTER_FIELD: ClassVar[str | None] = "account_id"
    account_id: int
    contract_id: int
    timestamp: str
    trade_date: int
    net_pos: int = 0
    net_price: float | None = None
    bought: int = 0
    bought_value: float = 0.0
    sold: int = 0
    sold_value: float = 0.0
    prev_pos: int = 0
    prev_price: float | None = None


@dataclass(kw_only=True)
class Order(Record):
    """An order: status only; price and quantity live on its OrderVersion."""

    ENTITY_TYPE: ClassVar[str] = "order"
    MASTER_FIELD: ClassVar[str | None] = "account_id"
    account_id: int
    contract_id: int
    timestamp: str
    action: str
    ord_status: str
    admin: bool = False


@dataclass(kw_only=True)
class OrderVersion(Record):
    """Quantity, type and prices of an order at one command; its id is that command's id."""

    ENTITY_TYPE: ClassVar[str] = "orderVersion"
    MASTER_FIELD: ClassVar[str | None] = "order_id"
    order_id: int
    order_qty: int
    order_type: str
    price: float | None = None
    stop_price: float | None = None
    max_show: int | None = None
    peg_difference: float | None = None
    time_in_force: str
    expire_time: str | None = None
    text: str | None = None


@dataclass(kw_only=True)
class Command(Record):
    """A client command (New, Modify, Cancel); carries the client's `clOrdId` and `isAutomated`."""

    ENTITY_TYPE: ClassVar[str] = "command"
    MASTER_FIELD: ClassVar[str | None] = "order_id"
    order_id: int
    timestamp: str
    cl_ord_id: str | None = None
    command_type: str
    command_status: str
    sender_id: int | None = None
    user_session_id: int | None = None
    activation_time: str | None = None
    custom_tag50: str | None = None
    is_automated: bool = False


@dataclass(kw_only=True)
class CommandReport(Record):
    """The platform's report on a command."""

    ENTITY_TYPE: ClassVar[str] = "commandReport"
    MASTER_FIELD: ClassVar[str | None] = "command_id"
    command_id: int
    timestamp: str
    command_status: str
    reject_reason: str | None = None
    text: str | None = None
    ord_status: str | None = None


@dataclass(kw_only=True)
class ExecutionReport(Record):
    """An execution report (New, Trade, Replaced, Canceled, Expired, Rejected)."""

    ENTITY_TYPE: ClassVar[str] = "executionReport"
    MASTER_FIELD: ClassVar[str | None] = "order_id"
    command_id: int
    name: str | None = None
    account_id: int
    contract_id: int
    timestamp: str
    trade_date: int
    order_id: int
    exec_type: str
    exec_ref_id: str | None = None
    ord_status: str
    action: str
    cum_qty: int = 0
    avg_px: float | None = None
    last_qty: int | None = None
    last_px: float | None = None
    reject_reason: str | None = None
    text: str | None = None
    exchange_order_id: str | None = None


@dataclass(kw_only=True)
class Fill(Record):
    """One fill of an order."""

    ENTITY_TYPE: ClassVar[str] = "fill"
    MASTER_FIELD: ClassVar[str | None] = "order_id"
    order_id: int
    contract_id: int
    timestamp: str
    trade_date: int
    action: str
    qty: int
    price: float
    active: bool = True
    finally_paired: bool = False


@dataclass(kw_only=True)
class FillPair(Record):
    """A buy fill and a sell fill matched against each other (realized P&L)."""

    ENTITY_TYPE: ClassVar[str] = "fillPair"
    MASTER_FIELD: ClassVar[str | None] = "position_id"
    position_id: int
    buy_fill_id: int
    sell_fill_id: int
    qty: int
    buy_price: float
    sell_price: float
    active: bool = True


@dataclass(kw_only=True)
class OrderStrategy(Record):
    """A started order strategy (DOC20 swagger `OrderStrategy`)."""

    ENTITY_TYPE: ClassVar[str] = "orderStrategy"
    MASTER_FIELD: ClassVar[str | None] = "account_id"
    account_id: int
    timestamp: str
    contract_id: int
    order_strategy_type_id: int
    action: str
    params: str | None = None
    uuid: str | None = None
    status: str
    failure_message: str | None = None
    sender_id: int | None = None
    custom_tag50: str | None = None


@dataclass(kw_only=True)
class OrderStrategyLink(Record):
    """One order of an order strategy, with its role as `label` (DOC20 swagger `OrderStrategyLink`)."""

    ENTITY_TYPE: ClassVar[str] = "orderStrategyLink"
    MASTER_FIELD: ClassVar[str | None] = "order_strategy_id"
    order_strategy_id: int
    order_id: int
    label: str


@dataclass(frozen=True)
class StaticEntity:
    """A read-only catalog entity (contract, contractMaturity, product, currency) with fixed JSON."""

    entity_type: str
    id: int
    payload: JsonObject
    master: int | None = None

    def master_id(self) -> int | None:
        """The master id for `deps`."""
        return self.master

    def as_json(self) -> JsonObject:
        """A copy of the fixed JSON."""
        return dict(self.payload)


class IdSequence:
    """Increasing ids for one entity type, from a base distinct per type so ids never collide across types."""

    def __init__(self, first: int) -> None:
        self._next = first

    def next(self) -> int:
        """The next id."""
        value = self._next
        self._next += 1
        return value


PropsListener = Callable[[int, JsonObject], None]


class EntityStore:
    """Entities by type and id; `create`/`update` publish `props` events to listeners by account id."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[int, Entity]] = {}
        self._names: dict[str, str] = {}
        self._listeners: list[PropsListener] = []

    def add_listener(self, listener: PropsListener) -> None:
        """Receive `(account_id, props event message)` for every change."""
        self._listeners.append(listener)

    def load(self, entity: Entity) -> None:
        """Add an entity without an event (catalog data, the initial account)."""
        self._names.setdefault(entity.entity_type.lower(), entity.entity_type)
        self._tables.setdefault(entity.entity_type, {})[entity.id] = entity

    def create(self, entity: Entity, account_id: int) -> None:
        """Add an entity and publish `Created`."""
        self.load(entity)
        self._publish(account_id, entity, "Created")

    def update(self, entity: Entity, account_id: int) -> None:
        """Publish `Updated` for an entity already changed in place."""
        self._publish(account_id, entity, "Updated")

    def delete(self, entity: Entity, account_id: int) -> None:
        """Remove an entity and publish `Deleted`."""
        self._tables.get(entity.entity_type, {}).pop(entity.id, None)
        self._publish(account_id, entity, "Deleted")

    def _publish(self, account_id: int, entity: Entity, event_type: str) -> None:
        message = event_message(
            "props", {"entityType": entity.entity_type, "eventType": event_type, "entity": entity.as_json()}
        )
        for listener in self._listeners:
            listener(account_id, message)

    def entity_type(self, name: str) -> str | None:
        """The canonical entityType for a case-insensitive name (`executionreport` → `executionReport`)."""
        return self._names.get(name.lower())

    def register_type(self, entity_type: str) -> None:
        """Make an entity type known (listable) before it has any entity."""
        self._names.setdefault(entity_type.lower(), entity_type)
        self._tables.setdefault(entity_type, {})

    def all(self, entity_type: str) -> list[Entity]:
        """Entities of a type, by id."""
        table = self._tables.get(entity_type, {})
        return [table[key] for key in sorted(table)]

    def get(self, entity_type: str, entity_id: int) -> Entity | None:
        """One entity."""
        return self._tables.get(entity_type, {}).get(entity_id)

    def find(self, entity_type: str, name: str) -> Entity | None:
        """The entity whose JSON `name` equals `name` (case-insensitive)."""
        for entity in self.all(entity_type):
            candidate: Any = entity.as_json().get("name")
            if isinstance(candidate, str) and candidate.lower() == name.lower():
                return entity
        return None

    def deps(self, entity_type: str, master_ids: set[int]) -> list[Entity]:
        """Entities whose master id is one of `master_ids`."""
        return [entity for entity in self.all(entity_type) if entity.master_id() in master_ids]
