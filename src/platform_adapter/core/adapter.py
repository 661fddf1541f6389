"""`PlatformAdapter`: the PA wired together — lease, platform, outbox, health, intent gate and ledger, transports.

An instance runs tenures: it waits for the account's lease (a standby: it serves nothing, sends nothing to
Tradovate and is silent towards OE), then, as the active PA, connects and serves intents until it loses the
lease (back to standby) or is stopped. `stop` is the graceful stop: no new intent, in-flight ones finish, the
sockets close, the outbox drains to U, OE hears PA_DOWN `stopped`, the lease is released — each step bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
from enum import StrEnum

from platform_adapter.core.clock import Clock, within
from platform_adapter.core.health import HealthMonitor
from platform_adapter.core.intent_store import IntentStore
from platform_adapter.core.intents import IntentService
from platform_adapter.core.lease import Lease, LeaseLost
from platform_adapter.core.ledger import PRUNE_EVERY_S, IntentLedger
from platform_adapter.core.outbox import Outbox, TelemetrySink
from platform_adapter.core.ports import STARTUP_KEY, FactSink, IntentSource, Platform
from platform_adapter.core.settings import CoreSettings
from platform_adapter.mic import AckReason, HealthReason, HealthState
from platform_adapter.telemetry import get_logger

_log = get_logger("pa.adapter")
LEASE_KEY = "lease"
"""The health condition of this instance's lease (standby, deposed)."""


class Role(StrEnum):
    """What this instance is doing for the account."""

    STANDBY = "standby"
    ACTIVE = "active"
    STOPPING = "stopping"


class PlatformAdapter:
    """Runs the PA's tasks until cancelled or stopped; every piece is reachable for tests and views."""

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
        lease: Lease | None = None,
        store: IntentStore | None = None,
    ) -> None:
        self.settings = settings
        self.platform = platform
        self.health = health
        self.clock = clock
        self.lease = lease
        self.outbox = Outbox(settings.outbox, facts, health, clock, telemetry_sink=telemetry)
        self.ledger = IntentLedger(store)
        self.intents = IntentService(settings.mode, platform, health, clock, self.ledger)
        self.intents.lease_valid = lease.valid if lease is not None else None
        self.role = Role.STANDBY
        self.lease_epoch: int | None = None
        self.tenures = 0
        self._intent_source = intents
        self._tenure: asyncio.Task[None] | None = None
        self.main_task: asyncio.Task[None] | None = None
        self.intents.refuse(AckReason.PA_DOWN, "the PA is starting")  # until its first tenure begins
        if lease is not None:
            health.mute()  # silent towards OE until it holds the lease
        # Nothing is connected yet: OE must not see PA_UP until the platform side clears this.
        health.raise_condition(STARTUP_KEY, HealthReason.CONNECTING, HealthState.DEGRADED, detail="the PA is starting")

    async def run(self) -> None:
        """Run tenures until cancelled or `stop`ped."""
        self.main_task = asyncio.current_task()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.health.run(), name="health")
                group.create_task(self.outbox.run(), name="outbox")
                group.create_task(self.ledger.run(), name="ledger")
                group.create_task(self._retention(), name="ledger-retention")
                group.create_task(self._tenures(), name="tenures")
        finally:
            self.health.raise_condition("adapter", HealthReason.STOPPED, HealthState.DOWN, detail="the PA stopped")

    # -- tenures ------------------------------------------------------------------------------------------

    async def _tenures(self) -> None:
        while True:
            self._stand_by()
            epoch = await self.lease.acquire() if self.lease is not None else None
            self._tenure = asyncio.current_task()
            try:
                await self._serve(epoch)
            except* LeaseLost as lost:
                self._deposed(str(lost.exceptions[0]))
            finally:
                self._tenure = None

    def _stand_by(self) -> None:
        self.role = Role.STANDBY
        self.intents.refuse(
            AckReason.NOT_LEADER, "this PA instance is a standby: another one holds the account's lease"
        )
        if self.lease is not None:
            self.health.mute()  # first: the active instance speaks to OE, not this one (what is queued still goes)
            self.health.raise_condition(
                LEASE_KEY,
                HealthReason.NOT_LEADER,
                HealthState.DOWN,
                detail=f"standby ({self.lease.holder}): waiting for the account's lease",
            )

    async def _serve(self, epoch: int | None) -> None:
        self.lease_epoch = epoch
        self.tenures += 1
        await self.ledger.load(self.clock.now_ns())
        self.health.lease_epoch = epoch
        self.health.clear(LEASE_KEY)
        self.health.speak()
        self.intents.serve_as(epoch, self.platform.run_id)
        self.role = Role.ACTIVE
        _log.info("tenure_started", lease_epoch=epoch, run_id=self.platform.run_id, tenure=self.tenures)
        async with asyncio.TaskGroup() as tenure:
            tenure.create_task(self.platform.run(self.outbox, self.ledger, lease_epoch=epoch), name="platform")
            tenure.create_task(self._intent_source.serve(self.intents.handle), name="intents")
            if self.lease is not None:
                tenure.create_task(self._hold(self.lease), name="lease")

    async def _hold(self, lease: Lease) -> None:
        try:
            await lease.hold()
        except LeaseLost:
            # Stop taking intents at once; those in flight finish (their requests may be out) before the sockets go.
            self.intents.refuse(AckReason.NOT_LEADER, "this PA instance lost the account's lease")
            await self._in_flight_done()
            raise

    def _deposed(self, why: str) -> None:
        _log.error("lease_lost", lease_epoch=self.lease_epoch, detail=why)
        self.health.raise_condition(
            LEASE_KEY,
            HealthReason.NOT_LEADER,
            HealthState.DOWN,
            detail=f"lost the account's lease ({why}): stopped serving; standing by",
        )
        # This last signal goes out with the deposed epoch (OE keeps the greatest epoch); standing by mutes the rest.

    # -- the graceful stop --------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop gracefully (SIGTERM / SIGINT): each step bounded by the stop settings; then `run` returns."""
        if self.role is Role.STOPPING:
            return
        was_active = self.role is Role.ACTIVE
        self.role = Role.STOPPING
        self.intents.refuse(AckReason.SHUTTING_DOWN, "the PA is stopping: it takes no new intent")
        _log.info("stopping", in_flight=self.intents.in_flight, outbox_depth=self.outbox.depth)
        await self._in_flight_done()
        tenure = self._tenure
        if tenure is not None:  # the sockets close (with a close frame) and the intents subscription ends
            tenure.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tenure
        await within(self.clock, self.settings.stop.drain_s, self.outbox.drained())
        if self.outbox.depth:
            _log.error("stopped_with_undelivered_facts", depth=self.outbox.depth)
        await self.ledger.flush()
        if was_active:
            self.health.raise_condition("adapter", HealthReason.STOPPED, HealthState.DOWN, detail="the PA stopped")
            await within(self.clock, 2.0, self.health.flushed())
        if self.lease is not None:
            self.health.mute()  # its last word is said: from here on the next holder speaks to OE
            await self.lease.release()
        _log.info(
            "stopped",
            facts_delivered=self.outbox.counters.delivered,
            facts_undelivered=self.outbox.depth,
            lease_released=self.lease is not None,
        )
        if self.main_task is not None:
            self.main_task.cancel()

    async def _in_flight_done(self) -> None:
        if not await within(self.clock, self.settings.stop.in_flight_s, self.intents.idle()):
            _log.error("stopped_with_intents_in_flight", count=self.intents.in_flight)

    async def _retention(self) -> None:
        while True:
            await self.clock.sleep(PRUNE_EVERY_S)
            try:
                dropped = await self.ledger.store.prune(self.clock.now_ns())
            except Exception:  # retention is housekeeping: a failed pass is retried at the next one
                _log.exception("ledger_prune_failed")
            else:
                _log.info("ledger_pruned", dropped=dropped)
