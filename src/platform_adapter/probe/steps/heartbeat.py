"""P2: the server's `h` cadence while idle and while streaming (measured from the capture), and how soon
the server closes a socket whose client stops sending `[]` or never authorizes (discovery report §10.5)."""

from __future__ import annotations

import asyncio

import aiohttp

from platform_adapter.probe.analysis import Cadence, cadence, entitlement_shown, quotes, response_text
from platform_adapter.probe.findings import Verdict
from platform_adapter.probe.socket import ProbeSocket
from platform_adapter.probe.steps.context import ProbeContext
from platform_adapter.tradovate.errors import TradovateError

_EXPECTED_IDLE = "`h` about every 2.5 s while idle"
_EXPECTED_STREAM = "no `h` while data is streaming"


async def p2_heartbeat(ctx: ProbeContext) -> None:
    """Idle window on the trading socket, streaming window on the MD socket; close timers in the background."""
    session = ctx.session
    capture = session.capture
    capture.begin_step("P2", "heartbeats: server cadence idle/streaming; client silence and no-authorize close")
    ctx.background.append(asyncio.create_task(_silent_client(ctx), name="probe-p2-silent"))
    ctx.background.append(asyncio.create_task(_never_authorized(ctx), name="probe-p2-unauthorized"))
    trading = ctx.require_trading()
    window = ctx.options.window_s

    start, _ = capture.now()
    await trading.observe(window)
    end, _ = capture.now()
    idle = cadence(capture.records, trading.conn, start, end)
    median = idle.median_s
    ctx.add(
        "P2",
        "Server `h` cadence on an idle socket",
        f"{trading.conn} (authorized, nothing requested): {idle.describe()}",
        Verdict.INCONCLUSIVE if median is None else Verdict.AS_EXPECTED if 1.5 <= median <= 4.0 else Verdict.DIFFERS,
        "high" if len(idle.intervals_s) >= 3 else "medium",
        expected=_EXPECTED_IDLE,
        median_s=median,
        heartbeats=idle.heartbeats,
    )

    md = ctx.require_md()
    instrument = ctx.require_instrument()
    mark = len(md.received)
    answer = await md.request("md/subscribeQuote", {"symbol": instrument.contract_id})
    start, _ = capture.now()
    await md.observe(window)
    end, _ = capture.now()
    streaming = cadence(capture.records, md.conn, start, end)
    first = quotes(md.messages_since(mark), instrument.contract_id)
    ctx.notes["first_quote_entries"] = sorted(first[0].get("entries", {})) if first else None
    ctx.notes["quote_subscribed"] = answer.status == 200
    if streaming.data_frames == 0:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.AS_EXPECTED if streaming.heartbeats == 0 else Verdict.DIFFERS
    ctx.add(
        "P2",
        "Server `h` while streaming quotes",
        f"{md.conn} after md/subscribeQuote ({response_text(answer)}): {streaming.describe()}",
        verdict,
        "high" if streaming.data_frames >= 10 else "medium",
        expected=_EXPECTED_STREAM,
        heartbeats=streaming.heartbeats,
        data_frames=streaming.data_frames,
    )
    ctx.showed("md_entitlement", entitlement_shown(answer), "P2", f"md/subscribeQuote: {response_text(answer)}")
    _heartbeat_variant(ctx, idle, streaming)


def _heartbeat_variant(ctx: ProbeContext, idle: Cadence, streaming: Cadence) -> None:
    """`server_heartbeat`: `h` on an idle socket at a short cadence (idle, always) or not within the window."""
    if idle.heartbeats < 2:  # no cadence shorter than half the window: the SockJS-like 25 s (or slower)
        ctx.showed("server_heartbeat", "sockjs_25s", "P2", f"idle socket: {idle.describe()}")
    elif streaming.data_frames == 0:
        ctx.showed("server_heartbeat", None, "P2", f"idle: {idle.describe()}; no data streamed to tell idle/always")
    else:
        value = "always" if streaming.heartbeats else "idle"
        ctx.showed("server_heartbeat", value, "P2", f"idle: {idle.describe()}; streaming: {streaming.describe()}")


async def _silent_client(ctx: ProbeContext) -> None:
    """An authorized MD socket that never sends `[]`: how long until the server closes it, and how."""
    socket = ctx.session.socket("md", "silent")
    question = "Server closes a socket whose client sends no `[]`: after how long, with what?"
    try:
        await socket.open()
        await socket.authorize(ctx.md_token or "")
    except (TradovateError, aiohttp.ClientError, OSError) as exc:
        ctx.add("P2", question, f"could not set up the silent socket: {exc}", Verdict.FAILED, "-")
        return
    quiet_from = socket.last_sent_at
    await _report_close(ctx, socket, question, quiet_from, "after its last client frame")


async def _never_authorized(ctx: ProbeContext) -> None:
    """A trading socket that never authorizes: how long until the server closes it, and how."""
    socket = ctx.session.socket("trading", "unauthorized")
    question = "Server closes a socket that never authorizes: after how long, with what?"
    try:
        await socket.open()
    except (TradovateError, aiohttp.ClientError, OSError) as exc:
        ctx.add("P2", question, f"could not open the socket: {exc}", Verdict.FAILED, "-")
        return
    await _report_close(ctx, socket, question, ctx.session.clock.monotonic(), "after `o`")


async def _report_close(ctx: ProbeContext, socket: ProbeSocket, question: str, since: float | None, what: str) -> None:
    try:
        await socket.observe(ctx.options.close_wait_s)
    finally:
        if not socket.closed.is_set():
            open_for = ctx.session.clock.monotonic() - (since or 0.0)
            ctx.add(
                "P2",
                question,
                f"{socket.conn}: still open {open_for:.1f} s {what} (bound reached; the probe closed it)",
                Verdict.INCONCLUSIVE,
                "medium",
                expected="closed soon (delay undocumented)",
            )
            await socket.close()
        else:
            after = (socket.closed_at or 0.0) - (since or 0.0)
            frame = socket.close_frame
            how = f"close frame c[{frame.code},{frame.reason!r}]" if frame else "no close frame"
            ctx.add(
                "P2",
                question,
                f"{socket.conn}: closed {after:.1f} s {what}; {how}; WebSocket close code {socket.close_code}",
                Verdict.AS_EXPECTED,
                expected="closed soon (delay undocumented)",
                close_after_s=after,
            )
