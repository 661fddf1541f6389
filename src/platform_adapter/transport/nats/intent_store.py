"""The durable intent ledger on NATS: one JetStream KV entry per intent id, shared by every PA instance.

`claim` is a KV `create` (only if the key is absent), so even two instances that both believed they held the
lease could not both claim one intent id: the second gets the first's entry back. Keys are the intent id's
UTF-8 bytes in hex (KV keys allow only `[-/_=.a-zA-Z0-9]`). Retention: the bucket's TTL (`max_age_s`) drops
entries not written for that long, and the bucket's stream keeps at most `max_entries` (oldest dropped first);
`prune` re-writes open entries (in flight, or unknown and unresolved) well before either bound could reach them.
Nothing is held in memory.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from nats.js.api import DiscardPolicy, KeyValueConfig, StorageType
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from platform_adapter.core.intent_store import LedgerEntry
from platform_adapter.core.settings import LedgerSettings
from platform_adapter.transport.nats.streams import (
    PROVISION_HINT,
    Provisioned,
    ProvisioningError,
    ensure_bucket,
    open_bucket,
)
from platform_adapter.transport.nats.subjects import LEDGER_BUCKET, LEDGER_STREAM

_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(LedgerEntry).decode


def ledger_key(intent_id: str) -> str:
    """The KV key of an intent id."""
    return intent_id.encode("utf-8").hex()


async def provision_ledger_bucket(js: Any, retention: LedgerSettings) -> Provisioned:
    """Create the ledger bucket, or bring its retention bounds to `retention` (as `pa_admin`: the PA only opens it)."""
    config = KeyValueConfig(
        bucket=LEDGER_BUCKET, history=1, ttl=retention.max_age_s, storage=StorageType.FILE, direct=True
    )
    done = await ensure_bucket(js, config)
    info = await js.stream_info(LEDGER_STREAM)
    if (info.config.max_msgs, info.config.discard) != (retention.max_entries, DiscardPolicy.OLD):
        info.config.max_msgs = retention.max_entries
        info.config.discard = DiscardPolicy.OLD
        await js.update_stream(info.config)
        done = Provisioned.CREATED if done is Provisioned.CREATED else Provisioned.UPDATED
    return done


async def open_ledger_bucket(js: Any, retention: LedgerSettings) -> Any:
    """The provisioned ledger bucket, as every PA instance opens it; ProvisioningError unless its bounds match.

    `prune` keeps open entries fresh within half of `max_age_s`: a bucket that ages or counts entries out on
    other bounds could drop an open entry, and the same intent id could then be placed twice.
    """
    kv = await open_bucket(js, LEDGER_BUCKET, "the intent ledger bucket", ttl_s=retention.max_age_s)
    config = (await js.stream_info(LEDGER_STREAM)).config
    if config.max_msgs != retention.max_entries:
        raise ProvisioningError(
            f"the intent ledger bucket ({LEDGER_BUCKET}) keeps {config.max_msgs} entries, the PA's retention says "
            f"{retention.max_entries}: {PROVISION_HINT}"
        )
    return kv


class NatsIntentStore:
    """IntentStore on a JetStream KV bucket."""

    def __init__(self, kv: Any, retention: LedgerSettings | None = None) -> None:
        self._kv = kv
        self._retention = retention or LedgerSettings()

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """KV create; if the key exists, the kept entry."""
        try:
            await self._kv.create(ledger_key(entry.intent_id), _encode(entry))
        except KeyWrongLastSequenceError:
            return await self.get(entry.intent_id)
        return None

    async def update(self, entry: LedgerEntry) -> None:
        """KV put."""
        await self._kv.put(ledger_key(entry.intent_id), _encode(entry))

    async def get(self, intent_id: str) -> LedgerEntry | None:
        """KV get (None when absent or deleted)."""
        try:
            found = await self._kv.get(ledger_key(intent_id))
        except KeyNotFoundError:
            return None
        return _decode(found.value) if found.value else None

    async def open_entries(self) -> list[LedgerEntry]:
        """Every current value read through one watcher (at start), the open ones oldest first."""
        watcher = await self._kv.watchall(ignore_deletes=True)
        entries: list[LedgerEntry] = []
        try:
            while True:
                update = await watcher.updates(timeout=10.0)
                if update is None:  # the end of the current values
                    break
                if update.value:
                    entries.append(_decode(update.value))
        finally:
            await watcher.stop()
        return sorted((e for e in entries if e.is_open), key=lambda e: e.received_ts)

    async def prune(self, now_ns: int) -> int:
        """The bucket's TTL and size bound drop closed entries by themselves; keep open ones fresh."""
        refresh_before = now_ns - int(self._retention.max_age_s * 1e9 / 2)
        for entry in await self.open_entries():
            if entry.received_ts < refresh_before:
                await self.update(entry)
        return 0

    async def close(self) -> None:
        """The connection belongs to the caller."""
        await asyncio.sleep(0)
