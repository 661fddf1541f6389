"""Verbatim samples from Tradovate's public docs (JS comments and `...` lines removed), with a shape check.

Each constant names its source key from the lead sheet (`/work/shared/reference/tradovate-protocol.md` §0).
"""

from __future__ import annotations

import json
from typing import Any

from .. import docs_samples as docs  # the verbatim docs samples, defined once

# WSMD (github.com/tradovate/api/blob/master/WebSockets.md), lead sheet §2.4: the authorize ack.
AUTHORIZE_ACK = docs.AUTHORIZE_ACK

# WSMD / DOCS wss-guide/message-protocol "Server Frames": the close frame.
CLOSE_FRAME = docs.CLOSE_DOCS

# DOCS wss-guide/message-protocol "Decoding Server Frames": a props event frame.
PROPS_FRAME = docs.PROPS_ORDER_FRAME

# DOCS `/{entity}/item` example (contract/item?id=2710963), lead sheet §7.
CONTRACT_ITEM = docs.CONTRACT_ITEM

# DOCS wss-guide/message-protocol, "md" Server Event (the 2021 sample with size-only / price-only entries).
QUOTE_EVENT = docs.QUOTE_EVENT_DOCS

# JS:EX-09 (github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-09-Realtime-Market-Data-Pt2).
DOM_EVENT = docs.DOM_EVENT

# JS:EX-09, histogram event.
HISTOGRAM_EVENT = docs.HISTOGRAM_EVENT

# MDDOC (Market-Data/Request-Reference/Get-Chart): the md/getChart response and a chart data message.
GET_CHART_RESPONSE = docs.GET_CHART_RESPONSE
CHART_EVENT = """{
  "e":"chart",
  "d": {
    "charts": [
      {
        "id":9,
        "td":20170413,
        "bars": [
          {
            "timestamp":"2017-04-13T11:00:00.000Z",
            "open":2334.25,
            "high":2334.5,
            "low":2333,
            "close":2333.75,
            "upVolume":4712.234,
            "downVolume":201.124,
            "upTicks":1333.567,
            "downTicks":82.890,
            "bidVolume":2857.123,
            "offerVolume":2056.224
          }
        ]
      }
    ]
  }
}"""

# JS:EX-11 (tutorial/WebSockets/EX-11-Tick-Charts) and MDDOC Using-Tick-Charts: a tick packet and eoh.
TICK_CHART = docs.TICK_CHART_D

# DOCS wss-guide/message-protocol, "shutdown" Server Event (`reason` may be absent).
SHUTDOWN_EVENT = '{"e":"shutdown","d":{"reasonCode":"Maintenance","reason":"Planned maintenance"}}'

# FAQ:HowToHandleRequestLimits / JS:EX-3-Time-Penalty: the three penalty fields.
PENALTY = '{"p-ticket":"ticket","p-time":15,"p-captcha":false}'

# WSMD (lead sheet §3) and JS:EX-07: verbatim request frames.
EXECUTION_REPORT_LIST_REQUEST = docs.REQUEST_NO_QUERY_NO_BODY
LDEPS_REQUEST = docs.REQUEST_QUERY_DOCS
ROLL_CONTRACT_REQUEST = docs.REQUEST_BODY
# DOCS `md/getChart`: the verbatim wire example.
GET_CHART_REQUEST = docs.REQUEST_GET_CHART
# ISS#38 (github.com/tradovate/api/issues/38): md/getChart sent where md/* is not served.
NOT_FOUND_GET_CHART = "Not found: md/getChart"
# ISS#32 (github.com/tradovate/api/issues/32): body sent on the query line, symbol missing.
MISSING_SYMBOL = "No usable value for symbol\nDid not find value which can be converted into java.lang.String"


def load(sample: str) -> Any:
    """Parse a sample (a frame loses its one-letter prefix)."""
    text = sample[1:] if sample[:1] in ("a", "c") else sample
    return json.loads(text)


def conforms(actual: Any, sample: Any, *, exact: bool = False, path: str = "$") -> list[str]:
    """Where `actual` departs from the sample's shape: unknown keys, missing keys (if `exact`), types.

    Lists are compared item by item against the sample's first item; numbers are one type (the docs
    show integers and fractions for the same field).
    """
    problems: list[str] = []
    if isinstance(sample, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        extra = set(actual) - set(sample)
        if extra:
            problems.append(f"{path}: fields the docs do not show: {sorted(extra)}")
        if exact and set(sample) - set(actual):
            problems.append(f"{path}: missing fields: {sorted(set(sample) - set(actual))}")
        for key in set(actual) & set(sample):
            problems += conforms(actual[key], sample[key], exact=exact, path=f"{path}.{key}")
        return problems
    if isinstance(sample, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        for index, item in enumerate(actual):
            problems += conforms(item, sample[0], exact=exact, path=f"{path}[{index}]")
        return problems
    if _kind(actual) != _kind(sample):
        return [f"{path}: expected {_kind(sample)}, got {actual!r}"]
    return []


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
