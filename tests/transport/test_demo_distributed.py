"""The distributed demo: six OS processes on 127.0.0.1, an order round trip over NATS, every process stopped."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pa_harness.distributed.demo import demo_distributed
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
