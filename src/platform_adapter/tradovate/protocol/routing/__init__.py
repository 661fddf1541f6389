"""Routing heads: the few keys of an event or response ``d`` the adapter needs to label a fact.

The adapter forwards payloads raw and must not compute or aggregate; heads only let it label, route
and correlate. Each head decodes only the keys it names (``msgspec.Raw`` skips the rest in one pass)
and never fails: an unexpected shape yields None or empty fields, never an exception. Public sources
of each shape are cited in the module that reads it.
"""

from __future__ import annotations

from ._salvage import Payload
from .market_data import (
    ChartHead,
    ChartPacket,
    ChartsBody,
    MdBody,
    MdHead,
    MdStream,
    chart_head,
    chart_label,
    md_head,
    md_label,
)
from .props import PropsBody, PropsHead, props_head, props_label
from .shutdown import shutdown_head
from .sync_snapshot import (
    CommandRef,
    FillRef,
    OrderRef,
    PositionRef,
    SyncSnapshotRefs,
    sync_snapshot_head,
    sync_snapshot_refs,
)

__all__ = [
    "ChartHead",
    "ChartPacket",
    "ChartsBody",
    "CommandRef",
    "FillRef",
    "MdBody",
    "MdHead",
    "MdStream",
    "OrderRef",
    "Payload",
    "PositionRef",
    "PropsBody",
    "PropsHead",
    "SyncSnapshotRefs",
    "chart_head",
    "chart_label",
    "md_head",
    "md_label",
    "props_head",
    "props_label",
    "shutdown_head",
    "sync_snapshot_head",
    "sync_snapshot_refs",
]
