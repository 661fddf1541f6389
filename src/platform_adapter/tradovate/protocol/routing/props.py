"""Routing head of ``props`` events: entity type, event type and the ids that correlate the change.

Shape, with its public source (lead-sheet keys in brackets): ``{"e":"props","d":{"entityType":"order",
"eventType":"Created"|"Updated"|"Deleted","entity":{...}}}``, where ``entity`` has the JSON of
``<entityType>/item`` and may also be an array of entities [WSMD
https://github.com/tradovate/api/blob/master/WebSockets.md; DOCS wss-guide/message-protocol; CSWS
handles a ``JArray`` entity; GO:raw_msg.go]. Entity fields (``orderId``, ``commandId``, ``clOrdId``,
``accountId``, ``contractId``, ``timestamp``) as in SWAG
https://github.com/tradovate/example-api-csharp-trading/blob/master/swagger/services.swagger.yaml.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ._salvage import (
    DECODE_ERRORS,
    EMPTY,
    Payload,
    absent,
    salvage_items,
    str_or_none,
    unique_ints,
    unique_strs,
)

__all__ = ["PropsBody", "PropsHead", "props_head", "props_label"]


class PropsHead(msgspec.Struct, frozen=True, gc=False):
    """Label of a ``props`` event: entity and event type, and the ids that correlate it.

    Ids come from every entity (``entity`` may be an array), in order, without repeats. An entity's
    own ``id`` is also its order, command, account or contract id when the entity is one
    (``entityType`` ``order``, ``command``, ``account`` or ``contract``). ``timestamp`` is the first
    entity's, as sent.
    """

    entity_type: str | None
    event_type: str | None
    entity_ids: tuple[int, ...]
    order_ids: tuple[int, ...]
    command_ids: tuple[int, ...]
    cl_ord_ids: tuple[str, ...]
    account_ids: tuple[int, ...]
    contract_ids: tuple[int, ...]
    timestamp: str | None


class _Entity(msgspec.Struct, gc=False, rename="camel"):
    # ``Any`` leaves: a value of the wrong type drops that value, not the whole head.
    id: Any = None
    order_id: Any = None
    command_id: Any = None
    cl_ord_id: Any = None
    account_id: Any = None
    contract_id: Any = None
    timestamp: Any = None


class PropsBody(msgspec.Struct, gc=False, rename="camel"):
    """The keys of a ``props`` event ``d`` a head reads; a frame decoder may read it in the message's own pass."""

    entity_type: Any = None
    event_type: Any = None
    entity: _Entity | list[_Entity] | None = None


class _PropsSections(msgspec.Struct, gc=False, rename="camel"):
    entity_type: Any = None
    event_type: Any = None
    entity: msgspec.Raw = EMPTY


_PROPS: Final = msgspec.json.Decoder(PropsBody)
_PROPS_SECTIONS: Final = msgspec.json.Decoder(_PropsSections)
_ENTITY: Final = msgspec.json.Decoder(_Entity)
_UNKNOWN: Final = PropsHead(None, None, (), (), (), (), (), (), None)


def props_head(d: Payload) -> PropsHead:
    """Label a ``props`` event ``d`` whose ``entity`` is one object or an array of them."""
    if d is None:
        return _UNKNOWN
    try:
        return props_label(_PROPS.decode(d))
    except DECODE_ERRORS:
        pass
    try:
        sections = _PROPS_SECTIONS.decode(d)
    except DECODE_ERRORS:
        return _UNKNOWN
    return _label(sections.entity_type, sections.event_type, _salvage_entities(sections.entity))


def props_label(body: PropsBody | None) -> PropsHead:
    """The head of a ``props`` event whose ``d`` was already read as `PropsBody` (None: absent)."""
    if body is None:
        return _UNKNOWN
    entity = body.entity
    return _label(body.entity_type, body.event_type, [entity] if isinstance(entity, _Entity) else entity or [])


def _label(raw_entity_type: Any, raw_event_type: Any, entities: list[_Entity]) -> PropsHead:
    entity_type = str_or_none(raw_entity_type)
    if len(entities) == 1:  # the usual case: one entity, no repeats to drop
        entity = entities[0]
        entity_ids = _ints(entity.id)
        return PropsHead(
            entity_type,
            str_or_none(raw_event_type),
            entity_ids,
            entity_ids if entity_type == "order" else _ints(entity.order_id),
            entity_ids if entity_type == "command" else _ints(entity.command_id),
            (entity.cl_ord_id,) if type(entity.cl_ord_id) is str else (),
            entity_ids if entity_type == "account" else _ints(entity.account_id),
            entity_ids if entity_type == "contract" else _ints(entity.contract_id),
            str_or_none(entity.timestamp),
        )
    entity_ids = unique_ints(entity.id for entity in entities)
    return PropsHead(
        entity_type,
        str_or_none(raw_event_type),
        entity_ids,
        entity_ids if entity_type == "order" else unique_ints(entity.order_id for entity in entities),
        entity_ids if entity_type == "command" else unique_ints(entity.command_id for entity in entities),
        unique_strs(entity.cl_ord_id for entity in entities),
        entity_ids if entity_type == "account" else unique_ints(entity.account_id for entity in entities),
        entity_ids if entity_type == "contract" else unique_ints(entity.contract_id for entity in entities),
        str_or_none(entities[0].timestamp) if entities else None,
    )


def _ints(value: Any) -> tuple[int, ...]:
    return (value,) if type(value) is int else ()


def _salvage_entities(entity: msgspec.Raw) -> list[_Entity]:
    if absent(entity):
        return []
    try:
        return [_ENTITY.decode(entity)]
    except DECODE_ERRORS:
        return salvage_items(entity, _ENTITY)[0] or []
