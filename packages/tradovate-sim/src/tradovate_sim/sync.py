"""`user/syncrequest`: the snapshot of a user's entities, then `props` events on that socket.

Whether a request without `entityTypes` gets everything or almost nothing, and how a `splitResponses` snapshot is
cut, are variant switches (`sync_entity_types`, `sync_split`; docs/simulator.md "Variants").
"""

from __future__ import annotations

from dataclasses import dataclass

from tradovate_sim.accounts import AccountBook
from tradovate_sim.connection import SimConnection
from tradovate_sim.entities import EntityStore
from tradovate_sim.variants import SyncSplit
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
    ("orderStrategies", "orderStrategy"),
    ("orderStrategyLinks", "orderStrategyLink"),
    ("orderStrategyTypes", None),
    ("userProperties", None),
    ("properties", None),
    ("userPlugins", None),
    ("userReadStatuses", None),
    ("contractGroups", None),
)

# SyncMessage arrays SWAG marks required; under `sync_split=multi_null_lists` every other absent list is null.
REQUIRED_ARRAYS = frozenset({"users", "contractGroups"})

# With `splitResponses` and `sync_split=multi_*` the snapshot goes out in these parts (the format is not public).
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


@dataclass(frozen=True, slots=True)
class SyncSelection:
    """What one `user/syncrequest` asked for: these accounts, and these entity types (None = every type)."""

    accounts: frozenset[int]
    entity_types: frozenset[str] | None = None

    def wants(self, entity_type: str) -> bool:
        """True if entities of this type belong in the snapshot and the `props` stream."""
        return self.entity_types is None or entity_type.lower() in self.entity_types


class UserSync:
    """Builds snapshots and routes `props` events to the sockets that asked for a user's data."""

    def __init__(self, store: EntityStore, accounts: AccountBook) -> None:
        self._store = store
        self._accounts = accounts
        self._subscribers: dict[int, tuple[SimConnection, SyncSelection]] = {}

    def selection(self, user_id: int, body: JsonObject, entity_types_required: bool) -> SyncSelection:
        """The accounts and entity types a request body selects.

        `entityTypes` filters both the snapshot and later `props` (P user-syncrequest). Without it, every type
        is selected, unless `entity_types_required`: then the default is the empty list P describes, and only the
        requested user's own record is sent (**sim choice**: a client can still tell the snapshot from others).
        """
        accounts = self.accounts_requested(user_id, body)
        given = body.get("entityTypes")
        if isinstance(given, list):
            return SyncSelection(accounts, frozenset(str(item).lower() for item in given))
        if entity_types_required:
            return SyncSelection(accounts, frozenset())
        return SyncSelection(accounts)

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

    def snapshot(self, selection: SyncSelection) -> JsonObject:
        """The SyncMessage for this selection (an unselected type gives an empty array)."""
        selected = set(selection.accounts)
        entities: dict[str, list[JsonObject]] = {}
        for array, entity_type in SNAPSHOT_ARRAYS:
            wanted = entity_type is not None and (selection.wants(entity_type) or self._own_user(selection, array))
            entities[array] = self._entities(entity_type, selected) if wanted and entity_type else []
        return entities

    def _own_user(self, selection: SyncSelection, array: str) -> bool:
        return array == "users" and selection.entity_types == frozenset()

    def snapshot_parts(self, selection: SyncSelection, layout: SyncSplit) -> list[JsonObject]:
        """The snapshot as the responses of a `splitResponses` request; the first part carries `users`."""
        whole = self.snapshot(selection)
        if layout == "single":
            return [whole]
        if layout == "multi_same_id":
            return [{key: value for key, value in whole.items() if key in part} for part in SPLIT_PARTS]
        return [
            {key: value if key in part else ([] if key in REQUIRED_ARRAYS else None) for key, value in whole.items()}
            for part in SPLIT_PARTS
        ]

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

    def subscribe(self, connection: SimConnection, selection: SyncSelection) -> None:
        """Send this socket every later change of these accounts, of the selected entity types."""
        self._subscribers[connection.id] = (connection, selection)

    def forget(self, connection: SimConnection) -> None:
        """Stop routing to a closed socket (there is no unsubscribe for user sync)."""
        self._subscribers.pop(connection.id, None)

    def on_props(self, account_id: int, message: JsonObject) -> None:
        """Store listener: route one `props` event."""
        entity_type = str(message["d"]["entityType"])
        for connection, selection in list(self._subscribers.values()):
            if account_id in selection.accounts and selection.wants(entity_type):
                connection.send_events([message])
