"""Every command of docs/runbook.md marked `# check` works as written, against a simulator on 127.0.0.1.

Blocks run in document order in a scratch directory (with `.venv` linked in), with free ports in place of
8000-8003. `# check: serve` blocks start in the background (and are stopped, by their process group, at the
end); `# check: collect` blocks are pytest commands whose tests must all be collected. Nothing here may
name a host other than 127.0.0.1 / localhost: the check refuses to run a block that does.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "runbook.md"
BLOCK = re.compile(r"```sh\n(?P<body>.*?)```", re.DOTALL)
URL = re.compile(r"\b(?:https?|wss?)://(?P<host>[^/:\s'\"]+)")
PORT = re.compile(r"(?<=[: ])(800[0-3])\b")
COMMAND_TIMEOUT_S = 90.0
BASH = shutil.which("bash") or "/bin/bash"


@dataclass
class Block:
    """One fenced `sh` block of the runbook."""

    tag: str | None  # "run", "serve", "collect" or None (not checked)
    body: str
    line: int


@dataclass
class Servers:
    """Background `# check: serve` processes, stopped at the end."""

    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    output: dict[int, list[str]] = field(default_factory=dict)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)  # our own process group (start_new_session)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def blocks(text: str) -> list[Block]:
    """The runbook's `sh` blocks with their check tag."""
    found = []
    for match in BLOCK.finditer(text):
        body = match["body"]
        first = body.splitlines()[0].strip() if body.strip() else ""
        tag = None
        if first == "# check":
            tag = "run"
        elif first.startswith("# check:"):
            tag = first.removeprefix("# check:").strip()
        found.append(Block(tag, body, text.count("\n", 0, match.start()) + 1))
    return found


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture
def servers() -> Iterator[Servers]:
    running = Servers()
    try:
        yield running
    finally:
        running.stop()


def test_runbook_marks_the_commands_it_promises_to_check() -> None:
    tags = [b.tag for b in blocks(RUNBOOK.read_text())]

    assert {"run", "serve", "collect"} <= set(tags)
    assert tags.count("serve") == 2  # the simulator and a replay


def test_every_checkable_runbook_command_works_against_the_simulator(tmp_path: Path, servers: Servers) -> None:
    ports = free_ports(4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")}
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    probe_wired = _probe_is_wired()
    skipped: list[str] = []
    for block in blocks(RUNBOOK.read_text()):
        if block.tag is None:
            continue
        body = PORT.sub(lambda m: str(ports[int(m[1]) - 8000]), block.body)
        hosts = {m["host"] for m in URL.finditer(body)}
        assert hosts <= {"127.0.0.1", "localhost"}, f"runbook line {block.line}: a checked block names {hosts}"
        if "pa probe" in body and not probe_wired:
            skipped.append(f"line {block.line}: `pa probe` is not registered in cli.py yet")
            _probe_capture_for_replay(tmp_path, ports)
            continue
        if "curl " in body and shutil.which("curl") is None:
            skipped.append(f"line {block.line}: curl is not installed on this machine")
            continue
        if block.tag == "serve":
            _serve(body, tmp_path, env, servers)
        elif block.tag == "collect":
            _collect(body)
        else:
            _run(body, tmp_path, env)
    if skipped:
        pytest.skip("; ".join(skipped))


def _probe_is_wired() -> bool:
    """True once `pa probe` in cli.py is the probe command (it has --rest-url), not the stub."""
    import typer.main

    from platform_adapter.cli import app

    command = typer.main.get_command(app)
    probe = getattr(command, "commands", {}).get("probe")
    return probe is not None and any("--rest-url" in getattr(p, "opts", ()) for p in probe.params)


def _run(body: str, cwd: Path, env: dict[str, str], *, check: bool = True) -> str:
    result = subprocess.run(  # noqa: S603 - the runbook's own commands, checked for loopback-only hosts
        [BASH, "-euo", "pipefail", "-c", body],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    if check:
        assert result.returncode == 0, (
            f"{body}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
        )
    return result.stdout + result.stderr


def _serve(body: str, cwd: Path, env: dict[str, str], servers: Servers) -> None:
    """Start a long-running block and wait (bounded) for its first URL line."""
    process = subprocess.Popen(  # noqa: S603 - as in _run
        [BASH, "-c", body],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    servers.processes.append(process)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("REST"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    assert ready.wait(20), f"{body} did not start:\n{''.join(lines)}"


def _collect(body: str) -> None:
    """Every pytest command of the block names test files and test functions that exist."""
    for line in body.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        assert words[0] == ".venv/bin/pytest", line
        for target in (w for w in words[1:] if not w.startswith("-")):
            path, _, name = target.partition("::")
            assert (REPO / path).exists(), f"{line}: no {path}"
            if name:
                source = (REPO / path).read_text()
                assert re.search(rf"^(async )?def {re.escape(name)}\(", source, re.MULTILINE), f"{line}: no test {name}"


def _probe_capture_for_replay(cwd: Path, ports: list[int]) -> None:
    """Until `pa probe` is wired, make the capture the replay block serves by running the probe in-process."""
    import asyncio

    from platform_adapter.config import Credentials, Settings
    from platform_adapter.probe import ProbeOptions, resolve_target, run_probe

    from .harness import logging_restored

    target = resolve_target(
        rest_url=f"http://127.0.0.1:{ports[0]}/v1",
        trading_ws_url=f"ws://127.0.0.1:{ports[0]}/v1/websocket",
        md_ws_url=f"ws://127.0.0.1:{ports[1]}/v1/websocket",
    )
    options = ProbeOptions(window_s=0.5, close_wait_s=4.0, duration_s=30.0, quiet_s=0.5, allow_orders=True)
    with logging_restored():
        asyncio.run(run_probe(Settings(), Credentials(), target, options, cwd / "artifacts" / "probe" / "sim"))


def test_runbook_explains_every_health_reason() -> None:
    from platform_adapter.mic import HealthReason

    text = RUNBOOK.read_text()

    assert [r.value for r in HealthReason if f"| `{r.value}` |" not in text] == []
