"""Routing heads: the few keys of an event or response ``d`` the adapter needs to label a fact.

The adapter forwards payloads raw and must not compute or aggregate; heads only let it label, route
and correlate. Each head decodes only the keys it names (``msgspec.Raw`` skips the rest in one pass)
and never fails: an unexpected shape yields None or empty fields, never an exception. Public sources
of each shape are cited in the module that reads it.
"""

from __future__ import annotations

from ._salvage import Payload
from .market_data import ChartHead, MdHead, MdStream, chart_head, md_head
from .props import PropsHead, props_head
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
    "CommandRef",
    "FillRef",
    "MdHead",
    "MdStream",
    "OrderRef",
    "Payload",
    "PositionRef",
    "PropsHead",
    "SyncSnapshotRefs",
    "chart_head",
    "md_head",
    "props_head",
    "shutdown_head",
    "sync_snapshot_head",
    "sync_snapshot_refs",
]
