"""The ``user/syncrequest`` snapshot: recognising it, and the ids a reconciler needs from it.

Shape, with its public source (lead-sheet keys in brackets): the response ``d`` is a ``SyncMessage``
object with ``users`` and arrays such as ``orders``, ``commands``, ``positions``, ``fills``; clients
recognise it by the presence of ``users`` [FAQ-USR
https://github.com/tradovate/example-api-faq/tree/main/example-code/user-sync-request; SWAG SyncMessage
https://github.com/tradovate/example-api-csharp-trading/blob/master/swagger/services.swagger.yaml;
JS:EX-07 https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-07-Making-Requests].
Entity fields (``ordStatus``, ``clOrdId``, ``netPos``, ...) as in SWAG. With ``splitResponses`` the
snapshot may come in several responses with the request's id whose format is not documented (UNCONFIRMED);
the partner schema gives each SyncMessage list as "list of objects or null" [P api/rest-api-endpoints/users/
sync-request], so a part may lack ``users`` and carry ``null`` for what another part holds. Each part is read
on its own (``part=True``), and ``lists`` / ``nulls`` say which of the arrays read here it holds, and which it
names as null, so a caller can tell "no commands" from "commands not in this part".
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ._salvage import DECODE_ERRORS, Payload, int_or_none, salvage_items, str_or_none

__all__ = [
    "CommandRef",
    "FillRef",
    "OrderRef",
    "PositionRef",
    "SyncSnapshotRefs",
    "sync_snapshot_head",
    "sync_snapshot_refs",
]


class OrderRef(msgspec.Struct, frozen=True, gc=False):
    """An order of the snapshot, as far as reconciliation needs it."""

    id: int
    account_id: int | None
    contract_id: int | None
    ord_status: str | None


class CommandRef(msgspec.Struct, frozen=True, gc=False):
    """A command of the snapshot: links a client order id to an order."""

    id: int
    order_id: int | None
    cl_ord_id: str | None


class PositionRef(msgspec.Struct, frozen=True, gc=False):
    """A position of the snapshot."""

    id: int
    account_id: int | None
    contract_id: int | None
    net_pos: int | None


class FillRef(msgspec.Struct, frozen=True, gc=False):
    """A fill of the snapshot."""

    id: int
    order_id: int | None


class SyncSnapshotRefs(msgspec.Struct, frozen=True, gc=False):
    """The ids of a snapshot; ``skipped`` counts items (or whole sections) that could not be read.

    ``lists`` names the arrays read here (``accounts``, ``orders``, ``commands``, ``positions``, ``fills``) that
    the snapshot (or part) holds as a list, possibly empty; ``nulls`` those it gives as ``null``. An array in
    neither was absent.
    """

    orders: tuple[OrderRef, ...]
    commands: tuple[CommandRef, ...]
    positions: tuple[PositionRef, ...]
    fills: tuple[FillRef, ...]
    skipped: int
    accounts: tuple[int, ...] = ()  # the ids of its `accounts` entities
    lists: frozenset[str] = frozenset()
    nulls: frozenset[str] = frozenset()


class _Item(msgspec.Struct, gc=False, rename="camel"):
    # One loose shape for the four entity kinds; ``Any`` leaves so one odd value drops only itself.
    id: Any = None
    account_id: Any = None
    contract_id: Any = None
    order_id: Any = None
    ord_status: Any = None
    cl_ord_id: Any = None
    net_pos: Any = None


class _Probe(msgspec.Struct, gc=False):
    users: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


_Unset = msgspec.UnsetType
_UNSET = msgspec.UNSET
ARRAYS: Final = ("accounts", "orders", "commands", "positions", "fills")
"""The SyncMessage arrays these refs read."""


class _Snapshot(msgspec.Struct, gc=False):
    users: msgspec.Raw | _Unset = _UNSET
    accounts: list[_Item] | _Unset | None = _UNSET
    orders: list[_Item] | _Unset | None = _UNSET
    commands: list[_Item] | _Unset | None = _UNSET
    positions: list[_Item] | _Unset | None = _UNSET
    fills: list[_Item] | _Unset | None = _UNSET


class _Sections(msgspec.Struct, gc=False):
    users: msgspec.Raw | _Unset = _UNSET
    accounts: msgspec.Raw | _Unset = _UNSET
    orders: msgspec.Raw | _Unset = _UNSET
    commands: msgspec.Raw | _Unset = _UNSET
    positions: msgspec.Raw | _Unset = _UNSET
    fills: msgspec.Raw | _Unset = _UNSET


_PROBE: Final = msgspec.json.Decoder(_Probe)
_SNAPSHOT: Final = msgspec.json.Decoder(_Snapshot)
_SECTIONS: Final = msgspec.json.Decoder(_Sections)
_ITEM: Final = msgspec.json.Decoder(_Item)


def sync_snapshot_head(d: Payload) -> bool:
    """Tell whether a response ``d`` is a ``user/syncrequest`` snapshot (an object with ``users``)."""
    if d is None:
        return False
    try:
        return _PROBE.decode(d).users is not msgspec.UNSET
    except DECODE_ERRORS:
        return False


def sync_snapshot_refs(d: Payload, *, part: bool = False) -> SyncSnapshotRefs | None:
    """Read the account, order, command, position and fill ids of a snapshot; None if ``d`` is not one.

    ``part``: ``d`` is known to answer a ``user/syncrequest`` (one of several responses with its id), so it need
    not carry ``users``; it must still be a JSON object.
    """
    if d is None:
        return None
    skipped = 0
    arrays: dict[str, list[_Item] | _Unset | None]
    try:
        snapshot = _SNAPSHOT.decode(d)
    except DECODE_ERRORS:
        try:
            sections = _SECTIONS.decode(d)
        except DECODE_ERRORS:
            return None
        if sections.users is _UNSET and not part:
            return None
        arrays = {}
        for name in ARRAYS:
            section = getattr(sections, name)
            if section is _UNSET:
                arrays[name] = _UNSET
                continue
            items, bad = salvage_items(section, _ITEM)
            skipped += bad
            text = bytes(section).lstrip()
            # A section that is neither a list nor null (counted above) does not say what the part holds.
            arrays[name] = None if text == b"null" else items or [] if text.startswith(b"[") else _UNSET
    else:
        if snapshot.users is _UNSET and not part:
            return None
        arrays = {name: getattr(snapshot, name) for name in ARRAYS}
    lists = frozenset(name for name, value in arrays.items() if isinstance(value, list))
    nulls = frozenset(name for name, value in arrays.items() if value is None)
    accounts, orders, commands = _items(arrays["accounts"]), _items(arrays["orders"]), _items(arrays["commands"])
    positions, fills = _items(arrays["positions"]), _items(arrays["fills"])
    order_refs = [
        OrderRef(item.id, int_or_none(item.account_id), int_or_none(item.contract_id), str_or_none(item.ord_status))
        for item in orders
        if type(item.id) is int
    ]
    command_refs = [
        CommandRef(item.id, int_or_none(item.order_id), str_or_none(item.cl_ord_id))
        for item in commands
        if type(item.id) is int
    ]
    position_refs = [
        PositionRef(item.id, int_or_none(item.account_id), int_or_none(item.contract_id), int_or_none(item.net_pos))
        for item in positions
        if type(item.id) is int
    ]
    fill_refs = [FillRef(item.id, int_or_none(item.order_id)) for item in fills if type(item.id) is int]
    account_ids = tuple(item.id for item in accounts if type(item.id) is int)
    # Items without an integer id cannot be reconciled; they are counted, not hidden.
    read = len(order_refs) + len(command_refs) + len(position_refs) + len(fill_refs) + len(account_ids)
    seen = len(orders) + len(commands) + len(positions) + len(fills) + len(accounts)
    return SyncSnapshotRefs(
        tuple(order_refs),
        tuple(command_refs),
        tuple(position_refs),
        tuple(fill_refs),
        skipped + seen - read,
        account_ids,
        lists,
        nulls,
    )


def _items(value: list[_Item] | _Unset | None) -> list[_Item]:
    return value if isinstance(value, list) else []
