"""The event loop benchmarks run on: uvloop when installed (ARCHITECTURE: "uvloop when installed")."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


LOOP_ENV = "PA_BENCH_LOOP"
"""Set to `asyncio` to measure on the stdlib loop (the default is uvloop when installed)."""


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (the stdlib loop) when uvloop is not installed or PA_BENCH_LOOP=asyncio."""
    if os.environ.get(LOOP_ENV, "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def loop_name() -> str:
    """Which loop `run` uses, for the report."""
    if loop_factory() is None:
        return "asyncio (stdlib)"
    from importlib import metadata

    return f"uvloop {metadata.version('uvloop')}"


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run one benchmark coroutine on a fresh loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
