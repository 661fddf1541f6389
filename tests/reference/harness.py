"""A stand-in PA on the in-process channels, and the reference system wired to it, for the reference tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pa_harness.reference import ReferenceSystem
from platform_adapter.mic import (
    AckStatus,
    FactEnvelope,
    Flatten,
    HealthReason,
    HealthSignal,
    HealthState,
    Intent,
    Kill,
    ReceiptAck,
    SubmitOrder,
)
from platform_adapter.transport.inproc import InProcFactChannel, InProcHealthChannel, InProcIntentChannel
from tests.reference.samples import ACCOUNT_ID, Feed

ACK_TS = 1_795_000_000_000_000_000


@dataclass
class StandInPA:
    """Answers intents with receipt-acks (order ids from 9001) and delivers the facts a test scripts."""

    facts: InProcFactChannel
    health: InProcHealthChannel
    feed: Feed = field(default_factory=Feed)
    received: list[tuple[Intent, str]] = field(default_factory=list)
    ack_status: AckStatus = AckStatus.ACCEPTED
    _order_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(9001))
    _health_seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def handle(self, intent: Intent, sender: str) -> ReceiptAck:
        """The PA's intent handler: record, then ack (an order id for submits, flattens and kills)."""
        self.received.append((intent, sender))
        accepted = self.ack_status == AckStatus.ACCEPTED
        gives_order = accepted and isinstance(intent, SubmitOrder | Flatten | Kill)
        return ReceiptAck(
            intent_id=intent.intent_id,
            status=self.ack_status,
            received_ts=ACK_TS,
            acked_ts=ACK_TS + 1,
            platform_order_id=next(self._order_ids) if gives_order else None,
        )

    async def emit(self, *envelopes: FactEnvelope) -> None:
        """Deliver facts to U as the PA's outbox would."""
        await self.facts.deliver(envelopes)

    async def signal(self, state: HealthState, *, halt: bool, reasons: tuple[HealthReason, ...] = ()) -> None:
        """Publish a health signal to OE."""
        seq = next(self._health_seq)
        await self.health.publish(
            HealthSignal(state=state, halt_required=halt, since=ACK_TS + seq, ts=ACK_TS + seq, seq=seq, reasons=reasons)
        )


@dataclass
class Running:
    """A running reference system and the stand-in PA feeding it."""

    system: ReferenceSystem
    pa: StandInPA


@asynccontextmanager
async def running(db_path: str | Path = ":memory:") -> AsyncIterator[Running]:
    """Run the reference system against a stand-in PA for the duration of the block."""
    facts, health, intents = InProcFactChannel(), InProcHealthChannel(), InProcIntentChannel()
    pa = StandInPA(facts=facts, health=health)
    serving = asyncio.create_task(intents.serve(pa.handle))
    try:
        async with ReferenceSystem(
            db_path, facts=facts, health=health, intents=intents, account_id=ACCOUNT_ID
        ) as system:
            yield Running(system=system, pa=pa)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
