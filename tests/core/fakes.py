"""Test doubles for the core ports."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

import msgspec

from platform_adapter.core.ports import FactWriter, IntentLedgerView, Rejection
from platform_adapter.mic import (
    AckStatus,
    FactEnvelope,
    FactKind,
    FactMode,
    HealthSignal,
    Intent,
    ReceiptAck,
    Stream,
)


class RecordingHealthSink:
    """Keeps every published signal."""

    def __init__(self) -> None:
        self.signals: list[HealthSignal] = []
        self.changed = asyncio.Event()

    async def publish(self, signal: HealthSignal) -> None:
        self.signals.append(signal)
        self.changed.set()


class GatedFactSink:
    """A U that can be blocked: `deliver` waits while the gate is closed."""

    def __init__(self) -> None:
        self.delivered: list[FactEnvelope] = []
        self.open = asyncio.Event()
        self.open.set()
        self.fail_next = 0

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        await self.open.wait()
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("transport down")
        self.delivered.extend(batch)


def envelope(seq: int, kind: FactKind = FactKind.MARKET) -> FactEnvelope:
    return FactEnvelope(
        kind=kind,
        stream=Stream.QUOTE,
        mode=FactMode.LIVE,
        recv_ts=seq,
        connection="md",
        connection_id="md-1",
        epoch=1,
        delivery_seq=seq,
        payload=msgspec.Raw(b'{"e":"md","d":{}}'),
    )


class FakePlatform:
    """Records what reached it and answers with a programmed status."""

    def __init__(self, status: AckStatus = AckStatus.ACCEPTED) -> None:
        self.status = status
        self.executed: list[Intent] = []
        self.rejection: Rejection | None = None
        self.release = asyncio.Event()
        self.release.set()
        self.run_id = "fake-run"
        self.known: dict[str, ReceiptAck] = {}  # intent ids the "platform" already shows
        self.runs: list[int | None] = []  # the lease epoch of each tenure it was run for

    def validate(self, intent: Intent) -> Rejection | None:
        return self.rejection

    def known_outcome(self, intent: Intent, received_ts: int) -> ReceiptAck | None:
        return self.known.get(intent.intent_id)

    async def execute(self, intent: Intent, received_ts: int) -> ReceiptAck:
        self.executed.append(intent)
        await self.release.wait()
        return ReceiptAck(
            intent_id=intent.intent_id,
            status=self.status,
            received_ts=received_ts,
            acked_ts=received_ts,
            platform_order_id=1000 + len(self.executed) if self.status is AckStatus.ACCEPTED else None,
        )

    async def run(self, facts: FactWriter, ledger: IntentLedgerView, *, lease_epoch: int | None = None) -> None:
        self.runs.append(lease_epoch)
        await asyncio.Event().wait()


class ListWriter:
    """A FactWriter that keeps every fact."""

    def __init__(self) -> None:
        self.facts: list[FactEnvelope] = []
        self._seq = itertools.count(1)

    def next_delivery_seq(self) -> int:
        return next(self._seq)

    def put(self, envelope: FactEnvelope) -> None:
        self.facts.append(envelope)

    @property
    def has_room(self) -> bool:
        return True

    async def wait_for_room(self) -> None:
        return None
