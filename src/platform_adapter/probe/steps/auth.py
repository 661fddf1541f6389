"""P1: token response fields, `expirationTime` format and lifetime, which token the MD socket takes,
and what renewal does (discovery report §3, §10.6). Also opens the two sockets the later steps use."""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from typing import Any

from platform_adapter.config import InstrumentSettings
from platform_adapter.probe.analysis import parse_iso, response_text
from platform_adapter.probe.capture import CaptureRecord
from platform_adapter.probe.findings import Verdict
from platform_adapter.probe.steps.context import ProbeContext
from platform_adapter.telemetry import redactor
from platform_adapter.tradovate.contracts import load_reference_data
from platform_adapter.tradovate.errors import PlatformStatusError, Unauthorized
from platform_adapter.tradovate.protocol import AccessTokenResponse, decode_model

_ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(?P<frac>\d+))?Z$")


async def p1_auth(ctx: ProbeContext) -> None:
    """Log in, resolve the symbol and accounts the way the PA does, open and authorize both sockets, renew."""
    session = ctx.session
    session.capture.begin_step("P1", "auth: token fields, expiry format and lifetime, renewal")
    tokens = session.tokens
    ctx.access_token = await tokens.access_token()
    ctx.md_token = await tokens.md_token()
    ctx.user_id = tokens.user_id
    issued = _last_http(session.capture.records, "auth/accesstokenrequest")
    body = _json_object(issued.text) if issued else {}
    _report_token(ctx, body, issued)

    settings = session.settings.model_copy(
        update={"instruments": (InstrumentSettings(symbol=ctx.options.symbol, timeframes=("1m",)),), "accounts": ()}
    )
    reference = await load_reference_data(session.rest, settings)  # contract/find + account/list, as the PA does
    ctx.instrument = reference.instruments[ctx.options.symbol]
    ctx.account = next(iter(reference.accounts.values()), None)

    ctx.trading = session.socket("trading")
    await ctx.trading.open()
    ctx.trading.start_heartbeats()
    trading_ack = await ctx.trading.authorize(ctx.access_token)
    ctx.md = session.socket("md")
    await ctx.md.open()
    ctx.md.start_heartbeats()
    md_ack = await ctx.md.authorize(ctx.md_token)
    which = "mdAccessToken" if ctx.md_token != ctx.access_token else "accessToken (no mdAccessToken was issued)"
    ctx.add(
        "P1",
        "Which token authorizes the market-data socket?",
        f"MD socket authorized with {which}: {response_text(md_ack)}; trading socket with accessToken: "
        f"{response_text(trading_ack)}",
        Verdict.AS_EXPECTED if md_ack.status == 200 and trading_ack.status == 200 else Verdict.DIFFERS,
        expected="mdAccessToken if present, else accessToken",
    )
    await _renewal(ctx)


def _report_token(ctx: ProbeContext, body: dict[str, Any], record: CaptureRecord | None) -> None:
    fields = sorted(body)
    present = "present" if body.get("mdAccessToken") else "absent"
    ctx.showed("login_md_token", present, "P1", f"mdAccessToken {present} in the accesstokenrequest answer")
    ctx.add(
        "P1",
        "Is `mdAccessToken` in the token response? Which fields come back?",
        f"mdAccessToken {'present' if 'mdAccessToken' in body else 'ABSENT'}; fields: {', '.join(fields)}",
        Verdict.AS_EXPECTED,
        expected="maybe (current partner docs show it; the 2021 OpenAPI file does not)",
        fields=fields,
    )
    expiration = body.get("expirationTime")
    if not isinstance(expiration, str):
        ctx.add(
            "P1", "`expirationTime` format and token lifetime", "no expirationTime in the response", Verdict.DIFFERS
        )
        return
    match = _ISO_Z.match(expiration)
    shape = "ISO-8601 UTC with `Z`" + (f", {len(match['frac'])}-digit fraction" if match and match["frac"] else "")
    expires = parse_iso(expiration)
    issued_at, clock_name = _issue_time(record)
    lifetime_min = (expires.timestamp() - issued_at) / 60 if expires is not None and issued_at is not None else None
    ok = match is not None and lifetime_min is not None and 75 <= lifetime_min <= 95
    if match is not None:
        millis = match["frac"] is not None and len(match["frac"]) == 3
        ctx.showed("expiration_format", "millis" if millis else "seconds", "P1", f"expirationTime `{expiration}`")
    else:
        ctx.showed("expiration_format", None, "P1", f"expirationTime `{expiration}` is not ISO-8601 with `Z`")
    lifetime = (
        None
        if lifetime_min is None
        else "80min"
        if 75 <= lifetime_min < 85
        else "90min"
        if 85 <= lifetime_min <= 95
        else None
    )
    ctx.showed(
        "token_lifetime",
        lifetime,
        "P1",
        f"{lifetime_min:.1f} min from issue ({clock_name})" if lifetime_min is not None else "lifetime unknown",
    )
    ctx.add(
        "P1",
        "`expirationTime` format and token lifetime (80 vs 90 min)",
        f"`{expiration}` ({shape if match else 'NOT ISO-8601 Z'}); lifetime "
        + (f"{lifetime_min:.1f} min from issue ({clock_name})" if lifetime_min is not None else "unknown"),
        Verdict.AS_EXPECTED if ok else Verdict.DIFFERS,
        expected="ISO-8601 `Z`; 80 or 90 min (sources disagree)",
        expiration_time=expiration,
        lifetime_min=lifetime_min,
    )


def _issue_time(record: CaptureRecord | None) -> tuple[float | None, str]:
    if record is None:
        return None, "unknown"
    date = (record.headers or {}).get("Date")
    if date:
        try:
            return parsedate_to_datetime(date).timestamp(), "server Date header"
        except (TypeError, ValueError):
            pass
    return record.wall_ns / 1e9, "local clock at receipt"


async def _renewal(ctx: ProbeContext) -> None:
    session = ctx.session
    old = ctx.access_token
    try:
        content = await session.rest.get("auth/renewaccesstoken")
    except (PlatformStatusError, Unauthorized) as exc:
        ctx.add("P1", "What does `auth/renewaccesstoken` return?", f"renewal refused: {exc}", Verdict.DIFFERS)
        return
    renewed = decode_model(AccessTokenResponse, content)
    if not isinstance(renewed, AccessTokenResponse) or not renewed.access_token:
        ctx.add("P1", "What does `auth/renewaccesstoken` return?", f"no token: {content[:200]!r}", Verdict.DIFFERS)
        return
    new = renewed.access_token
    renewed_md = "present" if renewed.md_access_token else "absent"
    ctx.showed("renew_md_token", renewed_md, "P1", f"mdAccessToken {renewed_md} in the renewaccesstoken answer")
    redactor().add([new, renewed.md_access_token or ""])
    session.capture.masker.learn([new, renewed.md_access_token or ""])
    session.rest.token = new
    ctx.access_token = new
    if renewed.md_access_token:
        ctx.md_token = renewed.md_access_token
    try:
        socket_status = (await ctx.require_trading().request("account/list")).status
    except Unauthorized:  # the session's decision on a 401; here it is the answer being observed
        socket_status = 401
    session.rest.token = old
    try:
        await session.rest.get("auth/me")
        old_state = "still accepted by REST (auth/me 200)"
    except Unauthorized:
        old_state = "refused by REST (401)"
    except PlatformStatusError as exc:
        old_state = f"REST answered {exc.status}"
    finally:
        session.rest.token = new
    ctx.add(
        "P1",
        "Does renewal return a new token string? Must an open socket re-authorize?",
        f"renewal returned {'a NEW' if new != old else 'the SAME'} accessToken string, expirationTime "
        f"{renewed.expiration_time}; the open trading socket answered account/list with s={socket_status} "
        f"without a new authorize; the previous token is {old_state}",
        Verdict.AS_EXPECTED if socket_status == 200 else Verdict.DIFFERS,
        expected="open sockets keep working after renewal (the PA does not re-authorize them)",
        new_token=new != old,
        socket_status=socket_status,
    )


def _last_http(records: list[CaptureRecord], endpoint: str) -> CaptureRecord | None:
    for record in reversed(records):
        if record.kind == "http" and record.dir == "recv" and record.endpoint == endpoint:
            return record
    return None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
