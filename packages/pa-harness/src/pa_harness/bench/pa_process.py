"""The PA as a desk deploys it, for the deployed-path benchmarks: `pa run --transport nats://...` in its own process.

The benchmark writes a TOML configuration (the simulator's or the wire server's URLs, the instruments, the log and
state directories) and hands the PA its NATS user in the environment (`PA_NATS_USER` / `PA_NATS_PASSWORD`, never on
the command line), as `pa nats config` tells a desk to. The process is stopped by its pid. Its CPU time (every
thread, in ns, from /proc/<pid>/task/*/schedstat) and RSS are read from /proc while it runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pa_harness.process import ChildProcess
from platform_adapter.config import InstrumentSettings
from platform_adapter.transport.nats.connection import NatsAuth


@dataclass(frozen=True)
class PaConfig:
    """What the benchmark configures; everything else is the PA's default."""

    mode: str
    rest_url: str
    trading_ws_url: str
    md_ws_url: str
    instruments: Sequence[InstrumentSettings]
    workdir: Path
    chart_history_bars: int = 20
    chart_history_ticks: int = 50
    log_level: str = "INFO"

    def toml(self) -> str:
        """The configuration file's text."""
        lines = [
            f'mode = "{self.mode}"',
            'environment = "simulator"',
            f'rest_url = "{self.rest_url}"',
            f'trading_ws_url = "{self.trading_ws_url}"',
            f'md_ws_url = "{self.md_ws_url}"',
            f"chart_history_bars = {self.chart_history_bars}",
            f"chart_history_ticks = {self.chart_history_ticks}",
            f'log_dir = "{self.workdir / "logs"}"',
            f'state_dir = "{self.workdir / "state"}"',
            f'log_level = "{self.log_level}"',
            "metrics_port = 0",
        ]
        for instrument in self.instruments:
            timeframes = ", ".join(f'"{tf}"' for tf in instrument.timeframes)
            lines += [
                "",
                "[[instruments]]",
                f'symbol = "{instrument.symbol}"',
                f"timeframes = [{timeframes}]",
                f"quotes = {str(instrument.quotes).lower()}",
                f"dom = {str(instrument.dom).lower()}",
            ]
        return "\n".join(lines) + "\n"


def pa_command() -> list[str]:
    """How to start `pa`: the venv's script next to this interpreter, else the CLI module through it."""
    script = Path(sys.executable).with_name("pa")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from platform_adapter.cli import app; app(prog_name='pa')"]


def _child_env(auth: NatsAuth) -> dict[str, str]:
    # The PA reads PA_* variables as settings: none of the caller's may leak into the measured process.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PA_")}
    env.update(auth.env())
    env["PYTHONUNBUFFERED"] = "1"
    return env


class PaProcess:
    """One `pa run --transport <url>` child: `start`, read its CPU and RSS, `stop` (SIGTERM, by pid)."""

    def __init__(self, config: PaConfig, nats_url: str, auth: NatsAuth, name: str = "pa") -> None:
        self.config = config
        config.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = config.workdir / "pa.toml"
        self.config_path.write_text(config.toml(), encoding="utf-8")
        argv = [*pa_command(), "run", "--config", str(self.config_path), "--no-tui", "--transport", nats_url]
        self._child = ChildProcess(name, argv, config.workdir / "pa.out", env=_child_env(auth))
        self.started_ns = 0

    @property
    def pid(self) -> int:
        """The process id (after `start`)."""
        pid = self._child.pid
        if pid is None:
            raise RuntimeError("the PA was not started")
        return pid

    @property
    def running(self) -> bool:
        """True while the process lives."""
        return self._child.running

    def start(self) -> None:
        """Start the process; `started_ns` is the UTC ns just before it was spawned."""
        self.started_ns = time.time_ns()
        self._child.start()

    async def stop(self) -> int:
        """SIGTERM (a graceful stop), SIGKILL after 10 s; the exit status."""
        return await self._child.stop(grace_s=10.0)

    def log_tail(self, lines: int = 30) -> str:
        """The end of its output, for an error message."""
        return self._child.log_tail(lines)

    def cpu_ns(self) -> int:
        """CPU time used so far by every thread of the process, in ns."""
        return process_cpu_ns(self.pid)

    def rss_kib(self) -> int:
        """Resident set size now, in KiB."""
        return proc_status(self.pid).get("VmRSS", 0)

    def hwm_kib(self) -> int:
        """Peak resident set size so far (VmHWM), in KiB."""
        return proc_status(self.pid).get("VmHWM", 0)


def process_cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid` (ns, from schedstat; falls back to utime + stime at clock-tick resolution)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with open(task / "schedstat", encoding="ascii") as handle:
                total += int(handle.read().split()[0])
        return total
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> Mapping[str, int]:
    """The KiB figures of /proc/<pid>/status (VmRSS, VmHWM, ...); empty once the process is gone."""
    found: dict[str, Any] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return found
    for line in text.splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            found[name] = int(parts[0])
    return found
