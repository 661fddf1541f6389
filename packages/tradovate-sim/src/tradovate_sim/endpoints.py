"""The Tradovate API behind both transports: routing, auth, request faults, penalties, and the handlers.

REST and the trading socket call the same `TradovateApi.call`, so "every REST endpoint also works as a WS
request" holds by construction. Endpoint names match case-insensitively (official samples mix
`placeOrder`/`placeorder`, `getChart`/`getchart`).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from tradovate_sim.accounts import AccountBook
from tradovate_sim.auth import Authenticator, TokenState
from tradovate_sim.config import SimConfig
from tradovate_sim.connection import SimConnection
from tradovate_sim.contracts import ContractCatalog
from tradovate_sim.entities import EntityStore
from tradovate_sim.faults import RequestFaults
from tradovate_sim.market_data import MarketDataService
from tradovate_sim.orders import OrderEngine
from tradovate_sim.penalties import TICKET_FIELD, PenaltyBox, request_key
from tradovate_sim.recorder import Channel
from tradovate_sim.schedule import ScheduleRunner
from tradovate_sim.strategies import OrderStrategies
from tradovate_sim.sync import UserSync
from tradovate_sim.variants import VariantState
from tradovate_sim.wire import ABSENT, JsonObject, response_message

ENTITY_OPERATIONS = frozenset({"list", "item", "items", "find", "deps", "ldeps", "suggest"})
NOT_AUTHORIZED_TEXT = "Access is denied"
EXPIRED_TEXT = "Expired Access Token"


@dataclass(frozen=True)
class ApiCall:
    """One request as either transport received it."""

    channel: Channel
    endpoint: str
    query: str = ""
    body: str = ""
    token: str | None = None
    connection: SimConnection | None = None
    method: str | None = None
    request_id: int | None = None

    @property
    def key(self) -> str:
        """The routing key: lower case, without a leading slash."""
        return self.endpoint.strip("/").lower()


@dataclass(frozen=True)
class ApiReply:
    """Status and payload (`d` over WS, the body over HTTP), how long to hold it, and events to follow it."""

    status: int
    data: object = ABSENT
    delay_s: float = 0.0
    never: bool = False
    events: list[JsonObject] = field(default_factory=list)

    def as_message(self, request_id: int) -> JsonObject:
        """The WS response message."""
        return response_message(request_id, self.status, self.data)


@dataclass(frozen=True)
class _Request:
    call: ApiCall
    user_id: int
    body: JsonObject
    query: dict[str, str]


Handler = Callable[[_Request], ApiReply]


@dataclass(frozen=True)
class _Route:
    handler: Handler
    method: str
    needs_auth: bool = True


class TradovateApi:
    """Routes requests to handlers after the checks every Tradovate request goes through."""

    def __init__(
        self,
        config: SimConfig,
        variants: VariantState,
        auth: Authenticator,
        penalties: PenaltyBox,
        request_faults: RequestFaults,
        store: EntityStore,
        accounts: AccountBook,
        orders: OrderEngine,
        strategies: OrderStrategies,
        sync: UserSync,
        market_data: MarketDataService,
        catalog: ContractCatalog,
        schedule: ScheduleRunner,
    ) -> None:
        self._config = config
        self._variants = variants
        self._auth = auth
        self._penalties = penalties
        self._faults = request_faults
        self._store = store
        self._accounts = accounts
        self._orders = orders
        self._strategies = strategies
        self._sync = sync
        self._md = market_data
        self._catalog = catalog
        self._schedule = schedule
        self._handled: deque[float] = deque()  # wall times of the requests of the last hour (hourly_request_limit)
        self._routes: dict[str, _Route] = {
            "auth/accesstokenrequest": _Route(self._access_token, "POST", needs_auth=False),
            "auth/renewaccesstoken": _Route(self._renew, "GET"),
            "auth/me": _Route(self._me, "GET"),
            "user/syncrequest": _Route(self._sync_request, "POST"),
            "order/placeorder": _Route(self._place, "POST"),
            "order/modifyorder": _Route(self._modify, "POST"),
            "order/cancelorder": _Route(self._cancel, "POST"),
            "order/liquidateposition": _Route(self._liquidate, "POST"),
            "orderstrategy/startorderstrategy": _Route(self._start_strategy, "POST"),
        }

    async def call(self, call: ApiCall) -> ApiReply:
        """Answer one request (status, payload, hold) the way Tradovate would, faults included."""
        await self._schedule.on_request(call.key)
        route = self._route(call)
        if route is None:
            return ApiReply(404, f"Not found: {call.endpoint}")
        if self._faults.take_rate_limit(call.channel, call.key) or self._over_hourly_limit():
            return ApiReply(429)
        try:
            body = _json_body(call.body)
        except ValueError as error:
            return ApiReply(400, f"Invalid JSON body: {error}")
        query = dict(parse_qsl(call.query, keep_blank_values=True))
        penalty = self._penalty(call, body, query)
        if penalty is not None:
            return ApiReply(200, penalty)
        user_id, denial = self._authorize(call, route)
        if denial is not None:
            return denial
        if call.method is not None and call.method.upper() != route.method:
            return ApiReply(405, f"Method {call.method} not allowed for {call.endpoint}")
        clean_body = {key: value for key, value in body.items() if key != TICKET_FIELD}
        reply = route.handler(_Request(call, user_id, clean_body, query))
        hold = self._faults.take_order_reply(call.channel, call.key)
        if hold is not None:
            return ApiReply(reply.status, reply.data, delay_s=hold.seconds, never=hold.never, events=reply.events)
        return reply

    def _over_hourly_limit(self) -> bool:
        """Count this request in the rolling hour; True (a 429, not counted) when the hour is already full."""
        limit = self._config.hourly_request_limit
        if limit is None:
            return False
        now = self._config.clock.wall()
        handled = self._handled
        while handled and handled[0] <= now - 3600.0:
            handled.popleft()
        if len(handled) >= limit:
            return True
        handled.append(now)
        return False

    def _route(self, call: ApiCall) -> _Route | None:
        key = call.key
        if key.startswith("md/"):
            # md/* lives on the market-data socket only (ISS#38: "Not found: md/getChart" elsewhere).
            if call.channel != "md" or call.connection is None:
                return None
            connection = call.connection
            return _Route(lambda request: self._market_data(connection, request), "GET")
        if call.channel == "md":
            return None
        found = self._routes.get(key)
        if found is not None:
            return found
        entity, _, operation = key.partition("/")
        entity_type = self._store.entity_type(entity)
        if entity_type is None or operation not in ENTITY_OPERATIONS:
            return None
        return _Route(lambda request: self._entity(entity_type, operation, request), "GET")

    def _penalty(self, call: ApiCall, body: JsonObject, query: dict[str, str]) -> JsonObject | None:
        key = request_key(call.key, _without_ticket(call.query), body)
        ticket = body.get(TICKET_FIELD, query.get(TICKET_FIELD))
        if isinstance(ticket, str):
            return self._penalties.redeem(key, ticket)
        armed = self._faults.take_penalty(call.channel, call.key)
        if armed is not None:
            return self._penalties.issue(key, armed.seconds, armed.captcha)
        limit = self._config.bad_login_penalty_after
        if call.key == "auth/accesstokenrequest" and limit is not None and self._auth.failed_logins >= limit:
            # Repeated bad logins earn a captcha penalty, which a third-party app cannot clear (JS:EX-3).
            return self._penalties.issue(key, 3600.0, captcha=True)
        return None

    def _authorize(self, call: ApiCall, route: _Route) -> tuple[int, ApiReply | None]:
        if not route.needs_auth:
            return self._config.user_id, None
        if call.connection is not None:
            # A socket authorized once stays usable even after its token expires (DOCS `authorize`).
            if call.connection.user_id is None:
                return 0, ApiReply(401, NOT_AUTHORIZED_TEXT)
            return call.connection.user_id, None
        state, user_id = self._auth.check(call.token)
        if state is TokenState.EXPIRED:
            return 0, ApiReply(401, EXPIRED_TEXT)
        if state is not TokenState.VALID or user_id is None:
            return 0, ApiReply(401, NOT_AUTHORIZED_TEXT)
        return user_id, None

    def _access_token(self, request: _Request) -> ApiReply:
        return ApiReply(200, self._auth.login(request.body))

    def _renew(self, request: _Request) -> ApiReply:
        return ApiReply(200, self._auth.renew())

    def _me(self, request: _Request) -> ApiReply:
        user = self._accounts.user
        return ApiReply(
            200,
            {
                "userId": user.id,
                "name": user.name,
                "fullName": user.name,
                "email": user.email,
                "emailVerified": True,
                "isTrial": False,
            },
        )

    def _sync_request(self, request: _Request) -> ApiReply:
        variants = self._variants.current
        required = variants.sync_entity_types == "required"
        selection = self._sync.selection(request.user_id, request.body, entity_types_required=required)
        connection = request.call.connection
        if connection is not None:
            self._sync.subscribe(connection, selection)
        if request.body.get("splitResponses") is True and connection is not None:
            first, *rest = self._sync.snapshot_parts(selection, variants.sync_split)
            request_id = _request_id(request)
            return ApiReply(200, first, events=[response_message(request_id, 200, part) for part in rest])
        return ApiReply(200, self._sync.snapshot(selection))

    def _place(self, request: _Request) -> ApiReply:
        return ApiReply(200, self._orders.place(request.body, request.user_id))

    def _modify(self, request: _Request) -> ApiReply:
        return ApiReply(200, self._orders.modify(request.body, request.user_id))

    def _cancel(self, request: _Request) -> ApiReply:
        return ApiReply(200, self._orders.cancel(request.body, request.user_id))

    def _liquidate(self, request: _Request) -> ApiReply:
        return ApiReply(200, self._orders.liquidate(request.body, request.user_id))

    def _start_strategy(self, request: _Request) -> ApiReply:
        return ApiReply(200, self._strategies.start(request.body, request.user_id))

    def _market_data(self, connection: SimConnection, request: _Request) -> ApiReply:
        reply = self._md.handle(connection, request.call.key, request.body)
        return ApiReply(reply.status, reply.data, events=reply.events)

    def _entity(self, entity_type: str, operation: str, request: _Request) -> ApiReply:
        query = request.query
        store = self._store
        if operation == "list":
            return ApiReply(200, [entity.as_json() for entity in store.all(entity_type)])
        if operation == "item":
            entity = store.get(entity_type, _int(query.get("id")))
            return ApiReply(200, entity.as_json()) if entity else ApiReply(404, "Entity not found")
        if operation == "items":
            ids = _ints(query.get("ids", ""))
            found = [store.get(entity_type, entity_id) for entity_id in ids]
            return ApiReply(200, [entity.as_json() for entity in found if entity is not None])
        if operation == "find":
            entity = store.find(entity_type, query.get("name", ""))
            return ApiReply(200, entity.as_json()) if entity else ApiReply(404, "Entity not found")
        if operation == "deps":
            return ApiReply(200, [e.as_json() for e in store.deps(entity_type, {_int(query.get("masterid"))})])
        if operation == "ldeps":
            masters = set(_ints(query.get("masterids", "")))
            return ApiReply(200, [entity.as_json() for entity in store.deps(entity_type, masters)])
        text = query.get("t", "")
        limit = _int(query.get("l"), default=10)
        if entity_type == "contract":
            return ApiReply(200, [spec.as_contract() for spec in self._catalog.suggest(text, limit)])
        named = [entity.as_json() for entity in store.all(entity_type)]
        matches = [item for item in named if str(item.get("name", "")).lower().startswith(text.lower())]
        return ApiReply(200, matches[:limit])


def _json_body(text: str) -> JsonObject:
    # The official JS client sends `JSON.stringify(undefined)`, i.e. `undefined`, for requests without a
    # body (FAQ-LCR tvSocket.js `send`); Tradovate evidently accepts it, so does the simulator.
    if text.strip() in ("", "undefined", "null"):
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def _without_ticket(query: str) -> str:
    return "&".join(part for part in query.split("&") if part and not part.startswith(TICKET_FIELD + "="))


def _int(text: str | None, default: int = -1) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip().lstrip("-").isdigit()]


def _request_id(request: _Request) -> int:
    # Set by the WS transport; the split snapshot's later parts carry the same request id.
    return request.call.request_id if request.call.request_id is not None else 0
