"""`run_probe`: the steps in order, under one time bound, stopping at the first lock-out or refused login."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from platform_adapter.config import Credentials, Settings
from platform_adapter.core.clock import Clock, SystemClock
from platform_adapter.probe.capture import CaptureWriter
from platform_adapter.probe.findings import ProbeReport, Verdict
from platform_adapter.probe.masking import CaptureMasker
from platform_adapter.probe.session import open_session
from platform_adapter.probe.steps.auth import p1_auth
from platform_adapter.probe.steps.cancel import p8_cancel_chart
from platform_adapter.probe.steps.charts import p3_chart_types, p4_tick_order
from platform_adapter.probe.steps.context import ProbeContext, ProbeOptions
from platform_adapter.probe.steps.heartbeat import p2_heartbeat
from platform_adapter.probe.steps.limits import p9_limits
from platform_adapter.probe.steps.orders import p7_order_identifiers
from platform_adapter.probe.steps.reconnect import p5_reconnect
from platform_adapter.probe.steps.sync import p6_user_sync
from platform_adapter.probe.target import ProbeRefused, ProbeTarget, TargetKind, check_target
from platform_adapter.probe.variants import completed
from platform_adapter.telemetry import get_logger, redactor
from platform_adapter.tradovate.errors import AuthFailed, CaptchaRequired, RateLimited, TradovateError

_log = get_logger("pa.probe")

Step = Callable[[ProbeContext], Awaitable[None]]

# P8 runs before P5 (P5 replaces the market-data socket); P9 reads the capture at the end.
STEPS: tuple[tuple[str, str, Step], ...] = (
    ("P1", "auth", p1_auth),
    ("P2", "heartbeats", p2_heartbeat),
    ("P3", "chart types", p3_chart_types),
    ("P4", "tick order", p4_tick_order),
    ("P8", "md/cancelChart ids", p8_cancel_chart),
    ("P5", "forced reconnect", p5_reconnect),
    ("P6", "user/syncrequest", p6_user_sync),
    ("P7", "order identifiers", p7_order_identifiers),
)
_STOPPERS = (AuthFailed, CaptchaRequired, RateLimited)  # retrying would only make things worse
_STEP_ORDER = {name: index for index, name in enumerate(("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"))}


def check_credentials(target: ProbeTarget, credentials: Credentials) -> None:
    """A real Tradovate needs the user's own login; only the simulator has a built-in one."""
    if target.kind is TargetKind.SIMULATOR:
        return
    missing = [name for name in ("username", "password") if getattr(credentials, name) is None]
    if missing:
        raise ProbeRefused(
            f"no Tradovate {' / '.join(missing)}: set PA_TRADOVATE_USERNAME, PA_TRADOVATE_PASSWORD, "
            "PA_TRADOVATE_APP_ID, PA_TRADOVATE_APP_VERSION, PA_TRADOVATE_CID, PA_TRADOVATE_SEC and "
            "PA_TRADOVATE_DEVICE_ID in the environment, or as files of those names in PA_SECRETS_DIR"
        )


async def run_probe(
    settings: Settings,
    credentials: Credentials,
    target: ProbeTarget,
    options: ProbeOptions,
    out_dir: Path,
    *,
    clock: Clock | None = None,
) -> ProbeReport:
    """Run P1-P9 against `target` within `options.duration_s`; write capture.jsonl, findings.json/.md to `out_dir`."""
    check_target(target, force_live=options.force_live)
    check_credentials(target, credentials)
    clock = clock or SystemClock()
    secrets = [s.get_secret_value() for s in (credentials.password, credentials.sec) if s is not None]
    redactor().add(credentials.secret_values())
    capture = CaptureWriter(out_dir / "capture.jsonl", CaptureMasker(secrets), clock)
    capture.header(
        {
            "target": target.kind.value,
            "restUrl": target.rest_url,
            "tradingWsUrl": target.trading_ws_url,
            "mdWsUrl": target.md_ws_url,
            "symbol": options.symbol,
            "options": {k: v for k, v in options.__dict__.items() if k != "symbol"},
        }
    )
    report = ProbeReport(target.describe(), target.kind.value, str(capture.path), started_wall_ns=clock.now_ns())
    deadline = clock.monotonic() + options.duration_s
    try:
        async with open_session(
            target, settings, credentials, capture, clock, heartbeat_s=options.heartbeat_s
        ) as session:
            ctx = ProbeContext(session, options, report)
            try:
                await _run_steps(ctx, deadline)
                await ctx.finish_background(min(options.close_wait_s, deadline - clock.monotonic()))
            finally:
                await ctx.finish_background(0)
                p9_limits(ctx)
    finally:
        capture.close()
    report.findings.sort(key=lambda f: _STEP_ORDER.get(f.step, 99))
    report.variants = completed(report.variants)
    report.finished_wall_ns = clock.now_ns()
    (out_dir / "findings.json").write_text(capture.masker.text(report.to_json()), encoding="utf-8")
    (out_dir / "findings.md").write_text(capture.masker.text(report.to_markdown()), encoding="utf-8")
    return report


async def _run_steps(ctx: ProbeContext, deadline: float) -> None:
    clock = ctx.session.clock
    for index, (name, title, step) in enumerate(STEPS):
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            _not_run(ctx, index, f"--duration ({ctx.options.duration_s:.0f} s) reached")
            return
        bound = asyncio.timeout(remaining)
        try:
            async with bound:
                await step(ctx)
        except TimeoutError as exc:
            if not bound.expired():
                ctx.add(name, title, f"failed: {type(exc).__name__}: {exc}", Verdict.FAILED, "-")
                continue
            ctx.add(name, title, f"cut short: --duration ({ctx.options.duration_s:.0f} s) reached", Verdict.FAILED, "-")
            _not_run(ctx, index + 1, f"--duration ({ctx.options.duration_s:.0f} s) reached")
            return
        except _STOPPERS as exc:
            ctx.add(name, title, f"stopped: {exc}", Verdict.FAILED, "-")
            _not_run(ctx, index + 1, f"stopped after {name}: {type(exc).__name__}")
            return
        except (TradovateError, aiohttp.ClientError, OSError, RuntimeError, json.JSONDecodeError) as exc:
            _log.warning("probe_step_failed", step=name, error=f"{type(exc).__name__}: {exc}")
            ctx.add(name, title, f"failed: {type(exc).__name__}: {exc}", Verdict.FAILED, "-")
            if name == "P1":  # nothing else can run without a login and sockets
                _not_run(ctx, index + 1, "P1 failed")
                return


def _not_run(ctx: ProbeContext, start: int, why: str) -> None:
    ctx.report.stopped_early = ctx.report.stopped_early or why
    for name, title, _ in STEPS[start:]:
        ctx.add(name, title, f"not run: {why}", Verdict.NOT_RUN, "-")
