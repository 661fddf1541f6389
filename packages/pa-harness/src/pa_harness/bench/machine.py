"""The machine a run measured: CPU model, cores, RAM, Python, event loop and library versions, date."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    """Where and when the figures were taken."""

    cpu: str
    cores: int
    ram_gib: float
    python: str
    system: str
    event_loop: str
    libraries: str
    date: str
    load: str = ""

    def with_load(self, before: str) -> Machine:
        """The same machine with the load average before and after the run (a busy machine skews figures)."""
        return replace(self, load=f"{before} before, {load_average()} after")

    def markdown(self) -> str:
        """Bullet lines for the report."""
        return "\n".join(
            [
                f"- **CPU**: {self.cpu}, {self.cores} cores",
                f"- **RAM**: {self.ram_gib:.1f} GiB",
                f"- **Python**: {self.python} on {self.system}; event loop {self.event_loop}",
                f"- **Libraries**: {self.libraries}",
                f"- **Date**: {self.date}",
                f"- **Load average** (1/5/15 min): {self.load or load_average()}",
            ]
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError):
        return 0.0


def load_average() -> str:
    """`1.02/0.80/0.55`: the 1, 5 and 15 minute load averages (other work on the machine shows here)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f}/{five:.2f}/{fifteen:.2f}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def describe_machine(event_loop: str) -> Machine:
    """Describe this machine now."""
    libraries = ", ".join(f"{name} {_version(name)}" for name in ("msgspec", "aiohttp", "uvloop", "nats-py"))
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        ram_gib=_ram_gib(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        system=platform.platform(terse=True),
        event_loop=event_loop,
        libraries=libraries,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
