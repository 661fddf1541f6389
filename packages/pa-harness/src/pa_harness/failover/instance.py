"""One PA instance as a desk runs it: `pa run --no-tui --transport nats://...`, a process with its own directories.

Its state and logs live in `<workdir>/<name>/`; the JSON log (`logs/pa.jsonl`) is appended across restarts, and
`events` reads only the current process's part of it. Credentials reach it through the environment only.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pa_harness.process import ChildProcess


def pa_command() -> list[str]:
    """The `pa` console script of this environment (as installed next to the interpreter)."""
    script = Path(sys.executable).parent / "pa"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from platform_adapter.cli import app; app()"]


class PaProcess:
    """`start`, then `kill` (SIGKILL: a crash) or `signal` (SIGTERM: the graceful stop; SIGSTOP / SIGCONT), `reap`."""

    def __init__(self, name: str, workdir: Path, nats_url: str, env: Mapping[str, str]) -> None:
        self.name = name
        self.home = workdir / name
        self.log_path = self.home / "logs" / "pa.jsonl"
        child_env = dict(env)
        child_env.update({"PA_STATE_DIR": str(self.home / "state"), "PA_LOG_DIR": str(self.home / "logs")})
        self._child = ChildProcess(
            name, [*pa_command(), "run", "--no-tui", "--transport", nats_url], self.home / "stdout.log", env=child_env
        )
        self._log_offset = 0
        self.ended_at: float | None = None  # time.time() when the last process was seen to end (kill / exit)
        self.pids: list[int] = []  # of every process started, in order

    def __repr__(self) -> str:
        return f"PaProcess({self.name!r}, pid={self.pid}, run_id={self.run_id!r})"

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._child.pid if self._child.running else None

    @property
    def running(self) -> bool:
        """True from `start` until the process exits."""
        return self._child.running

    @property
    def returncode(self) -> int | None:
        """The exit status once exited."""
        return self._child.returncode

    def start(self) -> None:
        """Start (or restart) the process; `events` then reads this process's log lines only."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._child.start()
        self.ended_at = None
        assert self._child.pid is not None
        self.pids.append(self._child.pid)

    def kill_now(self) -> None:
        """SIGKILL at once, from a synchronous callback (the simulator's): the process dies mid-whatever."""
        pid = self._child.pid
        if pid is not None and self._child.running:
            os.kill(pid, signal.SIGKILL)
            self.ended_at = time.time()

    async def kill(self) -> int:
        """SIGKILL, then wait for the exit."""
        self.kill_now()
        code = await self._child.kill()
        self.ended_at = self.ended_at or time.time()
        return code

    async def reap(self, timeout_s: float = 10.0) -> int:
        """Wait for the process to exit on its own (after `kill_now`, or a signal sent with `signal`)."""
        code = await self._child.wait(timeout_s)
        self.ended_at = self.ended_at or time.time()
        return code

    def signal(self, signum: int) -> None:
        """Send `signum` by pid (SIGSTOP / SIGCONT pause and resume it)."""
        pid = self._child.pid
        if pid is not None and self._child.running:
            os.kill(pid, signum)

    def events(self, event: str | None = None, *, every_process: bool = False) -> list[dict[str, Any]]:
        """This process's JSON log records (of one `event` name, when given), in order; or every process's."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0 if every_process else self._log_offset)
                lines = log.read().splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut by a SIGKILL
            if isinstance(record, dict) and (event is None or record.get("event") == event):
                records.append(record)
        return records

    def last(self, event: str) -> dict[str, Any] | None:
        """The latest record of `event`, if any."""
        found = self.events(event)
        return found[-1] if found else None

    @property
    def run_id(self) -> str | None:
        """The current process's PA run id (from its log)."""
        record = self.last("pa_on_nats")
        return str(record["run_id"]) if record else None

    def run_ids(self) -> dict[int, str]:
        """pid -> PA run id of every process of this instance that reached the lease (its holder id names both)."""
        found: dict[int, str] = {}
        for record in self.events(every_process=True):
            holder = record.get("holder")
            if isinstance(holder, str) and holder.count(":") >= 2:
                _, pid, run_id = holder.rsplit(":", 2)
                if pid.isdigit():
                    found[int(pid)] = run_id
        return found

    @property
    def lease_epoch(self) -> int | None:
        """The lease epoch of the current process's latest tenure, once it holds the lease."""
        record = self.last("tenure_started")
        return int(record["lease_epoch"]) if record else None

    async def until(self, predicate: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
        """Wait (bounded, polling the log and the process) until `predicate` holds."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if not self._child.running and self.ended_at is None:
                raise AssertionError(f"{self.name} exited ({self.returncode}) waiting for {what}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: timed out after {timeout_s}s waiting for {what}")
            await asyncio.sleep(0.02)  # the process and its log file change on their own: poll them

    def log_tail(self, lines: int = 30) -> str:
        """The end of the process's output (for an error message)."""
        return self._child.log_tail(lines)
