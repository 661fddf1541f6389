"""Acceptance A, authentication: penalty tickets, captcha, 429, token renewal ahead of expiry, revoked tokens."""

from __future__ import annotations

import json

from pydantic import SecretStr

from platform_adapter.config import Credentials
from platform_adapter.mic import HealthReason, HealthState

from .harness import Transport, running


async def test_a_penalty_ticket_on_login_is_waited_out_and_the_same_body_resent_with_the_ticket(
    transport: Transport,
) -> None:
    async with running(
        transport, arm=lambda sim: sim.faults.penalty(n=1, seconds=15, endpoint="auth/accesstokenrequest")
    ) as h:
        await h.until(lambda: HealthReason.PENALTY_WAIT in h.stack.adapter.health.current.reasons, what="penalty")
        requests = h.sim.received_requests("auth/accesstokenrequest")
        assert len(requests) == 1
        await h.advance(14.0, step=1.0)
        assert len(h.sim.received_requests("auth/accesstokenrequest")) == 1  # still waiting p-time
        await h.advance(2.0, step=1.0)
        await h.up()
        first, second = h.sim.received_requests("auth/accesstokenrequest")
        resent = json.loads(second.body)
        assert resent.pop("p-ticket")  # the ticket the simulator issued
        assert resent == json.loads(first.body)  # otherwise the identical body


async def test_a_captcha_is_pa_down_with_a_reason_the_operator_can_act_on(transport: Transport) -> None:
    async with running(
        transport, arm=lambda sim: sim.faults.penalty(n=5, seconds=5, captcha=True, endpoint="auth/accesstokenrequest")
    ) as h:
        await h.until(lambda: h.stack.adapter.health.state is HealthState.DOWN, what="PA_DOWN")
        signal = h.stack.adapter.health.current
        assert HealthReason.CAPTCHA_REQUIRED in signal.reasons
        assert signal.halt_required
        assert "captcha" in signal.detail
        assert "hour" in signal.detail
        await h.advance(30.0, step=1.0)
        assert len(h.sim.received_requests("auth/accesstokenrequest")) == 1  # no retry storm


async def test_a_429_locks_every_request_out_and_reports_pa_down(transport: Transport) -> None:
    async with running(transport, arm=lambda sim: sim.faults.rate_limit(n=1, endpoint="account/list")) as h:
        await h.until(lambda: h.stack.adapter.health.state is HealthState.DOWN, what="PA_DOWN")
        assert HealthReason.RATE_LIMITED in h.stack.adapter.health.current.reasons
        await h.advance(60.0, step=2.0)
        assert len(h.sim.received_requests("account/list")) == 1  # the shared budget holds every request


async def test_the_token_is_renewed_fifteen_minutes_before_it_lapses(transport: Transport) -> None:
    async with running(transport, sim_overrides={"token_lifetime_s": 5400.0}) as h:  # Tradovate's 90-minute token
        await h.up()
        await h.advance(4470.0, step=30.0)
        assert h.sim.received_requests("auth/renewaccesstoken") == []
        await h.advance(60.0, step=30.0)
        await h.until(lambda: len(h.sim.received_requests("auth/renewaccesstoken")) == 1, what="renewal")
        assert h.stack.adapter.health.state is HealthState.UP
        assert len(h.sim.received_requests("auth/accesstokenrequest")) == 1  # renewed, not a new session


async def test_a_revoked_token_is_replaced_and_the_sockets_reauthorize(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        h.sim.faults.revoke_tokens()
        await h.sim.faults.close_sockets("all")
        await h.advance(6.0)
        await h.up()
        assert len(h.sim.received_requests("auth/accesstokenrequest")) == 2
        authorizes = [r for r in h.sim.received_frames() if r.text.startswith("authorize\n")]
        assert len(authorizes) >= 4


async def test_a_short_lived_token_is_renewed_half_way_not_in_a_loop(transport: Transport) -> None:
    async with running(
        transport, sim_overrides={"token_lifetime_s": 600.0}
    ) as h:  # shorter than the 15 min renew-ahead
        await h.up()
        await h.advance(290.0, step=5.0)
        assert h.sim.received_requests("auth/renewaccesstoken") == []
        await h.advance(20.0, step=5.0)
        await h.until(lambda: len(h.sim.received_requests("auth/renewaccesstoken")) == 1, what="renewal")
        await h.advance(60.0, step=5.0)
        assert len(h.sim.received_requests("auth/renewaccesstoken")) == 1  # once per half-life, no storm


async def test_a_short_lived_token_is_renewed_and_the_md_socket_reconnects_after_the_login_md_token_lapsed(
    transport: Transport,
) -> None:
    # The renewal carries no mdAccessToken (simulator default `renew_md_token=absent`: the renewal schema has none):
    # the login's md token lapses at the login's expiry, so a reconnecting md socket must use the renewed token.
    async with running(transport, sim_overrides={"token_lifetime_s": 600.0}) as h:
        await h.up()
        await h.advance(310.0, step=5.0)
        await h.until(lambda: len(h.sim.received_requests("auth/renewaccesstoken")) == 1, what="renewal")
        await h.advance(300.0, step=5.0)  # past the login's expiry: its md token is dead
        md = h.stack.platform.md
        assert md is not None
        await h.sim.faults.close_sockets("md")
        await h.until(lambda: not md.ready.is_set(), what="md down")
        await h.advance(5.0)
        await h.up()
        assert md.epoch == 2
        assert len(h.sim.received_requests("auth/accesstokenrequest")) == 1  # no new session (login limit)
        assert HealthReason.TOKEN_EXPIRED not in [r for s in h.oe.health_transitions() for r in s.reasons]


async def test_a_dead_connections_routes_are_forgotten(transport: Transport) -> None:
    async with running(transport) as h:
        await h.up()
        builder = h.stack.platform.builder
        assert builder is not None
        for _ in range(3):
            await h.sim.faults.close_sockets("md")
            await h.until(lambda: not h.stack.platform.md.ready.is_set(), what="md down")  # type: ignore[union-attr]
            await h.advance(5.0)
            await h.up()
        live = builder.correlation.chart_connections()
        assert live == {h.stack.platform.md.context.connection_id}  # type: ignore[union-attr]


async def test_a_rejected_password_is_pa_down_auth_rejected_and_never_retried_until_reloaded(
    transport: Transport,
) -> None:
    # Issue 15: a wrong password was retried at every backoff step, which on real Tradovate earns a captcha.
    async with running(transport, sim_overrides={"password": "rotated-password"}) as h:
        await h.until(lambda: h.stack.adapter.health.state is HealthState.DOWN, what="PA_DOWN")
        await h.advance(3600.0, step=30.0)  # an hour of backoff steps, give-up windows and renewal checks
        assert len(h.sim.received_requests("auth/accesstokenrequest")) == 1
        signal = h.stack.adapter.health.current
        assert (signal.state, signal.halt_required) == (HealthState.DOWN, True)
        assert HealthReason.AUTH_REJECTED in signal.reasons
        assert "Incorrect username or password" in signal.detail
        assert "SIGHUP" in signal.detail
        assert h.stack.platform.tokens is not None
        assert h.stack.platform.tokens.rejected

        assert h.stack.platform.retry_login(Credentials(password=SecretStr("rotated-password")))
        await h.advance(5.0)
        await h.up()
        assert len(h.sim.received_requests("auth/accesstokenrequest")) == 2
        assert HealthReason.AUTH_REJECTED not in h.stack.adapter.health.current.reasons


async def test_a_reload_with_the_same_wrong_password_sends_exactly_one_more_login(transport: Transport) -> None:
    async with running(transport, sim_overrides={"password": "rotated-password"}) as h:
        await h.until(lambda: HealthReason.AUTH_REJECTED in h.stack.adapter.health.current.reasons, what="rejected")
        assert h.stack.platform.retry_login(Credentials())
        await h.advance(600.0, step=30.0)
        assert len(h.sim.received_requests("auth/accesstokenrequest")) == 2
        assert HealthReason.AUTH_REJECTED in h.stack.adapter.health.current.reasons


async def test_a_captcha_on_a_chart_request_is_reported_as_what_it_is_not_as_a_login_problem(
    transport: Transport,
) -> None:
    # Issue 15: a captcha on md/getChart was reported as "too many login attempts".
    async with running(
        transport, arm=lambda sim: sim.faults.penalty(n=1, seconds=5, captcha=True, endpoint="md/getChart")
    ) as h:
        await h.until(lambda: HealthReason.CAPTCHA_REQUIRED in h.stack.adapter.health.current.reasons, what="captcha")
        detail = h.stack.adapter.health.current.detail
        assert "captcha on md/getChart" in detail
        assert "too many requests" in detail
        assert "login attempts" not in detail
        assert "resumes by itself" in detail
