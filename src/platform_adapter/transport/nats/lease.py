"""The lease on NATS: a JetStream KV key created only if absent, kept alive by renewals, gone when they stop.

The bucket's TTL expires the key `ttl_s` after its last write, so a dead holder's lease lapses by itself and a
standby's `create` succeeds; a live holder renews every `renew_s` with a compare-and-set on the revision it
wrote last, so two holders can never both renew. The epoch is the stream sequence of the `create` that won:
JetStream sequences only grow, so a later holder always has a greater epoch (fencing).
"""

from __future__ import annotations

import asyncio
from typing import Any

from nats.errors import Error as NatsError
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyWrongLastSequenceError

from platform_adapter.core.clock import Clock
from platform_adapter.core.lease import LeaseLost
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.streams import Provisioned, ensure_bucket, open_bucket
from platform_adapter.transport.nats.subjects import LEASE_BUCKET

_log = get_logger("pa.nats.lease")

DEFAULT_TTL_S = 3.0


def lease_bucket_config(ttl_s: float = DEFAULT_TTL_S) -> KeyValueConfig:
    """The lease bucket: history 1, every key expiring `ttl_s` after its last write, direct reads."""
    return KeyValueConfig(bucket=LEASE_BUCKET, history=1, ttl=ttl_s, storage=StorageType.FILE, direct=True)


async def provision_lease_bucket(js: Any, ttl_s: float = DEFAULT_TTL_S) -> Provisioned:
    """Create the lease bucket, or bring its TTL to `ttl_s` (as `pa_admin`: the PA only opens it)."""
    return await ensure_bucket(js, lease_bucket_config(ttl_s))


async def open_lease_bucket(js: Any, ttl_s: float = DEFAULT_TTL_S) -> Any:
    """The provisioned lease bucket, as every PA instance opens it; ProvisioningError unless its TTL is `ttl_s`."""
    # The key's expiry is the bucket's TTL: a lease held with another TTL in mind would lapse early or late.
    return await open_bucket(js, LEASE_BUCKET, "the lease bucket", ttl_s=ttl_s)


class NatsLease:
    """One account's lease as KV key `key` in the lease bucket."""

    def __init__(
        self,
        kv: Any,
        clock: Clock,
        *,
        holder: str,
        key: str = "pa",
        ttl_s: float = DEFAULT_TTL_S,
        renew_s: float = 1.0,
        poll_s: float = 0.25,
    ) -> None:
        if renew_s * 2 > ttl_s:
            raise ValueError("renew_s must be at most half of ttl_s, or one late renewal loses the lease")
        self._kv = kv
        self._clock = clock
        self._holder = holder
        self._key = key
        self._ttl_s = ttl_s
        self._renew_s = renew_s
        self._poll_s = poll_s
        self._revision: int | None = None
        self._renewed_at = 0.0
        self.epoch: int | None = None
        self.attempts = 0  # creates tried by `acquire` (a standby's status)

    @property
    def holder(self) -> str:
        """This instance's id."""
        return self._holder

    async def acquire(self) -> int:
        """Create the key when it is absent; until then, poll (a standby)."""
        waited = False
        while True:
            self.attempts += 1
            sent_at = self._clock.monotonic()  # the key's TTL runs from a write the server made after this
            try:
                revision: int = await self._kv.create(self._key, self._holder.encode())
            except KeyWrongLastSequenceError:
                if not waited:
                    _log.info("lease_standby", holder=self._holder, key=self._key)
                    waited = True
            except (NatsError, TimeoutError) as exc:  # the server is restarting: keep asking
                _log.warning("lease_acquire_failed", holder=self._holder, error=repr(exc))
            else:
                self._revision = self.epoch = revision
                self._renewed_at = sent_at
                _log.info("lease_acquired", holder=self._holder, epoch=revision)
                return revision
            await self._clock.sleep(self._poll_s)

    async def hold(self) -> None:
        """Renew every `renew_s`; LeaseLost when a renewal is refused or none succeeded for a whole TTL."""
        while True:
            await self._clock.sleep(self._renew_s)
            sent_at = self._clock.monotonic()
            try:
                self._revision = await self._kv.update(self._key, self._holder.encode(), last=self._revision)
            except KeyWrongLastSequenceError:
                raise LeaseLost(f"lease {self._key!r} was taken over (epoch {self.epoch} is deposed)") from None
            except (NatsError, TimeoutError) as exc:
                silent = self._clock.monotonic() - self._renewed_at
                _log.warning("lease_renewal_failed", holder=self._holder, error=repr(exc), unrenewed_s=silent)
                if silent + self._renew_s >= self._ttl_s:
                    # The key may expire before the next attempt: act as deposed now, not after a standby took it.
                    raise LeaseLost(
                        f"lease {self._key!r} not renewed for {silent:.1f} s (TTL {self._ttl_s} s)"
                    ) from None
                continue
            self._renewed_at = sent_at

    def valid(self) -> bool:
        """Renewed recently enough that the key cannot have expired yet (half a renewal period to spare)."""
        return (
            self._revision is not None and self._clock.monotonic() - self._renewed_at < self._ttl_s - self._renew_s / 2
        )

    async def release(self) -> None:
        """Delete the key (only if still ours), so a standby need not wait for the TTL."""
        if self._revision is None:
            return
        try:
            await asyncio.wait_for(self._kv.delete(self._key, last=self._revision), timeout=2.0)
        except (NatsError, TimeoutError, KeyWrongLastSequenceError) as exc:
            _log.info("lease_release_failed", holder=self._holder, error=repr(exc))  # it lapses by its TTL
        else:
            _log.info("lease_released", holder=self._holder, epoch=self.epoch)
        self._revision = None
