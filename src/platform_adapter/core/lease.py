"""The lease: one active PA per account. Only the holder connects its trading socket and serves intents.

A PA acquires the lease before it serves anything; a second instance waits as a standby and takes over when the
lease lapses. Each acquisition has an `epoch` that only grows, carried on every fact, ack and health signal of
the holder (fencing), so U and OE can tell which instance wrote what and recognise a deposed instance's late
writes. `FileLease` is the embedded default (an OS lock on a file in the state directory, released by the OS the
moment its process dies); the NATS transport has its own, on a JetStream KV key with a TTL.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO, Protocol

from platform_adapter.core.clock import Clock
from platform_adapter.telemetry import get_logger

_log = get_logger("pa.lease")


class LeaseLost(Exception):
    """The lease was lost while held: stop serving intents at once and go back to standby."""


class Lease(Protocol):
    """Exclusive right to act for one account."""

    @property
    def holder(self) -> str:
        """Who asks (this instance's id), for logs and the standby's status."""
        ...

    async def acquire(self) -> int:
        """Wait until this instance holds the lease; return its epoch (greater than any earlier holder's)."""
        ...

    async def hold(self) -> None:
        """Keep the lease (renewing it) until cancelled; raise LeaseLost as soon as it is lost."""
        ...

    def valid(self) -> bool:
        """True while this holder may act: it cannot have lapsed yet (checked before anything is sent).

        After a pause of the process (SIGSTOP, a frozen VM, a long GC) or a cut-off from the lease's store, the
        renewal that would find out takes a round trip; until then this says whether a standby could already hold it.
        """
        ...

    async def release(self) -> None:
        """Give the lease up at once, so a standby takes over without waiting for it to lapse."""
        ...


class FileLease:
    """The lease as an exclusive OS lock on `<state_dir>/<name>.lock`; the epoch is kept beside it.

    The lock lives as long as the open file: a crashed (even SIGKILLed) holder loses it at once, so a standby
    polling every `poll_s` takes over within that time.
    """

    def __init__(self, state_dir: Path, clock: Clock, *, holder: str, name: str = "pa", poll_s: float = 0.5) -> None:
        self._lock_path = state_dir / f"{name}.lock"
        self._epoch_path = state_dir / f"{name}.epoch"
        self._clock = clock
        self._holder = holder
        self._poll_s = poll_s
        self._file: IO[str] | None = None
        self.epoch: int | None = None

    @property
    def holder(self) -> str:
        """This instance's id."""
        return self._holder

    async def acquire(self) -> int:
        """Poll for the lock; once held, bump and persist the epoch (under the lock)."""
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        waited = False
        while (handle := self._try_lock()) is None:
            if not waited:
                _log.info("lease_standby", holder=self._holder, lock=str(self._lock_path), current=self._owner())
                waited = True
            await self._clock.sleep(self._poll_s)
        self._file = handle
        epoch = self._read_epoch() + 1
        self._write(self._epoch_path, str(epoch))
        handle.seek(0)
        handle.truncate()
        handle.write(f"{self._holder} epoch={epoch} pid={os.getpid()}\n")
        handle.flush()
        self.epoch = epoch
        _log.info("lease_acquired", holder=self._holder, epoch=epoch)
        return epoch

    def valid(self) -> bool:
        """Held: an OS lock cannot lapse while its process lives."""
        return self._file is not None

    async def hold(self) -> None:
        """An OS lock cannot be taken from a live process: only a vanished lock file loses it."""
        while True:
            await self._clock.sleep(self._poll_s)
            if self._file is None or not self._same_file():
                raise LeaseLost(f"the lock file {self._lock_path} was removed or replaced")

    async def release(self) -> None:
        """Unlock and close; the epoch stays on disk for the next holder to count from."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
            _log.info("lease_released", holder=self._holder, epoch=self.epoch)

    def _try_lock(self) -> IO[str] | None:
        # A local file and a non-blocking lock: instant, so it runs inline on the loop.
        handle = open(self._lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held open as the lock
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle

    def _same_file(self) -> bool:
        assert self._file is not None
        try:
            return os.fstat(self._file.fileno()).st_ino == self._lock_path.stat().st_ino
        except FileNotFoundError:
            return False

    def _read_epoch(self) -> int:
        try:
            return int(self._epoch_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _owner(self) -> str:
        try:
            return self._lock_path.read_text().strip()
        except OSError:
            return ""

    @staticmethod
    def _write(path: Path, text: str) -> None:
        # Write then rename: a crash mid-write never leaves a torn epoch behind.
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
