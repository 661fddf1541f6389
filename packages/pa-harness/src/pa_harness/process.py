"""A child OS process started with its output in a log file and stopped by its pid (never by name)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


class ChildProcess:
    """One child process: `start`, then `stop` (SIGTERM, then SIGKILL after a grace period) or `kill`."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"ChildProcess({self.name!r}, pid={self.pid}, returncode={self.returncode})"

    def start(self) -> None:
        """Start the process; stdout and stderr go to `log_path` (appended, so a restart keeps history)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            # A new session: a Ctrl-C in the launcher's terminal is not delivered straight to the children;
            # the launcher stops each one by pid, in order.
            self._proc = subprocess.Popen(  # noqa: S603 - argv is built by this package, never a shell string
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        """The process id while started."""
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has exited."""
        return self._proc.poll() if self._proc is not None else None

    @property
    def running(self) -> bool:
        """True from `start` until the process exits."""
        return self._proc is not None and self._proc.poll() is None

    async def wait(self, timeout_s: float) -> int:
        """Wait for the process to exit; TimeoutError if it is still running after `timeout_s`."""
        proc = self._require()
        try:
            return await asyncio.to_thread(proc.wait, timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise TimeoutError(f"{self.name} (pid {proc.pid}) still running after {timeout_s}s") from exc

    async def stop(self, grace_s: float = 5.0) -> int:
        """SIGTERM by pid, then SIGKILL if it has not exited after `grace_s`; returns the exit status."""
        proc = self._require()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return await self.wait(grace_s)
            except TimeoutError:
                proc.kill()
        return await self.wait(grace_s)

    async def kill(self) -> int:
        """SIGKILL by pid (a crash, for failure tests); returns the exit status."""
        proc = self._require()
        if proc.poll() is None:
            proc.kill()
        return await self.wait(10.0)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the log, for an error message."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _require(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError(f"{self.name} was never started")
        return self._proc
