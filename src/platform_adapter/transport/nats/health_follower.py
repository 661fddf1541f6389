"""`NatsHealthFollower`: OE's view of the PA's health: the KV bucket's current signal, then every change.

A KV watch hands a late joiner the current value first. The follower also fails closed: a signal older
than `stale_after_s` on arrival, or no signal for that long, becomes a local PA_DOWN with `halt_required`,
because a PA that died cannot report its own death and KV would otherwise keep its last PA_UP forever.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import BucketNotFoundError

from platform_adapter.core.clock import Clock, SystemClock
from platform_adapter.mic import HealthReason, HealthSignal, HealthState
from platform_adapter.mic.codec import DecodeError, decode_health
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.cancellation import raise_if_cancelling
from platform_adapter.transport.nats.subjects import HEALTH_BUCKET, HEALTH_KEY

_log = get_logger("pa.nats.health_follower")
_DELETED = {"DEL", "PURGE"}
_NS = 1_000_000_000

LOCAL_SEQ = 0
"""`seq` of a signal the follower made itself (the PA numbers its own signals from 1)."""


class NatsHealthFollower:
    """Feeds `queue` with the PA's health signals for OE; `run` until cancelled."""

    def __init__(
        self,
        js: Any,
        *,
        bucket: str = HEALTH_BUCKET,
        key: str = HEALTH_KEY,
        stale_after_s: float = 15.0,
        bucket_wait_s: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._js = js
        self._bucket = bucket
        self._key = key
        self._stale_after_s = stale_after_s  # three of the PA's 5 s re-publish periods
        self._bucket_wait_s = bucket_wait_s
        self._clock: Clock = clock or SystemClock()
        self.queue: asyncio.Queue[HealthSignal] = asyncio.Queue()
        self.latest: HealthSignal | None = None
        self._stale = False

    async def run(self) -> None:
        """Watch the bucket's key until cancelled; a silence re-opens the watch (the server may have restarted)."""
        kv = await self._open_bucket()
        while True:
            try:
                watcher = await kv.watch(self._key)
            except NatsError as exc:  # the server is away: the silence was reported; try again shortly
                _log.info("health_watch_retry", error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            try:
                await self._follow(watcher)
            finally:
                try:
                    await watcher.stop()
                except NatsError as exc:  # the watch's consumer went with the connection
                    _log.info("health_watch_stop_failed", error=repr(exc))

    async def _follow(self, watcher: Any) -> None:
        """Take updates until a silence of `stale_after_s`, which is reported as PA_DOWN."""
        while True:
            raise_if_cancelling()
            try:
                entry = await watcher.updates(timeout=self._stale_after_s)
            except NatsTimeoutError:
                # An ordered consumer does not always come back after a server restart: re-watch, which also
                # re-reads the current value.
                self._report_silence()
                return
            if entry is None or entry.operation in _DELETED:
                continue  # None: the watch's "no current value" marker
            self._take(entry.value)

    def _take(self, data: bytes) -> None:
        try:
            signal = decode_health(data)
        except DecodeError as exc:
            _log.error("health_undecodable", error=str(exc))
            self._emit_local(f"the PA's health signal could not be decoded ({exc}): treat the PA as down")
            return
        age_s = (self._clock.now_ns() - signal.ts) / _NS
        if age_s > self._stale_after_s:
            if self._stale:
                return  # already reported as down; the PA has still not spoken
            self._emit_local(
                f"the PA's last health signal ({signal.state.value}, seq {signal.seq}) is {age_s:.0f}s old: "
                "the PA is not reporting; treat it as down"
            )
            return
        self._stale = False
        self.latest = signal
        self.queue.put_nowait(signal)

    def _report_silence(self) -> None:
        if self._stale:
            return
        last = f"{self.latest.state.value}, seq {self.latest.seq}" if self.latest else "none yet"
        self._emit_local(
            f"no health signal from the PA for {self._stale_after_s:.0f}s (last: {last}): treat the PA as down"
        )

    def _emit_local(self, detail: str) -> None:
        self._stale = True
        now = self._clock.now_ns()
        signal = HealthSignal(
            state=HealthState.DOWN,
            halt_required=True,
            since=now,
            ts=now,
            seq=LOCAL_SEQ,
            reasons=(HealthReason.STOPPED,),
            detail=detail,
        )
        _log.warning("health_stale", detail=detail)
        self.latest = signal
        self.queue.put_nowait(signal)

    async def _open_bucket(self) -> Any:
        """The bucket, waiting for the PA to create it when OE starts first."""
        async with asyncio.timeout(self._bucket_wait_s):
            while True:
                try:
                    return await self._js.key_value(self._bucket)
                except (BucketNotFoundError, NatsTimeoutError):
                    await asyncio.sleep(0.2)  # the PA has not started yet: ask again shortly
