"""Shared pieces of the routing heads: the second-chance item-by-item decode and value narrowing.

Heads decode ``Any`` leaves so that one value of an unexpected type drops only that value; these
helpers narrow such values and re-read a section item by item when the one-pass decode failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, TypeAlias, TypeVar

import msgspec

from ..errors import DECODE_ERRORS as DECODE_ERRORS  # re-exported for the heads

Payload: TypeAlias = msgspec.Raw | bytes | None
"""What the heads accept: a message's ``d`` (Raw), bytes, or None when ``d`` was absent."""

T = TypeVar("T")

EMPTY: Final = msgspec.Raw()
"""Default of a Raw field, so that an absent key reads as an empty (falsy) Raw."""


_NULL: Final = msgspec.Raw(b"null")
_RAW_LIST: Final = msgspec.json.Decoder(list[msgspec.Raw])


def absent(section: msgspec.Raw) -> bool:
    """Tell whether a Raw field was missing or JSON ``null``."""
    return not section or section == _NULL


def salvage_items(section: msgspec.Raw, decoder: msgspec.json.Decoder[T]) -> tuple[list[T] | None, int]:
    """Decode a JSON array item by item; return the items that fit (None if absent) and a count of misfits."""
    # The message itself is forwarded raw by the caller, so an item left unread loses no fact; the
    # count lets callers report it instead of hiding it.
    if absent(section):
        return None, 0
    try:
        raw_items = _RAW_LIST.decode(section)
    except DECODE_ERRORS:
        return [], 1
    items: list[T] = []
    misfits = 0
    for raw_item in raw_items:
        try:
            items.append(decoder.decode(raw_item))
        except DECODE_ERRORS:
            misfits += 1
    return items, misfits


def unique_ints(values: Iterable[Any]) -> tuple[int, ...]:
    """The ints among ``values`` (bools excluded), in order, without repeats."""
    return tuple(dict.fromkeys(value for value in values if type(value) is int))


def unique_strs(values: Iterable[Any]) -> tuple[str, ...]:
    """The strings among ``values``, in order, without repeats."""
    return tuple(dict.fromkeys(value for value in values if type(value) is str))


def int_or_none(value: Any) -> int | None:
    """``value`` if it is an int (not a bool), else None."""
    return value if type(value) is int else None


def str_or_none(value: Any) -> str | None:
    """``value`` if it is a str, else None."""
    return value if type(value) is str else None
