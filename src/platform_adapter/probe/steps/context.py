"""What the steps share: options, the session, the sockets and subscriptions opened so far, the report."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from platform_adapter.probe.findings import Finding, ProbeReport, Verdict
from platform_adapter.probe.session import ProbeSession
from platform_adapter.probe.socket import ProbeSocket
from platform_adapter.probe.variants import VariantShown
from platform_adapter.tradovate.contracts import Instrument
from platform_adapter.tradovate.protocol import Account


@dataclass(frozen=True)
class ProbeOptions:
    """How long and how hard to probe. Defaults suit a Tradovate demo account; tests shrink the windows."""

    symbol: str = "ESZ6"
    duration_s: float = 180.0  # hard bound on the whole run
    window_s: float = 10.0  # each observation window (heartbeats, streaming, after a cancel, ...)
    close_wait_s: float = 60.0  # how long P2 waits for the server to close a silent / unauthorized socket
    heartbeat_s: float = 2.5  # client `[]` interval (Tradovate: every 2.5 s)
    quiet_s: float = 2.0  # P6: a split snapshot is complete after this long without another part
    history_bars: int = 20  # bars asked for per chart in P3
    history_ticks: int = 50  # ticks asked for in P3
    allow_orders: bool = False  # P7 places (and at once cancels) one far-off limit order only when set
    allow_fill: bool = False  # P7 also buys 1 at market and liquidates it at once (a fill shows `props_order`)
    force_live: bool = False  # run (read-only) against a live or unrecognised host


@dataclass
class ChartSub:
    """One `md/getChart` subscription the probe made."""

    label: str
    conn: str
    historical_id: int | None
    realtime_id: int | None
    response: str
    accepted: bool

    @property
    def ids(self) -> tuple[int, ...]:
        """Both ids (the ones the server gave)."""
        return tuple(i for i in (self.historical_id, self.realtime_id) if i is not None)


@dataclass
class ProbeContext:
    """State threaded through the steps."""

    session: ProbeSession
    options: ProbeOptions
    report: ProbeReport
    instrument: Instrument | None = None
    account: Account | None = None
    user_id: int | None = None
    access_token: str | None = None
    md_token: str | None = None
    trading: ProbeSocket | None = None
    md: ProbeSocket | None = None
    charts: dict[str, ChartSub] = field(default_factory=dict)
    background: list[asyncio.Task[None]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        step: str,
        question: str,
        observation: str,
        verdict: Verdict,
        confidence: str = "high",
        *,
        expected: str = "",
        **data: Any,
    ) -> None:
        """Record one finding (the observation is masked like everything else the probe shows)."""
        masked = self.session.capture.masker.text(observation)
        self.report.add(Finding(step, question, masked, verdict, confidence, expected, data))

    def showed(self, switch: str, value: str | None, step: str, observation: str) -> None:
        """Record which value of a simulator switch the target showed (None: this observation cannot tell)."""
        masked = self.session.capture.masker.text(observation)
        self.report.variants.append(VariantShown(switch, value, step, masked))

    def require_md(self) -> ProbeSocket:
        """The current market-data socket."""
        if self.md is None:
            raise RuntimeError("no market-data socket (P1 did not connect)")
        return self.md

    def require_trading(self) -> ProbeSocket:
        """The trading socket."""
        if self.trading is None:
            raise RuntimeError("no trading socket (P1 did not connect)")
        return self.trading

    def require_instrument(self) -> Instrument:
        """The probed contract."""
        if self.instrument is None:
            raise RuntimeError("the symbol was not resolved (P1 did not finish)")
        return self.instrument

    async def finish_background(self, timeout_s: float) -> None:
        """Wait (bounded) for background observations, then cancel what is left."""
        if not self.background:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, timeout_s)):
                await asyncio.gather(*self.background, return_exceptions=True)
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
