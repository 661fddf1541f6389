"""Routing head of the ``shutdown`` event.

Shape, with its public source (lead-sheet keys in brackets): ``{"e":"shutdown","d":{"reasonCode":
"Maintenance"|"ConnectionQuotaReached"|"IPQuotaReached","reason":"<optional text>"}}``, "a notification
before graceful shutdown of the socket connection" [WSMD
https://github.com/tradovate/api/blob/master/WebSockets.md; DOCS wss-guide/message-protocol].
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ..models import ShutdownNotice
from ._salvage import DECODE_ERRORS, Payload, str_or_none

__all__ = ["shutdown_head"]


class _ShutdownFields(msgspec.Struct, gc=False, rename="camel"):
    reason_code: Any = None
    reason: Any = None


_SHUTDOWN: Final = msgspec.json.Decoder(_ShutdownFields)


def shutdown_head(d: Payload) -> ShutdownNotice | None:
    """Read a ``shutdown`` event ``d``; None if it is not an object, None fields where not strings."""
    if d is None:
        return None
    try:
        fields = _SHUTDOWN.decode(d)
    except DECODE_ERRORS:
        return None
    return ShutdownNotice(str_or_none(fields.reason_code), str_or_none(fields.reason))
