"""The probe's guard rails: never a funded account unless forced, orders only when asked and only on demo,
bounded in time, and no retry storm when Tradovate says stop."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from platform_adapter.config import Settings
from platform_adapter.probe import ProbeRefused, TargetKind, Verdict, resolve_target, run_probe
from platform_adapter.probe.target import check_target, orders_refusal
from tradovate_sim import TradovateSim

from .conftest import probe_app
from .harness import ENV, FAST, credentials, sim_config


def test_default_target_is_the_tradovate_demo_environment() -> None:
    target = resolve_target()

    assert target.kind is TargetKind.DEMO
    assert target.rest_url == "https://demo.tradovateapi.com/v1"
    assert target.md_ws_url == "wss://md.tradovateapi.com/v1/websocket"


@pytest.mark.parametrize(
    ("environment", "rest_url", "kind"),
    [
        ("live", None, TargetKind.LIVE),
        ("demo", "https://live.tradovateapi.com/v1", TargetKind.LIVE),
        ("demo", "https://example.com/v1", TargetKind.UNKNOWN),
    ],
)
def test_probe_refuses_a_live_or_unrecognised_environment_unless_forced(
    environment: str, rest_url: str | None, kind: TargetKind
) -> None:
    target = resolve_target(environment, rest_url=rest_url)

    assert target.kind is kind
    with pytest.raises(ProbeRefused, match="--force-live"):
        check_target(target, force_live=False)
    check_target(target, force_live=True)  # forced: the read-only steps may run
    assert orders_refusal(target, allow_orders=True) is not None  # ... but never an order


def test_orders_need_allow_orders_and_a_demo_or_loopback_target() -> None:
    demo = resolve_target("demo")
    loopback = resolve_target(
        rest_url="http://127.0.0.1:1/v1",
        trading_ws_url="ws://127.0.0.1:1/v1/websocket",
        md_ws_url="ws://127.0.0.1:2/v1/websocket",
    )

    assert loopback.kind is TargetKind.SIMULATOR
    assert "--allow-orders" in (orders_refusal(demo, allow_orders=False) or "")
    assert orders_refusal(demo, allow_orders=True) is None
    assert orders_refusal(loopback, allow_orders=True) is None


def test_probe_command_exits_2_on_a_live_environment_without_connecting(tmp_path: Path) -> None:
    result = CliRunner().invoke(probe_app(), ["probe", "--environment", "live", "--out", str(tmp_path)], env=ENV)

    assert result.exit_code == 2
    assert "refusing to probe a live" in result.output
    assert not (tmp_path / "capture.jsonl").exists()


def test_probe_needs_the_users_credentials_for_a_real_tradovate(tmp_path: Path) -> None:
    result = CliRunner().invoke(probe_app(), ["probe", "--out", str(tmp_path)], env={"PA_TRADOVATE_USERNAME": None})

    assert result.exit_code == 2
    assert "PA_TRADOVATE_USERNAME" in result.output


async def test_probe_stops_within_its_duration_and_marks_the_rest_not_run(tmp_path: Path) -> None:
    options = dataclasses.replace(FAST, duration_s=1.0, window_s=0.4)
    async with TradovateSim(sim_config()) as sim:
        target = resolve_target(rest_url=sim.rest_url, trading_ws_url=sim.trading_ws_url, md_ws_url=sim.md_ws_url)
        started = time.monotonic()
        report = await run_probe(Settings(), credentials(), target, options, tmp_path)
        elapsed = time.monotonic() - started

    assert elapsed < options.duration_s + 2.0
    assert report.stopped_early is not None and "--duration" in report.stopped_early
    assert [f.step for f in report.findings if f.verdict is Verdict.NOT_RUN]
    assert (tmp_path / "capture.jsonl").stat().st_size > 0


async def test_a_429_on_login_stops_the_probe_after_one_request(tmp_path: Path) -> None:
    async with TradovateSim(sim_config()) as sim:
        await sim.faults.apply({"kind": "rate_limit", "n": 5, "endpoint": "auth/accesstokenrequest"})
        target = resolve_target(rest_url=sim.rest_url, trading_ws_url=sim.trading_ws_url, md_ws_url=sim.md_ws_url)
        report = await run_probe(Settings(), credentials(), target, FAST, tmp_path)
        logins = sim.received_requests(endpoint="auth/accesstokenrequest")

    assert len(logins) == 1
    assert report.by_step("P1")[0].verdict is Verdict.FAILED
    assert "rate limit" in report.by_step("P1")[0].observation
    assert report.stopped_early is not None
    assert all(f.verdict is Verdict.NOT_RUN for f in report.by_step("P3"))


async def test_a_penalty_ticket_on_a_read_is_waited_out_and_resent_once_with_its_ticket(tmp_path: Path) -> None:
    async with TradovateSim(sim_config()) as sim:
        await sim.faults.apply({"kind": "penalty", "n": 1, "seconds": 0.2, "endpoint": "md/getChart"})
        target = resolve_target(rest_url=sim.rest_url, trading_ws_url=sim.trading_ws_url, md_ws_url=sim.md_ws_url)
        options = dataclasses.replace(FAST, duration_s=2.5)
        report = await run_probe(Settings(), credentials(), target, options, tmp_path)
        charts = sim.received_requests(endpoint="md/getChart")

    assert charts[0].json_body().get("p-ticket") is None
    assert charts[1].json_body().get("p-ticket")  # the identical request, with the ticket
    assert charts[1].json_body()["chartDescription"] == charts[0].json_body()["chartDescription"]
    penalties = next(f for f in report.by_step("P9") if "Penalty" in f.question)
    assert "1 penalty wait" in penalties.observation


async def test_refused_credentials_stop_the_probe_after_one_login_with_tradovates_reason(tmp_path: Path) -> None:
    wrong = credentials().model_copy(update={"password": SecretStr("not-the-password")})
    async with TradovateSim(sim_config()) as sim:
        target = resolve_target(rest_url=sim.rest_url, trading_ws_url=sim.trading_ws_url, md_ws_url=sim.md_ws_url)
        report = await run_probe(Settings(), wrong, target, FAST, tmp_path)
        logins = sim.received_requests(endpoint="auth/accesstokenrequest")

    assert len(logins) == 1
    assert "Incorrect username or password" in report.by_step("P1")[0].observation
    assert report.stopped_early is not None
    assert "not-the-password" not in (tmp_path / "capture.jsonl").read_text()
