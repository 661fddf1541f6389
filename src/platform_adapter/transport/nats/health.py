"""`NatsHealthSink`: the PA's HealthSink on NATS: every signal on `pa.health`, the current one in KV.

The core subject carries every signal to followers that are connected; the KV bucket `pa_health` (history 1,
key `current`) holds the latest, so an OE that joins late reads the PA's state at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from nats.errors import ConnectionClosedError, OutboundBufferLimitError
from nats.errors import Error as NatsError

from platform_adapter.mic import HealthSignal
from platform_adapter.mic.codec import encode
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.cancellation import raise_if_cancelling
from platform_adapter.transport.nats.subjects import HEALTH_KEY, HEALTH_SUBJECT

_log = get_logger("pa.nats.health")


@dataclass
class HealthSinkCounters:
    """Health publishes and the ones NATS did not take."""

    published: int = 0
    subject_failures: int = 0
    kv_failures: int = 0


class NatsHealthSink:
    """HealthSink: publish on the subject, then put into KV; never raises on a NATS failure."""

    # Health must not stop the PA: a failed publish is logged and counted, and the health monitor
    # re-publishes the current signal every period, which rewrites KV once NATS is back. OE's follower
    # treats a silence longer than a few periods as PA_DOWN, so a lost signal is never read as PA_UP.

    def __init__(
        self, nc: Any, kv: Any, *, subject: str = HEALTH_SUBJECT, key: str = HEALTH_KEY, kv_timeout_s: float = 1.0
    ) -> None:
        self._nc = nc
        self._kv = kv
        self._subject = subject
        self._key = key
        self._kv_timeout_s = kv_timeout_s
        self.latest: HealthSignal | None = None
        self.counters = HealthSinkCounters()

    async def publish(self, signal: HealthSignal) -> None:
        """Publish one signal on the subject and make it the bucket's current value."""
        data = encode(signal)
        self.latest = signal
        self.counters.published += 1
        try:
            await self._nc.publish(self._subject, data)
        except (ConnectionClosedError, OutboundBufferLimitError) as exc:
            self.counters.subject_failures += 1
            _log.warning("health_publish_failed", target=self._subject, seq=signal.seq, error=repr(exc))
        try:
            async with asyncio.timeout(self._kv_timeout_s):
                await self._kv.put(self._key, data)
        except (TimeoutError, NatsError) as exc:
            self.counters.kv_failures += 1
            _log.warning("health_publish_failed", target=f"kv:{self._key}", seq=signal.seq, error=repr(exc))
        raise_if_cancelling()  # the PA is stopping and nats-py lost the request (it would never stop)
