"""`OperatorSession`: the operator's side of one PA run — the live status view and the HTTP endpoints.

`async with OperatorSession.attach(adapter, platform, tap, console=..., tui=..., port=...):` starts what was
asked for and stops it on the way out (Ctrl-C included, so the terminal is always restored). The view is
refreshed from the event loop (never from rich's refresh thread), so reading the PA's state is race-free.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from rich.console import Console
from rich.live import Live

from platform_adapter.core.adapter import PlatformAdapter
from platform_adapter.operator.http import OperatorEndpoints
from platform_adapter.operator.metrics import OperatorMetrics
from platform_adapter.operator.snapshot import StatusSource
from platform_adapter.operator.tap import FactTap
from platform_adapter.operator.view import render_status
from platform_adapter.tradovate.platform import TradovatePlatform


class OperatorSession:
    """Runs the live view (when `tui`) and the endpoints (when `port` is not None) beside a PA."""

    def __init__(
        self,
        source: StatusSource,
        metrics: OperatorMetrics,
        console: Console,
        *,
        tui: bool,
        port: int | None,
        refresh_s: float = 0.25,
    ) -> None:
        self.source = source
        self.metrics = metrics
        self.console = console
        self.endpoints: OperatorEndpoints | None = (
            OperatorEndpoints(source.adapter.health, metrics, port=port) if port is not None else None
        )
        self._tui = tui
        self._refresh_s = refresh_s
        self._live: Live | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def attach(
        cls,
        adapter: PlatformAdapter,
        platform: TradovatePlatform,
        tap: FactTap | None,
        *,
        console: Console,
        tui: bool,
        port: int | None,
        title: str = "Platform Adapter",
    ) -> OperatorSession:
        """A session over one PA (not started: use `async with`)."""
        source = StatusSource(adapter, platform, tap, title=title)
        return cls(source, OperatorMetrics(adapter, platform, tap), console, tui=tui, port=port)

    @property
    def url(self) -> str | None:
        """The endpoints' base URL, once started."""
        return self.endpoints.url if self.endpoints is not None and self.endpoints.port is not None else None

    async def __aenter__(self) -> OperatorSession:
        if self.endpoints is not None:
            await self.endpoints.start()
            self.source.footer = f"metrics {self.url}/metrics   health {self.url}/healthz   Ctrl-C stops"
        if self._tui:
            self._live = Live(
                render_status(self.source.snapshot()),
                console=self.console,
                auto_refresh=False,
                redirect_stdout=True,
                redirect_stderr=True,
                vertical_overflow="crop",
            )
            self._live.start(refresh=True)
        self._task = asyncio.create_task(self._refresh(), name="operator-view")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            if self._live is not None:
                self.update()  # leave the last state on screen
                self._live.stop()
        finally:
            if self.endpoints is not None:
                await self.endpoints.stop()

    def update(self) -> None:
        """Poll the observers and redraw the view now."""
        self.metrics.poll()
        if self._live is not None:
            self._live.update(render_status(self.source.snapshot()), refresh=True)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)  # wall-clock pacing of a display, not PA timing
            self.update()
