"""The PA's event loop runner (`composition.run_event_loop`)."""

from __future__ import annotations

import gc

from platform_adapter.composition import run_event_loop


async def _frozen() -> int:
    return gc.get_freeze_count()


def test_the_objects_allocated_before_the_loop_starts_are_kept_out_of_later_collections() -> None:
    # docs/performance.md "Socket p99": a full collection of the imports' ~67k objects stalls the loop 50-60 ms.
    gc.unfreeze()
    try:
        assert run_event_loop(_frozen()) > 10_000
    finally:
        gc.unfreeze()
