"""The reference U + Paper + OE wired to the in-process channels over one SQLite database (`pa demo`, tests)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from types import TracebackType

from platform_adapter.core.clock import Clock
from platform_adapter.reference.oe import ReferenceOE
from platform_adapter.reference.paper import ReferencePaper
from platform_adapter.reference.store import open_db
from platform_adapter.reference.u import ReferenceU
from platform_adapter.transport.inproc import InProcFactChannel, InProcHealthChannel, InProcIntentChannel


class ReferenceSystem:
    """`async with ReferenceSystem(db_path, facts=..., health=..., intents=...) as system:` runs U, Paper and OE."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        facts: InProcFactChannel,
        health: InProcHealthChannel,
        intents: InProcIntentChannel,
        account_id: int | None = None,
        clock: Clock | None = None,
        enforce_halt: bool = True,
    ) -> None:
        self._db_path = db_path
        self._facts = facts
        self._health = health
        self._intents = intents
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
        self._u = ReferenceU(self._db)
        self._paper = ReferencePaper(self._u)
        self._oe = ReferenceOE(
            self._intents,
            self._db,
            events=self._paper.subscribe(),
            health=self._health.subscribe(),
            account_id=self._account_id,
            clock=self._clock,
            enforce_halt=self._enforce_halt,
        )
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._tasks = [
            self._group.create_task(self._u.run(self._facts.queue), name="reference-u"),
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
            # Facts the PA already delivered are persisted before U stops: nothing delivered is left behind.
            pending = []
            while not self._facts.queue.empty():
                pending.append(self._facts.queue.get_nowait())
                self._facts.queue.task_done()
            self._u.accept_batch(pending)
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
