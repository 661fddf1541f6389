"""Helper processes the benchmarks start (wire server, PA under measurement, nats-server), stopped by PID."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class HelperFailed(RuntimeError):
    """A helper process did not start as expected."""


@dataclass
class Helper:
    """A started process and the first line it printed."""

    process: subprocess.Popen[str]
    first_line: str


def read_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    """The next stdout line of `process`, or HelperFailed after `timeout_s` or when it exits."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HelperFailed(f"{process.args!r} printed nothing within {timeout_s:.0f} s")
        ready, _, _ = select.select([process.stdout], [], [], min(remaining, 0.2))
        if ready:
            line = process.stdout.readline()
            if line:
                return line.rstrip("\n")
        if process.poll() is not None:
            raise HelperFailed(f"{process.args!r} exited with {process.returncode}: {stderr_of(process)}")


def stderr_of(process: subprocess.Popen[str]) -> str:
    """The last 2000 characters the process wrote to stderr (helpers write stderr to a temporary file)."""
    stream = process.stderr
    if stream is None or stream.closed:
        return ""
    with contextlib.suppress(OSError, ValueError):
        stream.flush()
        stream.seek(0)
        return stream.read()[-2000:]
    return ""


def stop(process: subprocess.Popen[str], timeout_s: float = 5.0) -> None:
    """Terminate one process we started (by its PID), then kill it if it does not exit."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)


@contextlib.contextmanager
def helper(
    argv: Sequence[str],
    *,
    ready_timeout_s: float = 20.0,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Helper]:
    """Start `argv`, wait for its first stdout line, and stop it (by PID) on exit.

    stderr goes to a temporary file (read back on failure), so a chatty helper can never block on a pipe.
    `env` is added to this process's environment (a NATS user's credentials: never on the command line).
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        process = subprocess.Popen(  # noqa: S603 - argv is built by the benchmark, never from input
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=cwd,
            env={**os.environ, **env} if env is not None else None,
        )
        process.stderr = stderr
        try:
            yield Helper(process, read_line(process, ready_timeout_s))
        finally:
            stop(process)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()


@contextlib.contextmanager
def wire_server(seed: int) -> Iterator[int]:
    """Run the blasting market-data server in its own process; yields its port."""
    argv = [sys.executable, "-m", "pa_harness.bench.wire_server", "--seed", str(seed)]
    with helper(argv) as started:
        if not started.first_line.startswith("PORT "):
            raise HelperFailed(f"wire server said {started.first_line!r}, expected 'PORT <n>'")
        yield int(started.first_line.split()[1])
