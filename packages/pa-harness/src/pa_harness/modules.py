"""The reference U / Paper / OE beside an in-process PA (entry point `platform_adapter.modules`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from pa_harness.reference import ReferenceSystem
from platform_adapter.transport.inproc import InProcFactChannel, InProcHealthChannel, InProcIntentChannel


@contextlib.asynccontextmanager
async def reference_modules(
    *, facts: InProcFactChannel, health: InProcHealthChannel, intents: InProcIntentChannel, state_dir: Path
) -> AsyncIterator[ReferenceSystem]:
    """Run the reference modules on the PA's in-process channels; U's database is `<state_dir>/u.sqlite`."""
    async with ReferenceSystem(state_dir / "u.sqlite", facts=facts, health=health, intents=intents) as system:
        yield system
