"""P7 (only with --allow-orders, only on demo or the loopback simulator): one Buy Limit of 1 far below the
market, cancelled at once, to see the identifiers Tradovate gives (orderId, commandId), whether `clOrdId`
and `customTag50` are echoed on the Command, OrderVersion.id vs Command.id, and the shape of a business
reject (a Limit without a price). Discovery report §9, §11."""

from __future__ import annotations

import math
import uuid
from typing import Any

from platform_adapter.probe.analysis import payload, quotes, response_text
from platform_adapter.probe.findings import Verdict
from platform_adapter.probe.socket import Received
from platform_adapter.probe.steps.context import ProbeContext
from platform_adapter.probe.target import orders_refusal
from platform_adapter.tradovate.errors import ConnectionLost, RequestTimeout
from platform_adapter.tradovate.protocol import Event, Response

FAR_BELOW = 0.8  # the limit price is 80 % of the bid: it cannot fill


async def p7_order_identifiers(ctx: ProbeContext) -> None:
    """Place, cancel, observe the props events; then one invalid order for the reject shape."""
    refusal = orders_refusal(ctx.session.target, allow_orders=ctx.options.allow_orders)
    if refusal is not None:
        ctx.add("P7", "Order identifiers (clOrdId echo, orderId, commandId)", refusal, Verdict.NOT_RUN, "-")
        return
    ctx.session.capture.begin_step("P7", "order identifiers: far-off limit order, cancelled at once")
    trading = ctx.require_trading()
    instrument = ctx.require_instrument()
    account = ctx.account
    bids = [q["entries"]["Bid"]["price"] for q in quotes(ctx.require_md().received, instrument.contract_id) if _bid(q)]
    if account is None or account.id is None or not bids:
        why = "no account" if account is None or account.id is None else "no bid price seen to stay far from"
        ctx.add("P7", "Order identifiers", f"not run: {why}", Verdict.NOT_RUN, "-")
        return
    tick = instrument.tick_size or 0.25
    price = math.floor(bids[-1] * FAR_BELOW / tick) * tick
    cl_ord_id = f"pa-probe-{uuid.uuid4().hex[:12]}"
    order: dict[str, Any] = {
        "accountSpec": account.name,
        "accountId": account.id,
        "clOrdId": cl_ord_id,
        "action": "Buy",
        "symbol": instrument.symbol,
        "orderQty": 1,
        "orderType": "Limit",
        "price": price,
        "timeInForce": "Day",
        "isAutomated": True,
        "customTag50": "pa-probe",
    }
    mark = len(trading.received)
    question = "placeorder / cancelorder identifiers; clOrdId and customTag50 echo"
    try:
        placed = await trading.request("order/placeorder", order, mutating=True)
    except (RequestTimeout, ConnectionLost) as exc:
        ctx.add(
            "P7",
            question,
            f"OUTCOME UNKNOWN ({exc}): check the account's orders in the Tradovate web app and cancel clOrdId "
            f"{cl_ord_id} if it is working",
            Verdict.FAILED,
            "-",
        )
        return
    order_id = _field(placed, "orderId")
    cancel_text = "not sent (no orderId)"
    command_id = None
    if order_id is not None:
        cancelled = await trading.request(
            "order/cancelorder", {"orderId": order_id, "clOrdId": f"{cl_ord_id}-x", "isAutomated": True}, mutating=True
        )
        command_id = _field(cancelled, "commandId")
        cancel_text = response_text(cancelled)
    await trading.observe(ctx.options.window_s / 2)
    commands = _entities(trading.received[mark:], "command")
    versions = _entities(trading.received[mark:], "orderVersion")
    echoed = [c for c in commands if c.get("clOrdId") in (cl_ord_id, f"{cl_ord_id}-x")]
    tags = [c.get("customTag50") for c in commands if c.get("customTag50")]
    version_ids = {v.get("id") for v in versions}
    ctx.add(
        "P7",
        question,
        f"Buy Limit 1 @ {price} ({cl_ord_id}): {response_text(placed)}; cancel: {cancel_text}; "
        f"{len(commands)} command entities, {len(echoed)} echo our clOrdId, customTag50 seen {tags or 'nowhere'}; "
        f"OrderVersion ids {sorted(i for i in version_ids if isinstance(i, int))} vs command ids "
        f"{sorted(i for c in commands if isinstance(i := c.get('id'), int))}",
        Verdict.AS_EXPECTED if order_id is not None and echoed else Verdict.DIFFERS,
        expected="orderId from placeorder, commandId from cancelorder, clOrdId on the Command entity",
        order_id=order_id,
        command_id=command_id,
        clordid_echoed=bool(echoed),
    )
    invalid = {k: v for k, v in order.items() if k != "price"} | {"clOrdId": f"{cl_ord_id}-bad"}
    rejected = await trading.request("order/placeorder", invalid, mutating=True)
    stray = _field(rejected, "orderId")
    if stray is not None:  # it should have been refused; never leave it working
        await trading.request("order/cancelorder", {"orderId": stray, "isAutomated": True}, mutating=True)
    ctx.add(
        "P7",
        "Shape of a business reject (Limit without a price)",
        f"{response_text(rejected)}" + (f" - it was ACCEPTED as order {stray} and cancelled at once" if stray else ""),
        Verdict.AS_EXPECTED if stray is None and rejected.status == 200 else Verdict.DIFFERS,
        expected="HTTP/WS 200 with failureReason / failureText",
    )
    if ctx.options.allow_fill:
        await _fill_and_flatten(ctx, order, cl_ord_id)
    else:
        ctx.showed("props_order", None, "P7", "needs a fill: run with --allow-fill (buys 1 and liquidates it at once)")


async def _fill_and_flatten(ctx: ProbeContext, limit_order: dict[str, Any], cl_ord_id: str) -> None:
    """Buy 1 at market and liquidate it at once: the order of each fill's props events (`props_order`)."""
    trading, instrument, window = ctx.require_trading(), ctx.require_instrument(), ctx.options.window_s
    market = {k: v for k, v in limit_order.items() if k != "price"} | {
        "orderType": "Market",
        "clOrdId": f"{cl_ord_id}-f",
    }
    first = len(trading.received)
    placed = await trading.request("order/placeorder", market, mutating=True)
    await trading.observe(window / 2)
    second = len(trading.received)
    account_id = limit_order["accountId"]
    flat = {"accountId": account_id, "contractId": instrument.contract_id, "admin": False, "isAutomated": True}
    liquidated = await trading.request("order/liquidateposition", flat, mutating=True)
    await trading.observe(window / 2)
    fills = [
        (_field(answer, "orderId"), trading.received[start:end])
        for answer, start, end in ((placed, first, second), (liquidated, second, len(trading.received)))
    ]
    orders = [
        _fill_events(received, order_id, instrument.contract_id) for order_id, received in fills if order_id is not None
    ]
    labels = [_PROPS_ORDERS.get(tuple(seen)) for seen in orders]
    why = (
        f"Buy 1 Market ({response_text(placed)}), then liquidateposition ({response_text(liquidated)}): per fill "
        + "; ".join(" > ".join(seen) or "no events" for seen in orders)
    )
    ctx.add("P7", "Order of one fill's executionReport, fill and position events", why, Verdict.AS_EXPECTED)
    if len(orders) == 2 and all(labels) and labels[0] != labels[1]:
        ctx.showed("props_order", "shuffled", "P7", why + " (different orders for two fills)")
    elif labels and all(label == labels[0] for label in labels) and labels[0] is not None:
        ctx.showed("props_order", labels[0], "P7", why)
    else:
        ctx.showed("props_order", None, "P7", why)


_PROPS_ORDERS: dict[tuple[str, ...], str] = {
    ("executionReport", "fill", "position"): "er_fill_position",
    ("fill", "executionReport", "position"): "fill_er_position",
    ("executionReport", "position", "fill"): "er_position_fill",
}


def _fill_events(received: list[Received], order_id: int, contract_id: int) -> list[str]:
    """The first executionReport (Trade) and fill of `order_id` and the first position event of the contract, in
    arrival order."""
    seen: list[str] = []
    for item in received:
        message = item.message
        d = payload(message) if isinstance(message, Event) and message.kind == "props" else None
        if not isinstance(d, dict):
            continue
        kind, entity = d.get("entityType"), d.get("entity")
        for e in entity if isinstance(entity, list) else [entity]:
            if not isinstance(e, dict) or kind in seen:
                continue
            ours = e.get("orderId") == order_id
            if (
                (kind == "executionReport" and ours and e.get("execType") == "Trade")
                or (kind == "fill" and ours)
                or (kind == "position" and e.get("contractId") == contract_id)
            ):
                seen.append(str(kind))
    return seen


def _bid(quote: dict[str, Any]) -> bool:
    bid = quote.get("entries", {}).get("Bid")
    return isinstance(bid, dict) and isinstance(bid.get("price"), int | float)


def _field(response: Response, name: str) -> int | None:
    d = payload(response)
    value = d.get(name) if isinstance(d, dict) else None
    return value if isinstance(value, int) else None


def _entities(received: list[Received], entity_type: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in received:
        message = item.message
        if not isinstance(message, Event) or message.kind != "props":
            continue
        d = payload(message)
        if isinstance(d, dict) and d.get("entityType") == entity_type:
            entity = d.get("entity")
            found.extend(e for e in (entity if isinstance(entity, list) else [entity]) if isinstance(e, dict))
    return found
