"""Where the intent ledger keeps each intent's first ack, so a repeat is never sent again — across restarts too.

An entry is claimed (written, if its id is new) *before* anything is sent, and completed with the ack *before*
the ack is returned: after a crash, an entry still in flight means "may have reached Tradovate" and is answered
`unknown` until platform facts resolve it. `SqliteIntentStore` is the embedded default (a file in the PA's state
directory); the NATS transport has one on a JetStream KV bucket. Retention is bounded by age and count; open
entries (in flight, or `unknown` and unresolved) are never pruned.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

import msgspec

from platform_adapter.core.settings import LedgerSettings
from platform_adapter.mic import AckStatus, ReceiptAck


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One intent id's record: its content's fingerprint, and its first ack once there is one."""

    intent_id: str
    fingerprint: str  # sha-256 (hex) of the intent's canonical content, `sent_ts` left out
    received_ts: int  # UTC ns
    run_id: str = ""
    lease_epoch: int | None = None
    order_id: int | None = None  # the order a cancel / modify concerns (it latches while unknown)
    ack: ReceiptAck | None = None  # None while in flight
    resolved: bool = False  # an `unknown` ack later resolved by platform facts
    resolution: str = ""

    @property
    def is_open(self) -> bool:
        """In flight, or `unknown` and not yet resolved: the outcome is not known."""
        if self.ack is None:
            return True
        return self.ack.status is AckStatus.UNKNOWN and not self.resolved


class IntentStore(Protocol):
    """Durable intent records, written before anything is sent and before any ack is returned."""

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Write `entry` if its intent id is new (atomically) and return None; else return the existing entry."""
        ...

    async def update(self, entry: LedgerEntry) -> None:
        """Replace the entry of `entry.intent_id` (its ack, its resolution)."""
        ...

    async def get(self, intent_id: str) -> LedgerEntry | None:
        """The entry of `intent_id`, if kept."""
        ...

    async def open_entries(self) -> list[LedgerEntry]:
        """Every open entry (in flight, or unknown and unresolved), oldest first."""
        ...

    async def prune(self, now_ns: int) -> int:
        """Drop closed entries beyond the retention bounds; return how many were dropped."""
        ...

    async def close(self) -> None:
        """Release the store."""
        ...


_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(LedgerEntry).decode


class SqliteIntentStore:
    """The ledger in one SQLite file (WAL; a transaction per write, durable across a process crash)."""

    def __init__(self, path: Path, retention: LedgerSettings | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._retention = retention or LedgerSettings()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # WAL with synchronous=NORMAL: a committed write survives the process being killed (only a power loss
        # can take the last transactions); a write costs tens of microseconds, not an fsync.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS intents ("
            " intent_id TEXT PRIMARY KEY, received_ts INTEGER NOT NULL, open INTEGER NOT NULL, entry BLOB NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS intents_closed_by_age ON intents (open, received_ts)")

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """INSERT OR IGNORE; an ignored insert means the id is known: return what is kept."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO intents VALUES (?, ?, ?, ?)",
            (entry.intent_id, entry.received_ts, int(entry.is_open), _encode(entry)),
        )
        if cursor.rowcount == 1:
            return None
        return await self.get(entry.intent_id)

    async def update(self, entry: LedgerEntry) -> None:
        """Replace the row (the id's received time stays the first one's)."""
        self._db.execute(
            "UPDATE intents SET open = ?, entry = ? WHERE intent_id = ?",
            (int(entry.is_open), _encode(entry), entry.intent_id),
        )

    async def get(self, intent_id: str) -> LedgerEntry | None:
        """One row, decoded."""
        row = self._db.execute("SELECT entry FROM intents WHERE intent_id = ?", (intent_id,)).fetchone()
        return _decode(row[0]) if row is not None else None

    async def open_entries(self) -> list[LedgerEntry]:
        """Open rows, oldest first."""
        rows = self._db.execute("SELECT entry FROM intents WHERE open = 1 ORDER BY received_ts").fetchall()
        return [_decode(row[0]) for row in rows]

    async def prune(self, now_ns: int) -> int:
        """Closed rows older than max_age, then the oldest closed rows beyond max_entries."""
        cutoff = now_ns - int(self._retention.max_age_s * 1e9)
        dropped = self._db.execute("DELETE FROM intents WHERE open = 0 AND received_ts < ?", (cutoff,)).rowcount
        dropped += self._db.execute(
            "DELETE FROM intents WHERE open = 0 AND intent_id IN ("
            " SELECT intent_id FROM intents WHERE open = 0 ORDER BY received_ts DESC LIMIT -1 OFFSET ?)",
            (self._retention.max_entries,),
        ).rowcount
        return dropped

    async def count(self) -> int:
        """Rows kept (for metrics and tests)."""
        return int(self._db.execute("SELECT COUNT(*) FROM intents").fetchone()[0])

    async def close(self) -> None:
        """Close the file."""
        self._db.close()


class MemoryIntentStore:
    """The ledger in memory only (tests, and a PA deliberately run without a state directory)."""

    def __init__(self, retention: LedgerSettings | None = None) -> None:
        self._retention = retention or LedgerSettings()
        self._entries: dict[str, LedgerEntry] = {}

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Insert if new."""
        existing = self._entries.get(entry.intent_id)
        if existing is None:
            self._entries[entry.intent_id] = entry
        return existing

    async def update(self, entry: LedgerEntry) -> None:
        """Replace."""
        self._entries[entry.intent_id] = entry

    async def get(self, intent_id: str) -> LedgerEntry | None:
        """Look up."""
        return self._entries.get(intent_id)

    async def open_entries(self) -> list[LedgerEntry]:
        """Open entries, oldest first."""
        return sorted((e for e in self._entries.values() if e.is_open), key=lambda e: e.received_ts)

    async def prune(self, now_ns: int) -> int:
        """As SqliteIntentStore.prune."""
        cutoff = now_ns - int(self._retention.max_age_s * 1e9)
        closed = sorted((e for e in self._entries.values() if not e.is_open), key=lambda e: e.received_ts)
        doomed = [e for e in closed if e.received_ts < cutoff]
        keep = [e for e in closed if e.received_ts >= cutoff]
        doomed += keep[: max(0, len(keep) - self._retention.max_entries)]
        for entry in doomed:
            del self._entries[entry.intent_id]
        return len(doomed)

    async def count(self) -> int:
        """Entries kept."""
        return len(self._entries)

    async def close(self) -> None:
        """Nothing to release."""
