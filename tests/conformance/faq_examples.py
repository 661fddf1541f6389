"""The request flows of Tradovate's official FAQ and strategy examples, on top of `OfficialSocket`.

Written here from a reading of the examples (not translated from their code):
- large chart requests: tradovate/example-api-faq @ 680ca88422d2, `example-code/large-chart-requests/src/socket/
  getAllBars.js`: `md/getChart` with `timeRange {closestTimestamp, asFarAsTimestamp}`; every non-eoh packet's bars
  are collected; on `eoh` it cancels, sorts newest first, and asks again with `closestTimestamp` = the oldest bar
  so far, until the oldest bar equals `asFarAsTimestamp` or `closestTimestamp`; then it cancels once more and
  renders (FAQ docs/HowToHandleDataSizeLimits.md explains why: the server caps one answer);
- order strategy: tradovate/example-api-trading-strategy @ 06b40858f346, `standardMiddleware/startOrderStrategy.js`,
  and the `orderStrategy/startorderstrategy` description of the API docs (arlenner/api-doc-20-dev @ e9de95f7ee92,
  `assets/files/swagger.yaml`): `{accountId, accountSpec, symbol, action, orderStrategyTypeId: 2, params}` with
  `params` a JSON string of `{entryVersion: {orderQty, orderType}, brackets: [{qty, profitTarget, stopLoss,
  trailingStop}]}`;
- user sync bodies: `{users: [id]}` (FAQ `example-code/user-sync-request/src/index.js`), `{accounts: [id]}`
  (STRAT `websocket/TradovateSocket.js`), `{splitResponses: true}` (tradovate/example-api-csharp-trading
  `Tradovate.Samples/Accounting.cs`), `{users: [id], splitResponses: true}` (DOC20 `md/wss-guide/userSyncRequest.md`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .official_socket import Item, OfficialSocket, Subscription

MINUTE_BARS: dict[str, Any] = {
    "underlyingType": "MinuteBar",
    "elementSize": 1,
    "elementSizeUnit": "UnderlyingUnits",
    "withHistogram": False,
}


def js_date_json(text: str) -> str:
    """`new Date(text).toJSON()`: ISO-8601 UTC with milliseconds and Z."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class AllBars:
    """What `getAllBars` collected: bars (newest first after each page), the pages asked for, and whether it ended."""

    bars: list[tuple[str, list[float]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    errors: list[BaseException] = field(default_factory=list)


async def get_all_bars(
    socket: OfficialSocket, symbol: str, closest: str, as_far: str, result: AllBars | None = None
) -> AllBars:
    """Page backwards through minute bars from `closest` to `as_far`, as the FAQ example does."""
    result = result or AllBars()
    body = {
        "symbol": symbol,
        "chartDescription": MINUTE_BARS,
        "timeRange": {"closestTimestamp": closest, "asFarAsTimestamp": as_far},
    }
    result.requests.append(body)
    handle: dict[str, Subscription] = {}

    async def next_page() -> None:
        try:
            await handle["page"].unsubscribe()
            result.bars.sort(key=lambda bar: bar[0], reverse=True)
            oldest = js_date_json(result.bars[-1][0])
            if oldest not in (as_far, closest):
                await get_all_bars(socket, symbol, oldest, as_far, result)
            else:
                await handle["page"].unsubscribe()  # the example cancels a second time before rendering
                result.finished.set()
        except Exception as error:  # an unhandled rejection in the JS; the test reads it
            result.errors.append(error)

    def on_chart(chart: Item) -> None:
        if not chart.get("eoh"):
            result.bars.extend(
                (bar["timestamp"], [bar["open"], bar["high"], bar["low"], bar["close"]]) for bar in chart["bars"]
            )
        else:
            task = asyncio.get_running_loop().create_task(next_page())
            _keep.add(task)
            task.add_done_callback(_keep.discard)

    handle["page"] = await socket.subscribe("md/getChart", body, on_chart)
    return result


_keep: set[asyncio.Task[None]] = set()


def bracket_strategy_body(account_id: int, account_spec: str, symbol: str, action: str) -> dict[str, Any]:
    """The body of `orderStrategy/startOrderStrategy` for one Market entry with one bracket (STRAT; DOC20 swagger)."""
    params = {
        "entryVersion": {"orderQty": 1, "orderType": "Market"},
        "brackets": [
            {
                "qty": 1,
                "profitTarget": 5.0 if action == "Buy" else -5.0,
                "stopLoss": -2.5 if action == "Buy" else 2.5,
                "trailingStop": False,
            }
        ],
    }
    return {
        "accountId": account_id,
        "accountSpec": account_spec,
        "symbol": symbol,
        "action": action,
        "orderStrategyTypeId": 2,
        "params": json.dumps(params),
    }


def strat_order_body(account_id: int, account_spec: str, symbol: str, action: str) -> dict[str, Any]:
    """The body of `order/placeOrder` in STRAT `standardMiddleware/placeOrder.js` (a Market order, so no price)."""
    return {
        "symbol": symbol,
        "orderQty": 1,
        "accountSpec": account_spec,
        "accountId": account_id,
        "action": action,
        "orderType": "Market",
        "isAutomated": True,
    }
