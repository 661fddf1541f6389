"""Checks of an intent that need no platform knowledge: its shape first, then its values.

An intent reaches the gate either decoded from JSON (the NATS transport: msgspec already typed it) or as a
Python object built in-process, which msgspec does not validate on construction. `shape_error` holds both
paths to the same standard: the object is one of the intent types and every field has its declared type
(an enum field holds the enum, not its string; a str is valid UTF-8). `value_error` then checks ranges and
which prices an order type needs. Both return a `Rejection` naming the field, never raise.
"""

from __future__ import annotations

import functools
import math
import reprlib
import typing

import msgspec
import msgspec.inspect as mi

from platform_adapter.core.ports import Rejection
from platform_adapter.core.settings import QTY_CEILING
from platform_adapter.mic import (
    AckReason,
    Cancel,
    CancelReplace,
    Intent,
    OrderType,
    SubmitOrder,
)

INTENT_TYPES: tuple[type, ...] = typing.get_args(Intent)
ID_CEILING = 2**63 - 1
"""Account and order ids are positive 64-bit integers; anything larger cannot be a platform id."""
_PRICED = {OrderType.LIMIT, OrderType.STOP_LIMIT}
_STOPPED = {OrderType.STOP, OrderType.STOP_LIMIT}
_MISFIT_REASONS = {
    "qty": AckReason.INVALID_QTY,
    "price": AckReason.INVALID_PRICE,
    "stop_price": AckReason.INVALID_PRICE,
}
_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlong = 40


def intent_id_of(intent: object) -> str:
    """The intent id to answer with: the object's `intent_id` when it is a string, else ""."""
    value = getattr(intent, "intent_id", None) if isinstance(intent, INTENT_TYPES) else None
    return value if isinstance(value, str) else ""


def show(value: object) -> str:
    """A short, safe rendering of any value for an error detail (never raises, never long)."""
    try:
        return _repr.repr(value)
    except Exception:  # a hostile __repr__
        return f"<{type(value).__name__}>"


def shape_error(intent: object) -> Rejection | None:
    """None when `intent` is an intent whose every field has its declared type; else the first misfit."""
    cls = type(intent)
    if not issubclass(cls, msgspec.Struct) or cls not in INTENT_TYPES:
        kinds = ", ".join(_tag(t) for t in INTENT_TYPES)
        return Rejection(AckReason.MALFORMED_INTENT, f"not an intent: got {cls.__name__}; send one of {kinds}", "type")
    for name, expected in _fields(cls):
        value = getattr(intent, name)
        if not _conforms(value, expected):
            return Rejection(
                _MISFIT_REASONS.get(name, AckReason.MALFORMED_INTENT),
                f"{name} must be {_describe(expected)}, got {type(value).__name__} {show(value)}",
                name,
            )
    return None


def value_error(intent: Intent) -> Rejection | None:
    """Ranges and price presence, for an intent `shape_error` accepted."""
    if not intent.intent_id or len(intent.intent_id) > 64:
        return Rejection(
            AckReason.MALFORMED_INTENT, "intent_id must be a non-empty string of at most 64 characters", "intent_id"
        )
    if not 0 < intent.account_id <= ID_CEILING:
        return Rejection(
            AckReason.MALFORMED_INTENT,
            f"account_id must be a positive 64-bit integer, got {intent.account_id}",
            "account_id",
        )
    if isinstance(intent, Cancel | CancelReplace) and not 0 < intent.order_id <= ID_CEILING:
        return Rejection(
            AckReason.MALFORMED_INTENT, f"order_id must be a positive 64-bit integer, got {intent.order_id}", "order_id"
        )
    if isinstance(intent, SubmitOrder | CancelReplace):
        if not 0 < intent.qty <= QTY_CEILING:
            return Rejection(
                AckReason.INVALID_QTY, f"qty must be an integer from 1 to {QTY_CEILING}, got {show(intent.qty)}", "qty"
            )
        for name, needed in (("price", intent.order_type in _PRICED), ("stop_price", intent.order_type in _STOPPED)):
            value: float | None = getattr(intent, name)
            if value is None:
                if needed:
                    return Rejection(
                        AckReason.MISSING_PRICE, f"{name} is required for a {intent.order_type.value} order", name
                    )
                continue
            if not needed:
                return Rejection(
                    AckReason.UNEXPECTED_PRICE, f"{name} must be empty for a {intent.order_type.value} order", name
                )
            if not math.isfinite(value) or value <= 0:
                return Rejection(AckReason.INVALID_PRICE, f"{name} must be a finite positive number, got {value}", name)
    return None


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> tuple[tuple[str, mi.Type], ...]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return tuple((f.name, f.type) for f in info.fields)


def _tag(cls: type) -> str:
    tag = cls.__struct_config__.tag if issubclass(cls, msgspec.Struct) else None
    return str(tag or cls.__name__)


def _conforms(value: object, expected: mi.Type) -> bool:
    if isinstance(expected, mi.UnionType):
        return any(_conforms(value, member) for member in expected.types)
    if isinstance(expected, mi.NoneType):
        return value is None
    if isinstance(expected, mi.IntType):
        return type(value) is int  # not bool, not an IntEnum
    if isinstance(expected, mi.FloatType):
        return type(value) is float or type(value) is int
    if isinstance(expected, mi.StrType):
        return isinstance(value, str) and _utf8(value)
    if isinstance(expected, mi.EnumType):
        return isinstance(value, expected.cls)
    return False  # a field type this check does not know: refuse rather than pass it unread


def _utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: no wire form
        return False
    return True


def _describe(expected: mi.Type) -> str:
    if isinstance(expected, mi.UnionType):
        return " or ".join(_describe(member) for member in expected.types)
    if isinstance(expected, mi.NoneType):
        return "null"
    if isinstance(expected, mi.IntType):
        return "an integer"
    if isinstance(expected, mi.FloatType):
        return "a number"
    if isinstance(expected, mi.StrType):
        return "a string (valid UTF-8)"
    if isinstance(expected, mi.EnumType):
        values = ", ".join(str(member.value) for member in expected.cls)
        return f"a {expected.cls.__name__} ({values})"
    return type(expected).__name__
