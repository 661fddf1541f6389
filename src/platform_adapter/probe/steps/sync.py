"""P6: the shape of the `user/syncrequest` snapshot with and without `splitResponses` (one response or
several with the same id? an end marker?) and whether `accounts` + `entityTypes` is accepted
(discovery report §13.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from platform_adapter.probe.analysis import payload
from platform_adapter.probe.findings import Verdict
from platform_adapter.probe.steps.context import ProbeContext
from platform_adapter.tradovate.protocol import Message, Response

# The PA's default entity list (discovery report §13.2).
ENTITY_TYPES = (
    "account",
    "accountRiskStatus",
    "cashBalance",
    "command",
    "commandReport",
    "contract",
    "executionReport",
    "fill",
    "fillPair",
    "marginSnapshot",
    "order",
    "orderStrategy",
    "orderStrategyLink",
    "orderVersion",
    "position",
    "user",
    "userAccountAutoLiq",
)


async def p6_user_sync(ctx: ProbeContext) -> None:
    """Three sync requests on the trading socket; count the responses each gets and what they hold."""
    ctx.session.capture.begin_step("P6", "user/syncrequest with and without splitResponses")
    trading = ctx.require_trading()
    variants: list[tuple[str, dict[str, Any]]] = []
    if ctx.user_id is not None:
        variants.append(("{users}", {"users": [ctx.user_id]}))
        variants.append(("{users, splitResponses:true}", {"users": [ctx.user_id], "splitResponses": True}))
    if ctx.account is not None and ctx.account.id is not None:
        body = {"accounts": [ctx.account.id], "splitResponses": True, "entityTypes": list(ENTITY_TYPES)}
        variants.append(("{accounts, splitResponses:true, entityTypes} (the PA's default)", body))
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
