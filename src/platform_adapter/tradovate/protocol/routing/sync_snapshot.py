"""The ``user/syncrequest`` snapshot: recognising it, and the ids a reconciler needs from it.

Shape, with its public source (lead-sheet keys in brackets): the response ``d`` is a ``SyncMessage``
object with ``users`` and arrays such as ``orders``, ``commands``, ``positions``, ``fills``; clients
recognise it by the presence of ``users`` [FAQ-USR
https://github.com/tradovate/example-api-faq/tree/main/example-code/user-sync-request; SWAG SyncMessage
https://github.com/tradovate/example-api-csharp-trading/blob/master/swagger/services.swagger.yaml;
JS:EX-07 https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-07-Making-Requests].
Entity fields (``ordStatus``, ``clOrdId``, ``netPos``, ...) as in SWAG. With ``splitResponses`` the
snapshot may come in several parts whose format is not documented (UNCONFIRMED); each part is read
on its own.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ._salvage import DECODE_ERRORS, EMPTY, Payload, int_or_none, salvage_items, str_or_none

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
    """The ids of a snapshot; ``skipped`` counts items (or whole sections) that could not be read."""

    orders: tuple[OrderRef, ...]
    commands: tuple[CommandRef, ...]
    positions: tuple[PositionRef, ...]
    fills: tuple[FillRef, ...]
    skipped: int


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


class _Snapshot(msgspec.Struct, gc=False):
    users: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    orders: list[_Item] | None = None
    commands: list[_Item] | None = None
    positions: list[_Item] | None = None
    fills: list[_Item] | None = None


class _Sections(msgspec.Struct, gc=False):
    users: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    orders: msgspec.Raw = EMPTY
    commands: msgspec.Raw = EMPTY
    positions: msgspec.Raw = EMPTY
    fills: msgspec.Raw = EMPTY


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


def sync_snapshot_refs(d: Payload) -> SyncSnapshotRefs | None:
    """Read the order, command, position and fill ids of a snapshot; None if ``d`` is not one."""
    if d is None:
        return None
    skipped = 0
    try:
        snapshot = _SNAPSHOT.decode(d)
    except DECODE_ERRORS:
        try:
            sections = _SECTIONS.decode(d)
        except DECODE_ERRORS:
            return None
        if sections.users is msgspec.UNSET:
            return None
        orders, bad_orders = salvage_items(sections.orders, _ITEM)
        commands, bad_commands = salvage_items(sections.commands, _ITEM)
        positions, bad_positions = salvage_items(sections.positions, _ITEM)
        fills, bad_fills = salvage_items(sections.fills, _ITEM)
        skipped = bad_orders + bad_commands + bad_positions + bad_fills
    else:
        if snapshot.users is msgspec.UNSET:
            return None
        orders, commands = snapshot.orders, snapshot.commands
        positions, fills = snapshot.positions, snapshot.fills
    order_refs = [
        OrderRef(item.id, int_or_none(item.account_id), int_or_none(item.contract_id), str_or_none(item.ord_status))
        for item in orders or ()
        if type(item.id) is int
    ]
    command_refs = [
        CommandRef(item.id, int_or_none(item.order_id), str_or_none(item.cl_ord_id))
        for item in commands or ()
        if type(item.id) is int
    ]
    position_refs = [
        PositionRef(item.id, int_or_none(item.account_id), int_or_none(item.contract_id), int_or_none(item.net_pos))
        for item in positions or ()
        if type(item.id) is int
    ]
    fill_refs = [FillRef(item.id, int_or_none(item.order_id)) for item in fills or () if type(item.id) is int]
    # Items without an integer id cannot be reconciled; they are counted, not hidden.
    read = len(order_refs) + len(command_refs) + len(position_refs) + len(fill_refs)
    seen = len(orders or ()) + len(commands or ()) + len(positions or ()) + len(fills or ())
    return SyncSnapshotRefs(
        tuple(order_refs),
        tuple(command_refs),
        tuple(position_refs),
        tuple(fill_refs),
        skipped + seen - read,
    )
