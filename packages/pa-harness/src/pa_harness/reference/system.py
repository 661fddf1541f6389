"""The reference U + Paper + OE over one SQLite database (`pa demo`, tests), on any transport.

The modules are the same on every transport; a `ModuleWiring` says only how U receives facts, where OE's
health signals come from and what carries OE's intents. `InProcWiring` is the in-process one; the NATS one
lives with the NATS tests and the distributed demo.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from pa_harness.reference.oe import IntentCaller, ReferenceOE
from pa_harness.reference.paper import ReferencePaper
from pa_harness.reference.store import open_db
from pa_harness.reference.u import ReferenceU
from platform_adapter.core.clock import Clock
from platform_adapter.mic import HealthSignal
from platform_adapter.transport.inproc import InProcFactChannel, InProcHealthChannel, InProcIntentChannel


class ModuleWiring(Protocol):
    """How the reference modules are attached to the PA: U's fact intake, OE's health feed, OE's intent caller."""

    @property
    def intents(self) -> IntentCaller:
        """What carries OE's intents to the PA."""
        ...

    def make_u(self, db: sqlite3.Connection) -> ReferenceU:
        """The U to run (a transport may need a U whose stall also stops its consumer)."""
        ...

    def health_queue(self) -> asyncio.Queue[HealthSignal]:
        """The queue OE reads the PA's health signals from."""
        ...

    def tasks(self, u: ReferenceU) -> list[Coroutine[Any, Any, None]]:
        """The transport's own tasks: U's fact intake, and any follower feeding `health_queue`."""
        ...

    def drain(self, u: ReferenceU) -> None:
        """On a clean exit: hand U what the transport already delivered but U has not taken yet."""
        ...


class InProcWiring:
    """The in-process channels: U reads the fact queue, OE subscribes to the health channel and calls directly."""

    def __init__(self, facts: InProcFactChannel, health: InProcHealthChannel, intents: InProcIntentChannel) -> None:
        self._facts = facts
        self._health = health
        self.intents: IntentCaller = intents

    def make_u(self, db: sqlite3.Connection) -> ReferenceU:
        """A plain reference U."""
        return ReferenceU(db)

    def health_queue(self) -> asyncio.Queue[HealthSignal]:
        """A subscription to the in-process health channel."""
        return self._health.subscribe()

    def tasks(self, u: ReferenceU) -> list[Coroutine[Any, Any, None]]:
        """U consuming the in-process fact queue."""
        return [u.run(self._facts.queue)]

    def drain(self, u: ReferenceU) -> None:
        """Facts the PA already delivered are persisted before U stops: nothing delivered is left behind."""
        queue = self._facts.queue
        pending = []
        while not queue.empty():
            pending.append(queue.get_nowait())
            queue.task_done()
        u.accept_batch(pending)


class ReferenceSystem:
    """`async with ReferenceSystem(db_path, facts=..., health=..., intents=...) as system:` runs U, Paper and OE.

    On another transport pass `wiring=` instead of the three in-process channels.
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        facts: InProcFactChannel | None = None,
        health: InProcHealthChannel | None = None,
        intents: InProcIntentChannel | None = None,
        wiring: ModuleWiring | None = None,
        account_id: int | None = None,
        clock: Clock | None = None,
        enforce_halt: bool = True,
    ) -> None:
        if wiring is None:
            if facts is None or health is None or intents is None:
                raise TypeError("ReferenceSystem needs either facts + health + intents, or wiring")
            wiring = InProcWiring(facts, health, intents)
        self._db_path = db_path
        self._wiring = wiring
        self._account_id = account_id
        self._clock = clock
        self._enforce_halt = enforce_halt
        self._db: sqlite3.Connection | None = None
        self._u: ReferenceU | None = None
        self._paper: ReferencePaper | None = None
        self._oe: ReferenceOE | None = None
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def intents(self) -> IntentCaller:
        """What carries OE's intents to the PA."""
        return self._wiring.intents

    @property
    def db(self) -> sqlite3.Connection:
        """The one connection U and OE write through."""
        assert self._db is not None, "ReferenceSystem is not running"
        return self._db

    @property
    def u(self) -> ReferenceU:
        """The reference U."""
        assert self._u is not None, "ReferenceSystem is not running"
        return self._u

    @property
    def paper(self) -> ReferencePaper:
        """The reference Paper."""
        assert self._paper is not None, "ReferenceSystem is not running"
        return self._paper

    @property
    def oe(self) -> ReferenceOE:
        """The reference OE."""
        assert self._oe is not None, "ReferenceSystem is not running"
        return self._oe

    async def __aenter__(self) -> ReferenceSystem:
        # One connection shared by U and OE: `:memory:` then holds one database, and the audit sees both.
        self._db = open_db(self._db_path)
        self._u = self._wiring.make_u(self._db)
        self._paper = ReferencePaper(self._u)
        self._oe = ReferenceOE(
            self._wiring.intents,
            self._db,
            events=self._paper.subscribe(),
            health=self._wiring.health_queue(),
            account_id=self._account_id,
            clock=self._clock,
            enforce_halt=self._enforce_halt,
        )
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._tasks = [
            *(self._group.create_task(work, name="reference-u") for work in self._wiring.tasks(self._u)),
            self._group.create_task(self._paper.run(), name="reference-paper"),
            self._group.create_task(self._oe.run(), name="reference-oe"),
        ]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._group is not None
        assert self._db is not None
        assert self._u is not None
        if exc_type is None:
            self._wiring.drain(self._u)
        for task in self._tasks:
            task.cancel()
        try:
            # Raises an ExceptionGroup only for a module task that failed. The body's own exception is not
            # handed to the group (it would wrap it); a cancellation is, so the group can uncancel this task.
            if exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
                await self._group.__aexit__(exc_type, exc, tb)
            else:
                await self._group.__aexit__(None, None, None)
        finally:
            self._tasks = []
            self._group = None
            self._db.close()
