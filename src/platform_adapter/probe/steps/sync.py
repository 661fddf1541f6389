"""P6: the shape of the `user/syncrequest` snapshot with and without `splitResponses` (one response or
several with the same id? an end marker?), whether a body without `entityTypes` still gets the account's entities,
and whether the PA's own body (`accounts` + `entityTypes`, with `splitResponses` when configured) is accepted
(discovery report §13.2; ADR 0015)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from platform_adapter.probe.analysis import payload
from platform_adapter.probe.findings import Verdict
from platform_adapter.probe.steps.context import ProbeContext
from platform_adapter.tradovate.protocol import Message, Response
from platform_adapter.tradovate.user_sync import sync_body


async def p6_user_sync(ctx: ProbeContext) -> None:
    """Three sync requests on the trading socket; count the responses each gets and what they hold."""
    ctx.session.capture.begin_step("P6", "user/syncrequest with and without splitResponses")
    trading = ctx.require_trading()
    variants: list[tuple[str, dict[str, Any]]] = []
    if ctx.user_id is not None:
        variants.append((_USERS, {"users": [ctx.user_id]}))
        variants.append((_SPLIT, {"users": [ctx.user_id], "splitResponses": True}))
    if ctx.account is not None and ctx.account.id is not None:
        split = ctx.session.settings.sync_split_responses
        body = sync_body([ctx.account.id], ctx.user_id, split_responses=split)
        variants.append((f"{{accounts, entityTypes{', splitResponses:true' if split else ''}}} (the PA's body)", body))
    for name, body in variants:
        mark = len(trading.received)
        first = await trading.request("user/syncrequest", body)
        request_id = first.request_id
        parts: list[Response] = []
        while True:  # further parts share the request id; the snapshot is complete after a quiet period
            found = await trading.wait_for(_response_to(request_id), ctx.options.quiet_s, start=mark)
            if found is None:
                break
            assert isinstance(found.message, Response)
            parts.append(found.message)
            mark = trading.received.index(found, mark) + 1
        shapes = [_shape(part) for part in parts]
        _sync_variant(ctx, name, parts)
        arrays = sum(len(s[1]) for s in shapes)
        accounts = sum(s[1].get("accounts", 0) for s in shapes)
        refused = any(part.status != 200 for part in parts)
        observation = f"{len(parts)} response(s) with i={first.request_id}: " + "; ".join(
            f"s={status} {_describe(arrays_)}" for status, arrays_ in shapes
        )
        ctx.add(
            "P6",
            f"user/syncrequest {name}: how many responses, holding what?",
            observation,
            Verdict.DIFFERS if refused or accounts == 0 else Verdict.AS_EXPECTED,
            expected="accepted; accounts present; a split snapshot's parts share the request id",
            responses=len(parts),
            arrays=arrays,
            accounts=accounts,
        )


_USERS = "{users}"
_SPLIT = "{users, splitResponses:true}"


def _sync_variant(ctx: ProbeContext, name: str, parts: list[Response]) -> None:
    """`sync_entity_types` from the body without entityTypes; `sync_split` from the one asking for a split."""
    bodies = [payload(part) for part in parts if part.status == 200]
    objects = [d for d in bodies if isinstance(d, dict)]
    if not objects:
        return
    if name == _USERS:
        accounts = sum(len(d["accounts"]) for d in objects if isinstance(d.get("accounts"), list))
        value = "optional" if accounts else "required"
        ctx.showed("sync_entity_types", value, "P6", f"{{users}} without entityTypes: {accounts} account(s) in it")
    elif name == _SPLIT:
        nulls = sum(1 for d in objects for v in d.values() if v is None)
        value = "single" if len(parts) == 1 else "multi_null_lists" if nulls else "multi_same_id"
        ctx.showed("sync_split", value, "P6", f"{len(parts)} response(s) with the request's id, {nulls} null list(s)")


def _response_to(request_id: int) -> Callable[[Message], bool]:
    return lambda m: isinstance(m, Response) and m.request_id == request_id


def _shape(response: Response) -> tuple[int, dict[str, int]]:
    d = payload(response)
    if not isinstance(d, dict):
        return response.status, {}
    return response.status, {key: len(value) for key, value in d.items() if isinstance(value, list)}


def _describe(arrays: dict[str, int]) -> str:
    filled = [f"{key}:{count}" for key, count in arrays.items() if count]
    return f"{len(arrays)} arrays ({', '.join(filled) or 'all empty'})"
