"""`/metrics` and `/healthz` on 127.0.0.1 against a running simulator + PA, read with an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from platform_adapter.config import OutboxSettings
from platform_adapter.mic import HealthState, OrderAction
from platform_adapter.operator import OperatorEndpoints, OperatorMetrics
from tests.integration.harness import ACCOUNT_ID, Harness

from .running import running_with_tap

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@asynccontextmanager
async def serving(
    h: Harness, metrics: OperatorMetrics
) -> AsyncIterator[tuple[OperatorEndpoints, aiohttp.ClientSession]]:
    endpoints = OperatorEndpoints(h.stack.adapter.health, metrics, port=0)
    await endpoints.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            yield endpoints, http
    finally:
        await endpoints.stop()


async def scrape(endpoints: OperatorEndpoints, http: aiohttp.ClientSession) -> Samples:
    async with http.get(f"{endpoints.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def healthz(endpoints: OperatorEndpoints, http: aiohttp.ClientSession) -> tuple[int, dict[str, object]]:
    async with http.get(f"{endpoints.url}/healthz") as response:
        body: dict[str, object] = await response.json()
        return response.status, body


async def test_endpoints_bind_to_localhost_on_a_free_port(monkeypatch: pytest.MonkeyPatch) -> None:
    async with (
        running_with_tap(monkeypatch) as (h, tap),
        serving(h, OperatorMetrics(h.stack.adapter, h.stack.platform, tap)) as (endpoints, _),
    ):
        assert endpoints.port
        assert endpoints.url == f"http://127.0.0.1:{endpoints.port}"


async def test_healthz_is_200_only_while_pa_up_and_503_while_reconnecting_and_when_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running_with_tap(monkeypatch) as (h, tap):
        await h.up()
        async with serving(h, OperatorMetrics(h.stack.adapter, h.stack.platform, tap)) as (endpoints, http):
            status, body = await healthz(endpoints, http)
            assert status == 200
            assert (body["state"], body["halt_required"], body["reasons"]) == ("PA_UP", False, [])
            await h.sim.faults.down()
            await h.until(lambda: h.stack.adapter.health.state is not HealthState.UP, what="reconnecting")
            status, body = await healthz(endpoints, http)
            assert status == 503
            assert (body["state"], body["halt_required"]) == ("PA_DEGRADED", True)
            assert body["reasons"] and body["detail"]
            assert "link.md" in body["conditions"]  # type: ignore[operator]
            await h.advance(40.0, step=0.5)  # past the 30 s give-up window
            await h.until(lambda: h.stack.adapter.health.state is HealthState.DOWN, what="PA_DOWN")
            status, body = await healthz(endpoints, http)
            assert status == 503
            assert (body["state"], body["halt_required"]) == ("PA_DOWN", True)
            assert "gave_up" in body["reasons"]  # type: ignore[operator]
            samples = await scrape(endpoints, http)
            assert samples[("pa_health_state", (("state", "PA_DOWN"),))] == 1
            assert samples[("pa_health_halt_required", ())] == 1
            assert samples[("pa_health_reason", (("reason", "gave_up"),))] == 1
            assert samples[("pa_reconnects_total", (("socket", "md"),))] >= 1
            assert samples[("pa_socket_up", (("socket", "md"),))] == 0


async def test_metrics_carry_frames_facts_gaps_shed_reconnects_ack_latency_depth_and_health(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outbox = OutboxSettings(capacity=100_000, telemetry_capacity=1)
    async with running_with_tap(monkeypatch, outbox=outbox) as (h, tap):
        metrics = OperatorMetrics(h.stack.adapter, h.stack.platform, tap)
        batches_before = tap.batches
        await h.up()
        ack = await h.oe.submit_market(ACCOUNT_ID, "ESZ6", OrderAction.BUY, 1)
        await h.oe.wait_outcome(ack.intent_id, {"Filled"}, timeout=10)
        await h.sim.faults.close_sockets("md")
        await h.until(lambda: h.stack.adapter.health.state is not HealthState.UP, what="degraded")
        await h.advance(5.0)
        await h.up()
        await h.sim.step_market(40)
        await h.drained()
        for i in range(3):  # a full telemetry lane sheds its oldest record
            h.stack.adapter.outbox.put_telemetry({"event": "probe", "i": i})
        async with serving(h, metrics) as (endpoints, http):
            samples = await scrape(endpoints, http)
        assert samples[("pa_frames_total", (("socket", "md"),))] > 0
        assert samples[("pa_frames_total", (("socket", "trading"),))] > 0
        assert samples[("pa_facts_total", (("kind", "market"),))] > 0
        assert samples[("pa_facts_total", (("kind", "gap"),))] >= 1
        assert samples[("pa_facts_by_stream_total", (("stream", "quote"),))] > 0
        assert samples[("pa_facts_delivered_total", ())] == h.stack.adapter.outbox.counters.delivered
        assert samples[("pa_gaps_total", ())] >= 1
        assert samples[("pa_telemetry_shed_total", ())] >= 2
        assert samples[("pa_reconnects_total", (("socket", "md"),))] == 1
        assert samples[("pa_socket_epoch", (("socket", "md"),))] == 2
        assert samples[("pa_penalty_tickets_total", ())] == 0
        assert samples[("pa_intent_acks_total", (("status", "accepted"),))] == 1
        assert samples[("pa_intent_ack_latency_seconds_count", ())] == 1
        assert samples[("pa_fact_delivery_lag_seconds_count", ())] == tap.batches - batches_before > 0
        assert samples[("pa_outbox_depth", ())] == 0
        assert samples[("pa_outbox_capacity", ())] == 100_000
        assert samples[("pa_outbox_watermark", (("level", "high"),))] == 50_000
        assert samples[("pa_health_state", (("state", "PA_UP"),))] == 1
        assert samples[("pa_health_state", (("state", "PA_DEGRADED"),))] == 0


async def test_a_penalty_ticket_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    def arm(sim: object) -> None:
        sim.faults.penalty(n=1, seconds=15, endpoint="auth/accesstokenrequest")  # type: ignore[attr-defined]

    async with running_with_tap(monkeypatch, arm=arm) as (h, tap):
        await h.until(lambda: h.stack.platform.budget.penalties == 1, what="penalty")
        metrics = OperatorMetrics(h.stack.adapter, h.stack.platform, tap)
        async with serving(h, metrics) as (endpoints, http):
            samples = await scrape(endpoints, http)
            status, body = await healthz(endpoints, http)
        assert samples[("pa_penalty_tickets_total", ())] == 1
        assert samples[("pa_health_reason", (("reason", "penalty_wait"),))] == 1
        assert status == 503 and "penalty_wait" in body["reasons"]  # type: ignore[operator]
