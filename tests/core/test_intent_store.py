"""The intent store: an id is claimed once, kept across a restart, and retention stays bounded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from platform_adapter.core.intent_store import (
    IntentStore,
    LedgerEntry,
    MemoryIntentStore,
    SqliteIntentStore,
)
from platform_adapter.core.settings import LedgerSettings
from platform_adapter.mic import AckStatus, ReceiptAck

DAY_NS = 24 * 3600 * 1_000_000_000


def entry(intent_id: str, ts: int, ack: AckStatus | None = None, resolved: bool = False) -> LedgerEntry:
    receipt = ReceiptAck(intent_id=intent_id, status=ack, received_ts=ts, acked_ts=ts + 1) if ack else None
    return LedgerEntry(intent_id=intent_id, fingerprint="f" * 64, received_ts=ts, ack=receipt, resolved=resolved)


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IntentStore]:
    retention = LedgerSettings(max_age_s=7 * 24 * 3600, max_entries=50)
    made: IntentStore = (
        SqliteIntentStore(tmp_path / "ledger.sqlite", retention)
        if request.param == "sqlite"
        else MemoryIntentStore(retention)
    )
    yield made
    await made.close()


async def test_an_intent_id_is_claimed_once_and_the_first_entry_wins(store: IntentStore) -> None:
    assert await store.claim(entry("i-1", 10)) is None
    again = await store.claim(entry("i-1", 20, AckStatus.ACCEPTED))
    assert again is not None
    assert again.received_ts == 10
    assert again.ack is None  # still in flight


async def test_open_entries_are_in_flight_or_unknown_and_unresolved(store: IntentStore) -> None:
    for item in (
        entry("flying", 1),
        entry("accepted", 2, AckStatus.ACCEPTED),
        entry("unknown", 3, AckStatus.UNKNOWN),
        entry("resolved", 4, AckStatus.UNKNOWN, resolved=True),
    ):
        await store.claim(item)
    assert [e.intent_id for e in await store.open_entries()] == ["flying", "unknown"]
    await store.update(entry("flying", 1, AckStatus.FAILED))
    assert [e.intent_id for e in await store.open_entries()] == ["unknown"]


async def test_a_week_of_intents_stays_within_retention_and_open_entries_are_never_pruned(store: IntentStore) -> None:
    await store.claim(entry("open-for-ever", 0, AckStatus.UNKNOWN))
    now = 0
    for n in range(1_000):  # a week, one intent every ~10 minutes
        now = n * (7 * DAY_NS // 1_000)
        await store.claim(entry(f"i-{n}", now, AckStatus.ACCEPTED))
        if n % 100 == 0:
            await store.prune(now)
    await store.prune(now + 8 * DAY_NS)
    assert await store.count() == 1  # type: ignore[attr-defined]
    assert [e.intent_id for e in await store.open_entries()] == ["open-for-ever"]
    await store.claim(entry("late", now, AckStatus.ACCEPTED))
    for n in range(60):
        await store.claim(entry(f"burst-{n}", now + 8 * DAY_NS + n, AckStatus.ACCEPTED))
    await store.prune(now + 8 * DAY_NS + 100)
    assert await store.count() == 51  # type: ignore[attr-defined]  # max_entries closed + the open one
    assert await store.get("burst-59") is not None
    assert await store.get("late") is None  # the oldest closed one went first


async def test_the_sqlite_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    first = SqliteIntentStore(path)
    await first.claim(entry("sent-before-the-crash", 5))
    await first.claim(entry("acked", 6, AckStatus.ACCEPTED))
    await first.close()
    second = SqliteIntentStore(path)
    kept = await second.claim(entry("acked", 99, AckStatus.FAILED))
    assert kept is not None
    assert kept.ack is not None
    assert kept.ack.status is AckStatus.ACCEPTED
    assert [e.intent_id for e in await second.open_entries()] == ["sent-before-the-crash"]
    await second.close()
