"""`NatsHealthFollower`: OE's view of the PA's health: every signal on `pa.health`, and the bucket's current one.

Two sources, neither of which needs a consumer of its own: the core subject `pa.health` (every signal, at once),
and a key-pinned read of `pa_health/current` (a direct get, at start and every `poll_s`), which hands a late joiner
the current signal and covers signals the subject missed while OE was reconnecting. A KV watch would need the
right to create consumers on the bucket, and a consumer's deliver subject can point anywhere: no module has it.

Signals are ordered by `(lease_epoch, ts, seq)`: the instance holding the account's lease with the greatest epoch
is the active PA (ADR 0012), so a deposed instance's late signal never overrides its successor's, whatever its
clock says; within one tenure the bucket can lag the subject by one signal, and an older one is never handed on
after a newer. The follower fails closed: a signal older than `stale_after_s` on arrival, or no new
signal for that long, becomes a local PA_DOWN with `halt_required`, because a PA that died cannot report its own
death and the bucket would otherwise keep its last PA_UP forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import BucketNotFoundError, KeyNotFoundError

from platform_adapter.core.clock import Clock, SystemClock
from platform_adapter.mic import HealthReason, HealthSignal, HealthState
from platform_adapter.mic.codec import DecodeError, decode_health
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.cancellation import raise_if_cancelling
from platform_adapter.transport.nats.connection import imported_jetstream, sync_with_server
from platform_adapter.transport.nats.subjects import HEALTH_BUCKET, HEALTH_KEY, HEALTH_SUBJECT

_log = get_logger("pa.nats.health_follower")
_NS = 1_000_000_000

LOCAL_SEQ = 0
"""`seq` of a signal the follower made itself (the PA numbers its own signals from 1)."""


class NatsHealthFollower:
    """Feeds `queue` with the PA's health signals for OE; `run` until cancelled."""

    def __init__(
        self,
        nc: Any,
        *,
        js: Any | None = None,
        subject: str = HEALTH_SUBJECT,
        bucket: str = HEALTH_BUCKET,
        key: str = HEALTH_KEY,
        stale_after_s: float = 15.0,
        poll_s: float = 1.0,
        bucket_wait_s: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._nc = nc
        self._js = js if js is not None else imported_jetstream(nc)  # the PA's bucket, through its export
        self._subject = subject
        self._bucket = bucket
        self._key = key
        self._stale_after_s = stale_after_s  # three of the PA's 5 s re-publish periods
        self._poll_s = poll_s
        self._bucket_wait_s = bucket_wait_s
        self._clock: Clock = clock or SystemClock()
        self.queue: asyncio.Queue[HealthSignal] = asyncio.Queue()
        self.latest: HealthSignal | None = None
        self.ready = asyncio.Event()  # set once subscribed and the bucket's current value was asked for
        self._newest: HealthSignal | None = None  # the newest of the PA's own signals seen
        self._last_raw: bytes | None = None
        self._stale = False

    async def run(self) -> None:
        """Follow the subject and the bucket until cancelled."""
        arrivals: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_signal(msg: Any) -> None:
            arrivals.put_nowait(msg.data)

        subscription = await self._nc.subscribe(self._subject, cb=on_signal)
        poller: asyncio.Task[None] | None = None
        try:
            try:
                await sync_with_server(self._nc)  # the subscription is in place before the first read
            except (NatsError, TimeoutError) as exc:  # not fatal: the client re-subscribes once connected
                _log.warning("health_subscription_unconfirmed", error=repr(exc))
            kv = await self._open_bucket()
            poller = asyncio.create_task(self._poll(kv, arrivals), name="oe-health-poll")
            self.ready.set()
            await self._follow(arrivals)
        finally:
            self.ready.clear()
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            try:
                await subscription.unsubscribe()
            except Exception as exc:  # the connection may be gone already; nothing is left to release
                _log.info("health_unsubscribe_failed", error=repr(exc))

    async def _poll(self, kv: Any, arrivals: asyncio.Queue[bytes]) -> None:
        """Read the current value now and every `poll_s` (a direct get pinned to the key)."""
        while True:
            raise_if_cancelling()
            try:
                entry = await kv.get(self._key)
            except KeyNotFoundError:
                pass  # the PA has not spoken yet
            except (NatsError, TimeoutError) as exc:  # the server is away: the silence bound reports it
                _log.info("health_read_failed", error=repr(exc))
            else:
                if entry.value:
                    arrivals.put_nowait(entry.value)
            await asyncio.sleep(self._poll_s)

    async def _follow(self, arrivals: asyncio.Queue[bytes]) -> None:
        """Take signals; a silence of `stale_after_s` since the last new one is reported as PA_DOWN."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._stale_after_s
        while True:
            raise_if_cancelling()
            try:
                async with asyncio.timeout_at(deadline):
                    data = await arrivals.get()
            except TimeoutError:
                self._report_silence()
                deadline = loop.time() + self._stale_after_s
                continue
            if self._take(data):
                deadline = loop.time() + self._stale_after_s

    def _take(self, data: bytes) -> bool:
        """Hand on a new, fresh signal of the PA's (True); repeats and older signals are dropped."""
        if data == self._last_raw:
            return False  # the bucket's value again (every poll), or the subject's copy of what the bucket gave
        self._last_raw = data
        try:
            signal = decode_health(data)
        except DecodeError as exc:
            _log.error("health_undecodable", error=str(exc))
            self._emit_local(f"the PA's health signal could not be decoded ({exc}): treat the PA as down")
            return False
        if self._newest is not None and _order(signal) <= _order(self._newest):
            # The bucket lagging the subject by one signal, or a deposed instance's late word: never go back.
            return False
        self._newest = signal
        age_s = (self._clock.now_ns() - signal.ts) / _NS
        if age_s > self._stale_after_s:
            if not self._stale:
                self._emit_local(
                    f"the PA's last health signal ({signal.state.value}, seq {signal.seq}) is {age_s:.0f}s old: "
                    "the PA is not reporting; treat it as down"
                )
            return False
        self._stale = False
        self.latest = signal
        self.queue.put_nowait(signal)
        return True

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
        """The bucket, waiting for `pa_admin` to provision it when OE starts first."""
        async with asyncio.timeout(self._bucket_wait_s):
            while True:
                raise_if_cancelling()
                try:
                    return await self._js.key_value(self._bucket)
                except (BucketNotFoundError, NatsTimeoutError):
                    await asyncio.sleep(0.2)  # not provisioned yet, or the server is restarting: ask again


def _order(signal: HealthSignal) -> tuple[int, int, int]:
    """The greatest lease epoch is the active PA; then the newest signal of it (no epoch: no lease, sorts first)."""
    return (signal.lease_epoch if signal.lease_epoch is not None else -1, signal.ts, signal.seq)
