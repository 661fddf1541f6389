"""The distributed demo: six OS processes on 127.0.0.1, an order round trip over NATS, every process stopped."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import pytest

from pa_harness.distributed.demo import demo_distributed
from pa_harness.failover import pa_command
from pa_harness.nats_server import find_nats_server
from platform_adapter.config import Settings

from .conftest import NO_SERVER_REASON


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_distributed_demo_round_trip_passes_through_every_process_and_leaves_none_behind(
    tmp_path: Path,
) -> None:
    if find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    lines: list[str] = []

    code = await demo_distributed(Settings(), out_dir=tmp_path / "demo", timeout_s=60, echo=lines.append)

    text = "\n".join(lines)
    assert code == 0, text
    assert "submit Market Buy 1: receipt-ack accepted" in text
    assert "outcome Filled" in text
    assert "delivery holes: 0" in text
    pids = [int(pid) for pid in re.findall(r"pid (\d+)", text)]
    assert len(pids) == 6  # nats-server, sim, u, paper, pa, oe
    assert not [pid for pid in pids if alive(pid)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_to_the_launcher_stops_every_child_and_the_pa_gracefully(
    tmp_path: Path, signum: signal.Signals
) -> None:
    if find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PA_")} | {"PYTHONUNBUFFERED": "1"}
    launcher = await asyncio.create_subprocess_exec(
        *pa_command(), "demo-distributed", "--linger", "300", "--out", str(out),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    assert launcher.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any("lingering" in line for line in lines):  # the round trip is done, every module runs
                line = (await launcher.stdout.readline()).decode()
                assert line, "\n".join(lines)
                lines.append(line)
        pids = [int(pid) for pid in re.findall(r"pid (\d+)", "".join(lines))]
        assert len(pids) == 6 and sum(alive(pid) for pid in pids) == 5  # all but OE, which ran its round trip

        launcher.send_signal(signum)
        async with asyncio.timeout(60):
            rest, _ = await launcher.communicate()
    finally:
        if launcher.returncode is None:  # the test failed early: still let the launcher stop its children
            launcher.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(60):
                    await launcher.wait()
            except TimeoutError:
                launcher.kill()
                await launcher.wait()

    assert launcher.returncode == 128 + signum, "".join(lines) + rest.decode()
    assert not [pid for pid in pids if alive(pid)]
    pa_log = (out / "pa.log").read_text(encoding="utf-8")
    assert '"event": "stop_requested"' in pa_log and '"event": "stopped"' in pa_log  # the PA stopped gracefully
    assert '"stop_forced"' not in pa_log
