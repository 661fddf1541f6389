"""Verbatim samples from Tradovate's public docs and examples, shared by the protocol, simulator and reference
tests (each cites its source key from shared/reference/tradovate-protocol.md)."""

AUTHORIZE_ACK = 'a[{"s":200,"i":2}]'  # WSMD (authorize ack, id 2), lead sheet §2.4

CLOSE_DOCS = 'c[3000, "Go away!"]'  # DOCS wss-guide/message-protocol (note the space)

PROPS_ORDER_FRAME = (
    'a[{"e":"props","d":{"entityType":"order","eventType":"Created","entity":{"id":210518,"accountId":25,'
    '"contractId":560901,"timestamp":"2016-11-04T00:02:36.626Z","action":"Sell","ordStatus":"PendingNew",'
    '"admin":false}}}]'
)

# MDDOC Get-Chart response (VERBATIM)
GET_CHART_RESPONSE = '{"s":200,"i":13,"d":{"historicalId":32,"realtimeId":31}}'

# JS:EX-08 README, quote event (comments removed)
QUOTE_EVENT = """{
  "e":"md",
  "d": {
    "quotes": [
      {
        "timestamp":"2017-04-13T04:59:06.588Z",
        "contractId":123456,
        "entries": {
          "Bid": { "price":18405, "size":7 },
          "TotalTradeVolume": { "price":18405, "size":7 },
          "Offer": { "price":18410, "size":12 },
          "LowPrice": { "price":18405, "size":7 },
          "Trade": { "price":18405, "size":2 },
          "OpenInterest": { "price":18405, "size":7 },
          "OpeningPrice": { "price":18405, "size":7 },
          "HighPrice": { "price":18405, "size":7 },
          "SettlementPrice": { "price":18405, "size":7 },
          "EmptyBook": { "price":18405, "size":7 }
        }
      }
    ]
  }
}"""

# DOCS wss-guide/message-protocol, "md" server event: fractional sizes, price-only / size-only entries
# (VERBATIM)
QUOTE_EVENT_DOCS = """{
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

# JS:EX-09 README, DOM event (comments and "..." elisions removed)
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

# JS:EX-09 README, histogram event (comments, "..." and the trailing comma it left removed)
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

# JS:EX-10 README, one bar (VERBATIM object). The README shows only the "bars" array; the packet
# around it ({"id","td","bars"}, id from GET_CHART_RESPONSE, td YYYYMMDD) is CONSTRUCTED per MDDOC.
BAR = """{
    "timestamp":"2017-04-13T11:00:00.000Z",
    "open":2334.25,
    "high":2334.5,
    "low":2333,
    "close":2333.75,
    "upVolume":4712,
    "downVolume":201,
    "upTicks":1333,
    "downTicks":82,
    "bidVolume":2857,
    "offerVolume":2056
    }"""

# FAQ:HowToHandleDataSizeLimits / MDDOC: end-of-history packet {"id":<id>,"eoh":true}; id CONSTRUCTED
EOH_EVENT = '{"e":"chart","d":{"charts":[{"id":32,"eoh":true}]}}'

# JS:EX-11 README, tick chart packet (comments and "..." removed; the unquoted key `eoh` quoted)
TICK_CHART_D = """{
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

# DOCS wss-guide/message-protocol, shutdown event: reasonCode is one of the three documented values
# and "reason" is free text; the values chosen here are CONSTRUCTED.
SHUTDOWN_EVENT = '{"e":"shutdown","d":{"reasonCode":"Maintenance","reason":"Scheduled maintenance"}}'

# WSMD; DOCS wss-guide/message-protocol; JS:EX-07 (VERBATIM)
REQUEST_NO_QUERY_NO_BODY = "executionReport/list\n4\n\n"

REQUEST_QUERY_DOCS = "tradingPermission/ldeps\n8\nmasterids=1"  # DOCS: no trailing body line

REQUEST_BODY = 'contract/rollcontract\n33\n\n{"name":"YMZ6","forward":true,"ifExpired":true}'

# DOCS md/getChart (VERBATIM, lead sheet §4.3)
REQUEST_GET_CHART = (
    'md/getchart\n0\n\n{"symbol":"ESZ4","chartDescription":{"underlyingType":"MinuteBar","elementSize":1,'
    '"elementSizeUnit":"UnderlyingUnits","withHistogram":false},"timeRange":{"asMuchAsElements":100}}'
)

# DOCS /{entity}/item example for contract/item?id=2710963 (VERBATIM)
CONTRACT_ITEM = (
    '{"id":2710963,"name":"ESM2","contractMaturityId":46104,"status":"DefinitionChecked","providerTickSize":0.25}'
)
