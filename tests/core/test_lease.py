"""The file lease: one holder at a time, epochs only grow, a killed holder's lease is taken over at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from platform_adapter.core.clock import ManualClock
from platform_adapter.core.lease import FileLease, LeaseLost


async def test_a_second_instance_waits_until_the_first_releases_and_gets_a_greater_epoch(tmp_path: Path) -> None:
    clock = ManualClock()
    first = FileLease(tmp_path, clock, holder="a")
    second = FileLease(tmp_path, clock, holder="b")
    assert await first.acquire() == 1
    waiting = asyncio.create_task(second.acquire())
    for _ in range(5):
        await clock.advance(1.0)
    assert not waiting.done()  # standby: the lock is held
    await first.release()
    await clock.advance(1.0)
    assert await asyncio.wait_for(waiting, 1) == 2
    await second.release()


async def test_a_killed_holder_s_lease_is_taken_over_within_one_poll(tmp_path: Path) -> None:
    holder = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from platform_adapter.core.clock import SystemClock
        from platform_adapter.core.lease import FileLease

        async def main():
            lease = FileLease(Path({str(tmp_path)!r}), SystemClock(), holder="child")
            print(await lease.acquire(), flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())
        """
    )
    child = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)  # noqa: S603, ASYNC220 - our interpreter
    try:
        assert child.stdout is not None
        lines = iter(child.stdout.readline, "")
        assert "1" in (line.strip() for line in lines)  # its epoch (after its log lines)
        clock = ManualClock()
        standby = FileLease(tmp_path, clock, holder="standby", poll_s=0.5)
        taking_over = asyncio.create_task(standby.acquire())
        await clock.advance(2.0)
        assert not taking_over.done()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        await clock.advance(0.5)  # one poll
        assert await asyncio.wait_for(taking_over, 5) == 2
        await standby.release()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


async def test_the_lease_is_lost_when_its_lock_file_is_replaced(tmp_path: Path) -> None:
    clock = ManualClock()
    lease = FileLease(tmp_path, clock, holder="a", poll_s=0.5)
    await lease.acquire()
    holding = asyncio.create_task(lease.hold())
    await clock.advance(1.0)
    assert not holding.done()
    (tmp_path / "pa.lock").unlink()
    await clock.advance(0.5)
    with pytest.raises(LeaseLost):
        await asyncio.wait_for(holding, 1)
    await lease.release()
