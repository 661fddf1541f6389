"""Verbatim samples from Tradovate's public docs (JS comments and `...` lines removed), with a shape check.

Each constant names its source key from the lead sheet (`/work/shared/reference/tradovate-protocol.md` §0).
"""

from __future__ import annotations

import json
from typing import Any

# WSMD (github.com/tradovate/api/blob/master/WebSockets.md), lead sheet §2.4: the authorize ack.
AUTHORIZE_ACK = 'a[{"s":200,"i":2}]'

# WSMD / DOCS wss-guide/message-protocol "Server Frames": the close frame.
CLOSE_FRAME = 'c[3000, "Go away!"]'

# DOCS wss-guide/message-protocol "Decoding Server Frames": a props event frame.
PROPS_FRAME = (
    'a[{"e":"props","d":{"entityType":"order","eventType":"Created","entity":{"id":210518,"accountId":25,'
    '"contractId":560901,"timestamp":"2016-11-04T00:02:36.626Z","action":"Sell","ordStatus":"PendingNew",'
    '"admin":false}}}]'
)

# DOCS `/{entity}/item` example (contract/item?id=2710963), lead sheet §7.
CONTRACT_ITEM = (
    '{"id":2710963,"name":"ESM2","contractMaturityId":46104,"status":"DefinitionChecked","providerTickSize":0.25}'
)

# DOCS wss-guide/message-protocol, "md" Server Event (the 2021 sample with size-only / price-only entries).
QUOTE_EVENT = """{
    "e":"md",
    "d": {
        "quotes": [
            {
                "timestamp":"2021-04-13T04:59:06.588Z",
                "contractId":123456,
                "entries": {
                    "Bid": { "price":18405.123, "size":7.123 },
                    "TotalTradeVolume": { "size":4118.123 },
                    "Offer": { "price":18410.012, "size":12.35 },
                    "LowPrice": { "price":18355.23 },
                    "Trade": { "price":18405.023, "size":2.10 },
                    "OpenInterest": { "size":40702.024 },
                    "OpeningPrice": { "price":18515.123 },
                    "HighPrice": { "price":18520.125 },
                    "SettlementPrice": { "price":18520.257 }
                }
            }
        ]
    }
}"""

# JS:EX-09 (github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/EX-09-Realtime-Market-Data-Pt2).
DOM_EVENT = """{
  "e":"md",
  "d": {
    "doms": [
      {
        "contractId":123456,
        "timestamp":"2017-04-13T11:33:57.488Z",
        "bids": [
          {"price":2335.25,"size":33},
          {"price":2333,"size":758}
        ],
        "offers": [
          {"price":2335.5,"size":255},
          {"price":2337.75,"size":466}
        ]
      }
    ]
  }
}"""

# JS:EX-09, histogram event.
HISTOGRAM_EVENT = """{
  "e":"md",
  "d": {
    "histograms": [
      {
        "contractId":123456,
        "timestamp":"2017-04-13T11:33:57.412Z",
        "tradeDate": {
          "year":2017,
          "month":4,
          "day":13
        },
        "base":2338.75,
        "items": {
          "-14":5906,
          "2":1234
        },
        "refresh":false
      }
    ]
  }
}"""

# MDDOC (Market-Data/Request-Reference/Get-Chart): the md/getChart response and a chart data message.
GET_CHART_RESPONSE = '{"s":200,"i":13,"d":{"historicalId":32,"realtimeId":31}}'
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
TICK_CHART = """{
    "charts": [
        {
            "id": 16335,
            "s": "db",
            "td": 20190718,
            "bp": 11917,
            "bt": 1563421179735,
            "ts": 0.25,
            "tks": [
                {
                    "t": 0,
                    "p": 0,
                    "s": 3,
                    "b": -1,
                    "a": 0,
                    "bs": 122,
                    "as": 28,
                    "id": 11768401
                }
            ]
        },
        {
            "id": 16335,
            "eoh": true
        }
    ]
}"""

# DOCS wss-guide/message-protocol, "shutdown" Server Event (`reason` may be absent).
SHUTDOWN_EVENT = '{"e":"shutdown","d":{"reasonCode":"Maintenance","reason":"Planned maintenance"}}'

# FAQ:HowToHandleRequestLimits / JS:EX-3-Time-Penalty: the three penalty fields.
PENALTY = '{"p-ticket":"ticket","p-time":15,"p-captcha":false}'

# WSMD (lead sheet §3) and JS:EX-07: verbatim request frames.
EXECUTION_REPORT_LIST_REQUEST = "executionReport/list\n4\n\n"
LDEPS_REQUEST = "tradingPermission/ldeps\n8\nmasterids=1"
ROLL_CONTRACT_REQUEST = 'contract/rollcontract\n33\n\n{"name":"YMZ6","forward":true,"ifExpired":true}'
# DOCS `md/getChart`: the verbatim wire example.
GET_CHART_REQUEST = (
    'md/getchart\n0\n\n{"symbol":"ESZ4","chartDescription":{"underlyingType":"MinuteBar","elementSize":1,'
    '"elementSizeUnit":"UnderlyingUnits","withHistogram":false},"timeRange":{"asMuchAsElements":100}}'
)
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
