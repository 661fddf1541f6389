"""Where a process's time goes: py-spy (a pinned dev tool) sampling it by pid, summarised as markdown tables.

`pa bench --profile` attaches `py-spy record --pid <PA> --nonblocking` to the PA process of each deployed-path
benchmark for a window of its own, after the timed ones (so sampling never skews a figure), and adds two tables
to the report: own time by function, and time by area (the PA's layers, nats-py, aiohttp, msgspec, logging, the
event loop). Without py-spy installed the tables say so and nothing else changes.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

AREAS: Final = (
    ("platform_adapter/tradovate/protocol", "PA: Tradovate codec + session (sans-I/O)"),
    ("platform_adapter/tradovate", "PA: Tradovate shell (reader, facts, orders, md)"),
    ("platform_adapter/core", "PA: core (outbox, gate, ledger, health)"),
    ("platform_adapter/transport/nats", "PA: NATS transport"),
    ("platform_adapter/telemetry", "PA: logging (structlog, redaction)"),
    ("platform_adapter/mic", "PA: contract (envelopes, codec)"),
    ("platform_adapter", "PA: other"),
    ("nats/", "nats-py"),
    ("aiohttp/", "aiohttp"),
    ("structlog/", "structlog"),
    ("logging/", "stdlib logging"),
    ("msgspec", "msgspec"),
    ("hashlib", "hashlib"),
    ("tradovate_sim", "the simulator"),
    ("json/", "stdlib json"),
    ("asyncio/", "asyncio"),
    ("uvloop", "uvloop"),
)


def pyspy_binary() -> str | None:
    """The venv's py-spy, else one on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


@dataclass(frozen=True)
class Profile:
    """Collapsed stacks (`frame;frame;... count`) of one sampled process."""

    stacks: dict[tuple[str, ...], int]

    @property
    def samples(self) -> int:
        """Samples taken while the process was on the CPU (py-spy leaves idle ones out)."""
        return sum(self.stacks.values())

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Profile:
        """Read py-spy's `--format raw` output."""
        stacks: Counter[tuple[str, ...]] = Counter()
        for line in lines:
            line = line.rstrip("\n")
            if not line:
                continue
            frames, _, count = line.rpartition(" ")
            if frames and count.isdigit():
                stacks[tuple(frames.split(";"))] += int(count)
        return cls(dict(stacks))

    def own(self) -> Counter[str]:
        """Samples by the innermost frame (the function running)."""
        found: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            found[_short(stack[-1])] += count
        return found

    def areas(self) -> Counter[str]:
        """Samples by the area of the innermost frame that is in a known area."""
        found: Counter[str] = Counter()
        for stack, count in self.stacks.items():
            found[_area(stack)] += count
        return found

    def inclusive(self, needle: str) -> int:
        """Samples with a frame containing `needle` anywhere on the stack."""
        return sum(count for stack, count in self.stacks.items() if any(needle in frame for frame in stack))

    def markdown(self, what: str, top: int = 12) -> str:
        """Two tables: time by area, and the functions with the most own time."""
        total = self.samples or 1
        lines = [
            f"py-spy, {what}: {self.samples:,} samples on the CPU (idle left out).",
            "",
            "| area (innermost known frame) | share |",
            "|---|---:|",
        ]
        lines += [f"| {area} | {100 * n / total:.1f}% |" for area, n in self.areas().most_common(top)]
        lines += ["", "| function (own time) | share |", "|---|---:|"]
        lines += [f"| `{name}` | {100 * n / total:.1f}% |" for name, n in self.own().most_common(top)]
        return "\n".join(lines)


def _short(frame: str) -> str:
    # py-spy frames read `function (path/to/file.py:line)`: keep the package-relative path.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name


def _area(stack: tuple[str, ...]) -> str:
    for frame in reversed(stack):
        for needle, area in AREAS:
            if needle in frame:
                return area
    return "other (interpreter, builtins)"


async def record(pid: int, seconds: float, out: Path, rate: int = 200) -> Profile | None:
    """Sample `pid` for `seconds` without pausing it; None when py-spy is missing or could not attach."""
    binary = pyspy_binary()
    if binary is None:
        return None
    process = await asyncio.create_subprocess_exec(
        binary,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(rate),
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.wait_for(process.wait(), timeout=seconds + 30)
    return await asyncio.to_thread(_read, out) if process.returncode == 0 else None


def _read(path: Path) -> Profile | None:
    if not path.is_file():
        return None
    return Profile.parse(path.read_text(encoding="utf-8").splitlines())


async def while_recording(pid: int, seconds: float, out: Path, step: Callable[[], Awaitable[object]]) -> Profile | None:
    """Sample `pid` for `seconds` while calling `step()` over and over (the load to look at)."""
    recording = asyncio.create_task(record(pid, seconds, out))
    while not recording.done():
        await step()
    return await recording


def details(profile: Profile | None, what: str) -> str:
    """The report's block for one profile (or why there is none)."""
    if profile is None:
        return f"py-spy, {what}: no profile (py-spy is not installed, or could not attach to the process)."
    return profile.markdown(what)


def main(argv: list[str] | None = None) -> int:
    """`python -m pa_harness.bench.pyspy FILE [TITLE]`: summarise a py-spy raw profile as markdown."""
    args = argv if argv is not None else sys.argv[1:]
    profile = Profile.parse(Path(args[0]).read_text(encoding="utf-8").splitlines())
    print(profile.markdown(args[1] if len(args) > 1 else args[0], top=20))
    return 0


if __name__ == "__main__":
    sys.exit(main())
