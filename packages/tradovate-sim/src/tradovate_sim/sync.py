"""`user/syncrequest`: the snapshot of a user's entities, then `props` events on that socket."""

from __future__ import annotations

from collections.abc import Iterable

from tradovate_sim.accounts import AccountBook
from tradovate_sim.connection import SimConnection
from tradovate_sim.entities import EntityStore
from tradovate_sim.wire import JsonObject

# SyncMessage arrays in the order of SWAG / FAQ-USR; the ones the simulator never fills stay empty.
SNAPSHOT_ARRAYS: tuple[tuple[str, str | None], ...] = (
    ("users", "user"),
    ("accounts", "account"),
    ("accountRiskStatuses", "accountRiskStatus"),
    ("marginSnapshots", "marginSnapshot"),
    ("userAccountAutoLiqs", None),
    ("cashBalances", "cashBalance"),
    ("currencies", "currency"),
    ("positions", "position"),
    ("fillPairs", "fillPair"),
    ("orders", "order"),
    ("contracts", "contract"),
    ("contractMaturities", "contractMaturity"),
    ("products", "product"),
    ("exchanges", None),
    ("spreadDefinitions", None),
    ("commands", "command"),
    ("commandReports", "commandReport"),
    ("executionReports", "executionReport"),
    ("orderVersions", "orderVersion"),
    ("fills", "fill"),
    ("orderStrategies", None),
    ("orderStrategyLinks", None),
    ("orderStrategyTypes", None),
    ("userProperties", None),
    ("properties", None),
    ("userPlugins", None),
    ("userReadStatuses", None),
    ("contractGroups", None),
)

# With `splitResponses` the snapshot goes out in these parts (format UNCONFIRMED; see docs/simulator.md).
SPLIT_PARTS: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "users",
            "accounts",
            "accountRiskStatuses",
            "marginSnapshots",
            "userAccountAutoLiqs",
            "cashBalances",
            "currencies",
            "userProperties",
            "properties",
            "userPlugins",
            "userReadStatuses",
            "contractGroups",
        }
    ),
    frozenset(
        {"positions", "fillPairs", "contracts", "contractMaturities", "products", "exchanges", "spreadDefinitions"}
    ),
    frozenset(
        {
            "orders",
            "commands",
            "commandReports",
            "executionReports",
            "orderVersions",
            "fills",
            "orderStrategies",
            "orderStrategyLinks",
            "orderStrategyTypes",
        }
    ),
)


class UserSync:
    """Builds snapshots and routes `props` events to the sockets that asked for a user's data."""

    def __init__(self, store: EntityStore, accounts: AccountBook) -> None:
        self._store = store
        self._accounts = accounts
        self._subscribers: dict[int, tuple[SimConnection, frozenset[int]]] = {}

    def accounts_requested(self, user_id: int, body: JsonObject) -> frozenset[int]:
        """The user's accounts the body selects (`users` or `accounts`; none given = all of the user's)."""
        own = {self._accounts.account_id} if user_id == self._accounts.user.id else set()
        users = body.get("users")
        accounts = body.get("accounts")
        if isinstance(accounts, list):
            return frozenset(own & {account for account in accounts if isinstance(account, int)})
        if isinstance(users, list):
            return frozenset(own if user_id in users else set())
        return frozenset(own)

    def snapshot(self, account_ids: Iterable[int]) -> JsonObject:
        """The SyncMessage for these accounts."""
        selected = set(account_ids)
        entities: dict[str, list[JsonObject]] = {}
        for array, entity_type in SNAPSHOT_ARRAYS:
            entities[array] = self._entities(entity_type, selected) if entity_type else []
        return entities

    def snapshot_parts(self, account_ids: Iterable[int]) -> list[JsonObject]:
        """The snapshot split into parts; the first carries `users`."""
        whole = self.snapshot(account_ids)
        return [{key: value for key, value in whole.items() if key in part} for part in SPLIT_PARTS]

    def _entities(self, entity_type: str, accounts: set[int]) -> list[JsonObject]:
        if not accounts:
            return []
        if entity_type in ("user", "currency"):
            return [entity.as_json() for entity in self._store.all(entity_type)]
        if entity_type in ("contract", "contractMaturity", "product"):
            return self._referenced_catalog(entity_type)
        return [entity.as_json() for entity in self._store.all(entity_type)]

    def _referenced_catalog(self, entity_type: str) -> list[JsonObject]:
        # Like Tradovate, only the contracts the user's orders, fills and positions refer to.
        contract_ids = {
            entity.as_json().get("contractId")
            for kind in ("order", "position", "fill")
            for entity in self._store.all(kind)
        }
        contracts = [self._store.get("contract", cid) for cid in sorted(c for c in contract_ids if c)]
        contract_json = [entity.as_json() for entity in contracts if entity is not None]
        if entity_type == "contract":
            return contract_json
        maturity_ids = {item["contractMaturityId"] for item in contract_json}
        maturities = [self._store.get("contractMaturity", mid) for mid in sorted(maturity_ids)]
        maturity_json = [entity.as_json() for entity in maturities if entity is not None]
        if entity_type == "contractMaturity":
            return maturity_json
        product_ids = sorted({item["productId"] for item in maturity_json})
        products = [self._store.get("product", pid) for pid in product_ids]
        return [entity.as_json() for entity in products if entity is not None]

    def subscribe(self, connection: SimConnection, account_ids: frozenset[int]) -> None:
        """Send this socket every later change of these accounts."""
        self._subscribers[connection.id] = (connection, account_ids)

    def forget(self, connection: SimConnection) -> None:
        """Stop routing to a closed socket (there is no unsubscribe for user sync)."""
        self._subscribers.pop(connection.id, None)

    def on_props(self, account_id: int, message: JsonObject) -> None:
        """Store listener: route one `props` event."""
        for connection, accounts in list(self._subscribers.values()):
            if account_id in accounts:
                connection.send_events([message])
