"""Wire samples from the public Tradovate docs, with their lead-sheet source keys.

VERBATIM samples are copied character for character. Where the source is a commented JavaScript
listing, "comments removed" means only ``// ...`` comments, ``...`` elisions and the trailing commas
they leave were dropped so that the text is JSON; nothing else was changed. CONSTRUCTED samples are
marked as such and say which documented shape they follow.

Sources: WSMD https://github.com/tradovate/api/blob/master/WebSockets.md; DOCS = the official API
education site source (page named); JS:EX-nn
https://github.com/tradovate/example-api-js/tree/main/tutorial/WebSockets/ (commit f139d41);
MDDOC = api.tradovate.com Market-Data Get-Chart as quoted in the lead sheet; P = partner.tradovate.com.
"""

from __future__ import annotations

from .. import docs_samples as docs  # the verbatim docs samples, defined once

# -- server frames -----------------------------------------------------------------------------------

OPEN = "o"  # WSMD; JS:EX-05 ("o - The 'open' frame")
HEARTBEAT = "h"  # WSMD; JS:EX-05
AUTHORIZE_ACK = docs.AUTHORIZE_ACK
CLOSE = 'c[3000,"Go away!"]'  # WSMD, lead sheet §3
CLOSE_DOCS = docs.CLOSE_DOCS
AUTHORIZE_FAILED = '{"i":0,"s":401,"d":"Invalid access token"}'  # P:overview/conformance-testing/stage-2
RATE_LIMITED = '{"s":429,"i":5}'  # P:overview/core-concepts/rate-limits shows [{"s":429,"i":<id>}]; id 5

# DOCS wss-guide/message-protocol, "Decoding Server Frames" (VERBATIM, both lines)
CONTRACT_RESPONSE_FRAME = 'a[{"s":200,"i":23,"d":{"id":65543,"name":"CLZ6","contractMaturityId":6727}}]'
PROPS_ORDER_FRAME = docs.PROPS_ORDER_FRAME
PROPS_ORDER_ENTITY = (
    '{"id":210518,"accountId":25,"contractId":560901,"timestamp":"2016-11-04T00:02:36.626Z",'
    '"action":"Sell","ordStatus":"PendingNew","admin":false}'
)

# MDDOC Get-Chart response (VERBATIM)
GET_CHART_RESPONSE = docs.GET_CHART_RESPONSE

# -- event payloads (the JSON of one array item) -----------------------------------------------------

# JS:EX-08 README, quote event (comments removed)
QUOTE_EVENT = docs.QUOTE_EVENT

# DOCS wss-guide/message-protocol, "md" server event: fractional sizes, price-only / size-only entries
# (VERBATIM)
QUOTE_EVENT_DOCS = docs.QUOTE_EVENT_DOCS

# JS:EX-09 README, DOM event (comments and "..." elisions removed)
DOM_EVENT = docs.DOM_EVENT

# JS:EX-09 README, histogram event (comments, "..." and the trailing comma it left removed)
HISTOGRAM_EVENT = docs.HISTOGRAM_EVENT

# JS:EX-10 README, one bar (VERBATIM object). The README shows only the "bars" array; the packet
# around it ({"id","td","bars"}, id from GET_CHART_RESPONSE, td YYYYMMDD) is CONSTRUCTED per MDDOC.
BAR = docs.BAR
CHART_BARS_EVENT = '{"e":"chart","d":{"charts":[{"id":32,"td":20170413,"bars":[' + BAR + "]}]}}"

# FAQ:HowToHandleDataSizeLimits / MDDOC: end-of-history packet {"id":<id>,"eoh":true}; id CONSTRUCTED
EOH_EVENT = docs.EOH_EVENT

# JS:EX-11 README, tick chart packet (comments and "..." removed; the unquoted key `eoh` quoted)
TICK_CHART_D = docs.TICK_CHART_D
TICK_CHART_EVENT = '{"e":"chart","d":' + TICK_CHART_D + "}"

# DOCS wss-guide/message-protocol, shutdown event: reasonCode is one of the three documented values
# and "reason" is free text; the values chosen here are CONSTRUCTED.
SHUTDOWN_EVENT = docs.SHUTDOWN_EVENT

# DOCS wss-guide/message-protocol, replay clock event (comment removed): ``d`` is a JSON *string*
CLOCK_EVENT = """{
    "e": "clock",
    "d": "{\\"t\\":\\"2019-08-26T16:43:08.599Z\\",\\"s\\":20}"
}"""

# CONSTRUCTED: the DOCS order entity sent as an array of two (entity may be an array: WSMD; CSWS
# handles JArray; GO:raw_msg.go). The second order is a copy with other ids.
PROPS_ARRAY_D = (
    '{"entityType":"order","eventType":"Updated","entity":['
    + PROPS_ORDER_ENTITY
    + ',{"id":210519,"accountId":26,"contractId":560901,"timestamp":"2016-11-04T00:02:37.001Z",'
    '"action":"Buy","ordStatus":"Working","admin":false}]}'
)

# CONSTRUCTED user/syncrequest snapshot following SWAG SyncMessage / FAQ-USR (keys as documented)
SYNC_SNAPSHOT_D = (
    '{"users":[{"id":5,"name":"demo"}],"accounts":[{"id":25,"name":"DEMO25","userId":5}],'
    '"orders":[' + PROPS_ORDER_ENTITY + "],"
    '"commands":[{"id":900,"orderId":210518,"clOrdId":"intent-1","commandType":"New"}],'
    '"positions":[{"id":77,"accountId":25,"contractId":560901,"netPos":-1,"netPrice":2335.25}],'
    '"fills":[{"id":501,"orderId":210518,"contractId":560901,"qty":1,"price":2335.25,"active":true}],'
    '"contractGroups":[]}'
)

# -- client requests ---------------------------------------------------------------------------------

# WSMD; DOCS wss-guide/message-protocol; JS:EX-07 (VERBATIM)
REQUEST_NO_QUERY_NO_BODY = docs.REQUEST_NO_QUERY_NO_BODY
REQUEST_QUERY_DOCS = docs.REQUEST_QUERY_DOCS
REQUEST_QUERY_JS = "tradingPermission/ldeps\n8\nmasterids=1\n"  # JS:EX-07: empty body line kept
REQUEST_BODY = docs.REQUEST_BODY
# DOCS md/getChart (VERBATIM, lead sheet §4.3)
REQUEST_GET_CHART = docs.REQUEST_GET_CHART
# JS:EX-05: `authorize\n1\n\n${token}`; WSMD: authorize\n0\n\n<accessToken>
AUTHORIZE_TEMPLATE = "authorize\n{id}\n\n{token}"

# Penalty object: JS:EX-3 / FAQ:HowToHandleRequestLimits name the three fields ("up to three");
# no public verbatim body exists, so the values are CONSTRUCTED.
PENALTY = '{"p-ticket":"ticket-1","p-time":15,"p-captcha":false}'

# DOCS /{entity}/item example for contract/item?id=2710963 (VERBATIM)
CONTRACT_ITEM = docs.CONTRACT_ITEM
