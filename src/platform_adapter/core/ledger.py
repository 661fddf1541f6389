"""The intent ledger: each intent id's first ack (idempotency, durable), and the latch of unknown outcomes.

What is kept durably lives in an `IntentStore` (SQLite in the state directory, or a JetStream KV bucket): an
intent id is claimed before anything is sent and its first ack is written before the ack is returned, so a
repeat — in this run, after a restart, or after a failover to a standby — gets that ack back and is never sent
again. In memory the ledger keeps only what is open (unresolved outcomes and the orders they latch) and a bounded
cache of recent entries, so it stays flat over a week of intents.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

import msgspec

from platform_adapter.core.intent_store import IntentStore, LedgerEntry, MemoryIntentStore
from platform_adapter.mic import AckReason, AckStatus, ReceiptAck
from platform_adapter.telemetry import get_logger

_log = get_logger("pa.ledger")

PRUNE_EVERY_S = 3600.0
"""How often closed entries beyond the retention bounds are dropped from the store."""


@dataclass
class _Open:
    intent_id: str
    order_id: int | None


class IntentLedger:
    """Idempotency (through a durable store) and the unknown-outcome latch."""

    def __init__(self, store: IntentStore | None = None, *, cache_size: int = 4096) -> None:
        self.store: IntentStore = store or MemoryIntentStore()
        self._cache: OrderedDict[str, LedgerEntry] = OrderedDict()
        self._cache_size = cache_size
        self._unknown: dict[str, _Open] = {}
        self._latched_orders: dict[int, str] = {}
        # Facts can show an intent's command before its request times out: remember them, so the `unknown`
        # ack recorded afterwards is resolved at once instead of latching forever.
        self._seen_early: dict[str, str] = {}
        self._writes: asyncio.Queue[LedgerEntry] = asyncio.Queue()
        self.resolved: list[tuple[str, str]] = []  # the latest (intent_id, detail), for the status view and tests

    # -- start of a tenure -------------------------------------------------------------------------------

    async def load(self, now_ns: int) -> list[LedgerEntry]:
        """Take over the store's open entries: one still in flight becomes `unknown` (it may have been sent).

        Called each time this instance becomes the active PA, before it serves an intent.
        """
        self._unknown.clear()
        self._latched_orders.clear()
        self._cache.clear()
        opened = []
        for entry in await self.store.open_entries():
            if entry.ack is None:
                entry = msgspec.structs.replace(entry, ack=_interrupted(entry, now_ns))
                await self.store.update(entry)
            self._latch(entry)
            opened.append(entry)
        if opened:
            _log.warning("ledger_open_intents", count=len(opened), intent_ids=[e.intent_id for e in opened[:20]])
        return opened

    # -- the intent path ----------------------------------------------------------------------------------

    async def lookup(self, intent_id: str, *, cached_only: bool = False) -> LedgerEntry | None:
        """The kept entry of `intent_id`, if any: recent ones from memory, others from the store unless `cached_only`."""
        entry = self._cache.get(intent_id)
        if entry is None and not cached_only:
            entry = await self.store.get(intent_id)
            if entry is not None:
                self._remember(entry)
        return entry

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Durably claim `entry.intent_id` before anything is sent; the existing entry if another got it first."""
        existing = await self.store.claim(entry)
        self._remember(existing or entry)
        return existing

    async def record(self, entry: LedgerEntry) -> None:
        """Durably write the first ack (before it is returned); latch the order when the outcome is unknown."""
        assert entry.ack is not None
        early = self._seen_early.pop(entry.intent_id, None)
        if early is not None and entry.is_open:
            entry = msgspec.structs.replace(entry, resolved=True, resolution=early)
            self._resolved(entry.intent_id, early)
        await self.store.update(entry)
        self._remember(entry)
        if entry.is_open:
            self._latch(entry)

    def latched_by(self, order_id: int) -> str | None:
        """The unresolved intent that latches mutations of `order_id`, if any."""
        return self._latched_orders.get(order_id)

    # -- what the platform side tells it -----------------------------------------------------------------

    def resolve(self, intent_id: str, *, order_id: int | None = None, detail: str = "") -> bool:
        """Mark an unknown intent resolved by platform facts; True if it was unresolved (written in the background)."""
        entry = self._unknown.pop(intent_id, None)
        if entry is None:
            kept = self._cache.get(intent_id)
            if kept is not None and kept.ack is None:  # still in flight: its ack may yet be `unknown`
                self._seen_early[intent_id] = detail or "seen in facts before the ack"
            return False
        if entry.order_id is not None:
            self._latched_orders.pop(entry.order_id, None)
        self._resolved(intent_id, detail)
        kept = self._cache.get(intent_id)
        if kept is not None:
            kept = msgspec.structs.replace(kept, resolved=True, resolution=detail)
            self._remember(kept)
            self._writes.put_nowait(kept)
        _log.info("intent_resolved", intent_id=intent_id, order_id=order_id, detail=detail)
        return True

    def unresolved(self) -> dict[str, int | None]:
        """Unresolved intent ids, with the order each concerns (None for a submit)."""
        return {k: v.order_id for k, v in self._unknown.items()}

    # -- background ---------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Write resolutions as they come (the reader cannot wait for the store)."""
        while True:
            entry = await self._writes.get()
            latest = await self.store.get(entry.intent_id)
            if latest is None or not latest.resolved:  # never overwrite a later ack with an older view
                await self.store.update(
                    msgspec.structs.replace(latest or entry, resolved=True, resolution=entry.resolution)
                )

    async def flush(self) -> None:
        """Write every queued resolution now (at a graceful stop)."""
        while not self._writes.empty():
            entry = self._writes.get_nowait()
            await self.store.update(entry)

    # -- inside -------------------------------------------------------------------------------------------

    def _latch(self, entry: LedgerEntry) -> None:
        self._unknown[entry.intent_id] = _Open(entry.intent_id, entry.order_id)
        if entry.order_id is not None:
            self._latched_orders[entry.order_id] = entry.intent_id
        self._remember(entry)

    def _resolved(self, intent_id: str, detail: str) -> None:
        self.resolved.append((intent_id, detail))
        del self.resolved[:-100]

    def _remember(self, entry: LedgerEntry) -> None:
        self._cache[entry.intent_id] = entry
        self._cache.move_to_end(entry.intent_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _interrupted(entry: LedgerEntry, now_ns: int) -> ReceiptAck:
    return ReceiptAck(
        intent_id=entry.intent_id,
        status=AckStatus.UNKNOWN,
        received_ts=entry.received_ts,
        acked_ts=now_ns,
        reason=AckReason.INTERRUPTED,
        detail=(
            "the PA stopped while this intent was in flight (run "
            f"{entry.run_id or '?'}): it may have reached Tradovate; platform facts will resolve it"
        ),
        lease_epoch=entry.lease_epoch,
    )
