"""The live view and the endpoints, wired the way `pa run` and `pa demo` wire them."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
import pytest
from rich.console import Console

from pa_harness.demo import run_demo
from platform_adapter.config import Credentials, load_settings
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckStatus, OrderAction
from platform_adapter.operator import OperatorSession
from platform_adapter.operator.metrics import AckObserver, OperatorMetrics
from tests.integration.harness import ACCOUNT_ID, market_order

from .running import running_with_tap


async def test_the_session_draws_the_live_view_and_serves_the_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_with_tap(monkeypatch) as (h, tap):
        await h.up()
        console = Console(file=io.StringIO(), force_terminal=True, width=140, record=True, color_system=None)
        async with OperatorSession.attach(
            h.stack.adapter, h.stack.platform, tap, console=console, tui=True, port=0
        ) as session:
            session.update()
            assert session.url is not None
            async with aiohttp.ClientSession() as http, http.get(f"{session.url}/healthz") as response:
                assert response.status == 200
        text = console.export_text()
        assert "health (as OE sees it)" in text
        assert "PA_UP" in text
        assert f"metrics {session.url}/metrics" in text


async def test_without_a_port_or_a_tty_the_session_only_keeps_the_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_with_tap(monkeypatch) as (h, tap):
        console = Console(file=io.StringIO(), record=True)
        async with OperatorSession.attach(
            h.stack.adapter, h.stack.platform, tap, console=console, tui=False, port=None
        ) as session:
            session.update()
            assert session.url is None and session.endpoints is None
        assert console.export_text() == ""


async def test_each_ack_is_observed_once_however_often_it_is_polled(monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_with_tap(monkeypatch) as (h, tap):
        await h.up()
        metrics = OperatorMetrics(h.stack.adapter, h.stack.platform, tap)
        observer: AckObserver = metrics.acks
        assert observer.poll() == 0
        await h.oe.submit_market(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1)
        bad = market_order("bad", qty=0)
        assert (await h.stack.intents.call(bad, OE_IDENTITY)).status is AckStatus.FAILED
        assert observer.poll() == 2
        assert observer.poll() == 0
        assert (await h.stack.intents.call(bad, OE_IDENTITY)).duplicate  # a repeat is not a new ack
        assert observer.poll() == 0


def test_the_demo_runs_its_round_trip_under_the_live_view_and_prints_its_endpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_demo(load_settings(None), Credentials(), tui=True, duration_s=0) == 0
    out = capsys.readouterr().out
    assert "operator endpoints: http://127.0.0.1:" in out
    assert "demo finished: order round trip seen via U -> Paper -> OE" in out
    assert "recent intents (OE -> PA)" in out  # the view's last frame
    assert (tmp_path / "artifacts" / "demo" / "u.sqlite").is_file()
