"""The PA's Module Interface Contract: every message the PA exchanges with U and OE.

`mic` imports nothing else of this project. Every type is a frozen msgspec Struct carrying a
version field `v`; `platform_adapter.mic.codec` is the one JSON codec for all of them.
"""

from platform_adapter.mic.acks import AckReason, AckStatus, ReceiptAck
from platform_adapter.mic.envelope import (
    MIC_VERSION,
    SOURCE_TRADOVATE,
    FactEnvelope,
    FactKind,
    FactMode,
    GapDetail,
    PacketLabel,
    Stream,
)
from platform_adapter.mic.health import HealthReason, HealthSignal, HealthState
from platform_adapter.mic.intents import (
    Cancel,
    CancelReplace,
    Flatten,
    Intent,
    Kill,
    OrderAction,
    OrderType,
    ResetKill,
    SubmitOrder,
    TimeInForce,
)

__all__ = [
    "MIC_VERSION",
    "SOURCE_TRADOVATE",
    "AckReason",
    "AckStatus",
    "Cancel",
    "CancelReplace",
    "FactEnvelope",
    "FactKind",
    "FactMode",
    "Flatten",
    "GapDetail",
    "HealthReason",
    "HealthSignal",
    "HealthState",
    "Intent",
    "Kill",
    "OrderAction",
    "OrderType",
    "PacketLabel",
    "ReceiptAck",
    "ResetKill",
    "Stream",
    "SubmitOrder",
    "TimeInForce",
]
