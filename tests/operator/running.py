"""The integration harness's running simulator + PA, with the operator's `FactTap` on the PA's fact sink."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from platform_adapter import composition
from platform_adapter.operator import FactTap
from tests.integration import harness
from tests.integration.harness import Harness


@contextlib.asynccontextmanager
async def running_with_tap(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> AsyncIterator[tuple[Harness, FactTap]]:
    """`harness.running(**kwargs)`, its stack built with a `FactTap` (as `pa run` / `pa demo` build theirs)."""
    tap = FactTap()
    monkeypatch.setattr(harness, "build_inproc_stack", functools.partial(composition.build_inproc_stack, tap=tap))
    async with harness.running(**kwargs) as h:
        yield h, tap
