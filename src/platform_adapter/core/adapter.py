"""`PlatformAdapter`: the PA wired together — platform, outbox, health, intent gate, transports."""

from __future__ import annotations

import asyncio

from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.intents import IntentService
from platform_adapter.core.outbox import Outbox, TelemetrySink
from platform_adapter.core.ports import STARTUP_KEY, FactSink, IntentSource, Platform
from platform_adapter.core.settings import CoreSettings
from platform_adapter.mic import HealthReason, HealthState


class PlatformAdapter:
    """Runs the PA's tasks in one TaskGroup until cancelled; every piece is reachable for tests and views."""

    def __init__(
        self,
        settings: CoreSettings,
        platform: Platform,
        health: HealthMonitor,
        facts: FactSink,
        intents: IntentSource,
        clock: Clock,
        *,
        telemetry: TelemetrySink | None = None,
    ) -> None:
        self.settings = settings
        self.platform = platform
        self.health = health
        self.clock = clock
        self.outbox = Outbox(settings.outbox, facts, health, clock, telemetry_sink=telemetry)
        self.intents = IntentService(settings.mode, platform, health, clock)
        self._intent_source = intents
        # Nothing is connected yet: OE must not see PA_UP until the platform side clears this.
        health.raise_condition(STARTUP_KEY, HealthReason.CONNECTING, HealthState.DEGRADED, detail="the PA is starting")

    async def run(self) -> None:
        """Run until cancelled (or until the platform fails for good)."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.health.run(), name="health")
                group.create_task(self.outbox.run(), name="outbox")
                group.create_task(self.platform.run(self.outbox, self.intents.ledger), name="platform")
                group.create_task(self._intent_source.serve(self.intents.handle), name="intents")
        finally:
            self.health.raise_condition("adapter", HealthReason.STOPPED, HealthState.DOWN, detail="the PA stopped")
