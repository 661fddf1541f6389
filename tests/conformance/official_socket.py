"""A Python client that behaves, step by step, as Tradovate's official JavaScript `TradovateSocket` class does.

Written here from a reading of the class, not translated from its code. The class is in tradovate/example-api-js
@ f139d412b32f, `tutorial/WebSockets/EX-10a-Chart-Data-Solution/src/TradovateSocket.js` (one identical file in
EX-08...EX-12a), and, with import lines changed only, in tradovate/example-api-faq @ 680ca88422d2,
`example-code/large-chart-requests/src/socket/tvSocket.js`. `L<n>` below are lines of the EX-10a file.

What the class does, and this client with it:
- request ids count from 0, so `authorize` is request 0 (L19, L25);
- on the `o` frame it sends `authorize` with the token passed through `JSON.stringify`, i.e. in double quotes
  (L72-85), and a request with no body sends the text `undefined` (L124);
- a response settles a request only when `s === 200 && i === id`; any other status rejects it, but only when `i`
  is truthy, so a failed authorize (id 0) never settles (L110-122); later messages with the same `i` are ignored;
- it sends the `[]` heartbeat only when a frame arrives and 2.5 s have passed since the last one: no timer (L243-252);
- `subscribe` reads `d['p-ticket']`, so `d` must be there (L154); the subscription id is `d.realtimeId ||
  d.subscriptionId` (L160); a symbol not starting with `@` is looked up with REST `contract/find` (L161-167);
- chart packets are delivered only when `chart.id === realtimeId`: history, `eoh` and live alike (L176-186);
  quotes, DOMs and histograms only when `contractId` matches the looked-up contract (L187-219);
- the user-sync listener delivers `d` when it has `users`, or the message is a `props` event (L220-228), and the
  first response's `d` when it has `users` (L169-171);
- market-data listeners read `data.d.charts` (and `.doms`, `.quotes`, `.histograms`) on every message, so a
  message without `d` throws inside the handler and the rest of that frame reaches no listener (L181, L192, ...).

Between two frames the JS event loop runs every continuation the first frame made ready (a microtask checkpoint):
a listener `subscribe` adds right after its response is therefore in place for the very next frame. The reader
below yields once after each frame for the same reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

Item = Any  # one element of an `a[...]` frame, as JSON.parse gives it
Listener = Callable[[Item], None]
Clock = Callable[[], float]

UNDEFINED: Final = object()  # JavaScript's `undefined` body: `JSON.stringify(undefined)` is the text `undefined`
HEARTBEAT_S: Final = 2.5  # L246: `now - curTime >= 2500`


class OfficialClientError(RuntimeError):
    """Where the official class would throw, or its promise would reject: the text says which."""


def js_stringify(value: object) -> str:
    """`JSON.stringify` for the values these clients send (objects, strings, numbers, `undefined`)."""
    if value is UNDEFINED:
        return "undefined"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def prepare_message(raw: str) -> tuple[str, list[Item]]:
    """L254-259: the frame's type character, and `JSON.parse` of the rest when there is a rest."""
    parsed = json.loads(raw[1:]) if len(raw) > 1 else []
    return raw[:1], parsed if isinstance(parsed, list) else [parsed]


def truthy(value: object) -> bool:
    """JavaScript truthiness for JSON values."""
    return value not in (None, False, 0, "") and value is not UNDEFINED


@dataclass
class _Pending:
    """One `send`: its id, its one-shot listener's outcome."""

    request_id: int
    url: str
    future: asyncio.Future[Item]
    on_response: Callable[[Item], None] | None = None


@dataclass
class Subscription:
    """What `subscribe` resolves to: the ids it used, and the async unsubscribe function (L234-239)."""

    realtime_id: object
    contract_id: object
    unsubscribe: Callable[[], Awaitable[None]]
    url_error: str | None = None  # the rejection the URL check made (the listener stays attached anyway)


@dataclass
class ClientRecord:
    """What the client sent and what went wrong inside it, for the tests."""

    sent: list[str] = field(default_factory=list)
    heartbeats: list[str] = field(default_factory=list)  # the type of the inbound frame each `[]` answered
    listener_errors: list[str] = field(default_factory=list)


class OfficialSocket:
    """One socket of the official class: `connect`, `send`, `subscribe`, and its frame handling."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        rest_url: str,
        md_url: str,
        trading_url: str,
        access_token: str,
        clock: Clock,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self._http = http
        self._rest_url = rest_url
        # L5: the class compares its socket URL with these constants (data.js / tutorialsURLs.js).
        self._md_url = md_url
        self._trading_url = trading_url
        self._access_token = access_token  # tvGet reads it from storage (services.js)
        self._clock = clock
        self._heartbeat_s = heartbeat_s
        self._counter = 0
        self._cur_time = clock()
        self.listeners: list[Listener] = []
        self._pending: list[_Pending] = []
        self._connect_token: str | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.listening_url = ""
        self.record = ClientRecord()
        self.closed = asyncio.Event()

    # -- connect (L51-87) --------------------------------------------------------------------------------------

    async def connect(self, url: str, token: str) -> None:
        """Open the socket; on `o` authorize with `token` (request 0); return when the authorize ack arrives."""
        self.listening_url = url
        self._ws = await self._http.ws_connect(url, autoping=True)
        self._connect_token = token
        connected: asyncio.Future[Item] = asyncio.get_running_loop().create_future()
        self._connected = connected
        self._tasks = [
            asyncio.create_task(self._read(), name="official-socket-reader"),
            asyncio.create_task(self._write_loop(), name="official-socket-writer"),
        ]
        await connected

    async def close(self) -> None:
        """Close the socket (the class itself never does; a test has to)."""
        if self._ws is not None:
            await self._ws.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._on_message(message.data)
                    await asyncio.sleep(0)  # the microtask checkpoint between two message events
        finally:
            self.closed.set()

    def _on_message(self, raw: str) -> None:
        # The listeners in the order the class adds them: onEvents (L60), onConnect (L72), then each send's (L107).
        self._on_events(raw)
        if self._connect_token is not None:
            self._on_connect(raw)
        for pending in list(self._pending):
            self._on_send_event(pending, raw)

    def _on_events(self, raw: str) -> None:
        self._check_heartbeats(raw)
        kind, data = prepare_message(raw)
        if kind == "a" and data:
            try:
                for listener in list(self.listeners):
                    for item in data:
                        listener(item)
            except (TypeError, AttributeError, KeyError) as error:
                # The JS throws out of this event handler: the rest of the frame reaches no listener.
                self.record.listener_errors.append(f"{type(error).__name__}: {error}")

    def _on_connect(self, raw: str) -> None:
        kind, _ = prepare_message(raw)
        if kind == "o":
            token, self._connect_token = self._connect_token, None

            def authorized(_item: Item) -> None:
                if not self._connected.done():
                    self._connected.set_result(None)

            self._send("authorize", None, token, on_response=authorized)

    def _check_heartbeats(self, raw: str) -> None:
        now = self._clock()
        if now - self._cur_time >= self._heartbeat_s:
            self._write("[]")
            self.record.heartbeats.append(raw[:1])
            self._cur_time = now

    # -- send (L102-126) ---------------------------------------------------------------------------------------

    def send(self, url: str, query: str | None = None, body: object = UNDEFINED) -> asyncio.Future[Item]:
        """Send `url\\nid\\nquery\\nbody`; the future settles on the first matching response."""
        return self._send(url, query, body)

    def _send(
        self, url: str, query: str | None, body: object, on_response: Callable[[Item], None] | None = None
    ) -> asyncio.Future[Item]:
        request_id = self._counter
        self._counter += 1
        future: asyncio.Future[Item] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(request_id, url, future, on_response))
        self._write(f"{url}\n{request_id}\n{query or ''}\n{js_stringify(body)}")
        return future

    def _on_send_event(self, pending: _Pending, raw: str) -> None:
        _, data = prepare_message(raw)
        for item in data:
            if not isinstance(item, dict) or pending.future.done():
                continue
            status, item_id = item.get("s"), item.get("i")
            if status == 200 and item_id == pending.request_id and type(item_id) is int:
                if pending.on_response is not None:
                    pending.on_response(item)
                self._pending.remove(pending)
                pending.future.set_result(item)
            elif truthy(status) and status != 200 and truthy(item_id) and item_id == pending.request_id:
                self._pending.remove(pending)
                reason = js_stringify(item["d"]) if "d" in item else "unknown"
                pending.future.set_exception(OfficialClientError(f"FAILED: operation '{pending.url}' reason {reason}"))

    def _write(self, text: str) -> None:
        # `ws.send` in the browser queues the frame and returns: the writer task keeps that order.
        self.record.sent.append(text)
        self._outbox.put_nowait(text)

    async def _write_loop(self) -> None:
        assert self._ws is not None
        while True:
            text = await self._outbox.get()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._ws.send_str(text)

    # -- subscribe (L144-241) ----------------------------------------------------------------------------------

    async def subscribe(self, url: str, body: dict[str, Any], subscription: Listener) -> Subscription:
        """Request, then attach the listener the endpoint calls for; returns the unsubscribe function."""
        response = await self.send(url, body=body)
        d = response.get("d", UNDEFINED)
        if d is UNDEFINED or d is None:
            raise OfficialClientError("TypeError: Cannot read properties of undefined (reading 'p-ticket')")
        if isinstance(d, dict) and truthy(d.get("p-ticket")):
            await asyncio.sleep(float(d.get("p-time", 0)))
            response = await self.send(url, body={**body, "p-ticket": d["p-ticket"]})
            d = response.get("d", UNDEFINED)
        fields = d if isinstance(d, dict) else {}
        realtime_id = fields.get("realtimeId") if truthy(fields.get("realtimeId")) else fields.get("subscriptionId")
        contract_id: object = None
        symbol = body.get("symbol")
        if truthy(symbol):
            if not isinstance(symbol, str):
                raise OfficialClientError("TypeError: body.symbol.startsWith is not a function")
            if not symbol.startswith("@"):
                contract_id = await self._contract_id(symbol)
        if not truthy(realtime_id) and truthy(fields.get("users")):
            subscription(d)
        return self._attach(url, body, subscription, realtime_id, contract_id)

    async def _contract_id(self, symbol: str) -> object:
        found = await self._tv_get("contract/find", name=symbol)
        if isinstance(found, dict) and truthy(found.get("id")):
            return found["id"]
        # L165: `await tvGet('/contract/suggest', ...)[0].id` indexes a Promise: a TypeError.
        raise OfficialClientError("TypeError: Cannot read properties of undefined (reading 'id')")

    async def _tv_get(self, endpoint: str, **query: str) -> object:
        headers = {"Authorization": f"Bearer {self._access_token}", "Accept": "application/json"}
        async with self._http.get(f"{self._rest_url}/{endpoint}", params=query, headers=headers) as reply:
            text = await reply.text()
        try:
            return json.loads(text)
        except ValueError:
            return None

    def _attach(
        self, url: str, body: dict[str, Any], subscription: Listener, realtime_id: object, contract_id: object
    ) -> Subscription:
        key = url.lower()
        cancel: tuple[str, dict[str, Any]] | None = None
        url_error: str | None = None
        listener: Listener
        if key == "md/getchart":
            cancel = ("md/cancelChart", {"subscriptionId": realtime_id})

            def listener(item: Item) -> None:
                charts = _member(item, "charts")
                for chart in charts or ():
                    if _strict_equal(chart.get("id"), realtime_id):
                        subscription(chart)

        elif key in ("md/subscribedom", "md/subscribequote", "md/subscribehistogram"):
            plural = {"md/subscribedom": "doms", "md/subscribequote": "quotes", "md/subscribehistogram": "histograms"}[
                key
            ]
            cancel = (key.replace("/subscribe", "/unsubscribe"), {"symbol": body.get("symbol")})

            def listener(item: Item) -> None:
                entries = _member(item, plural)
                for entry in entries or ():
                    if _strict_equal(entry.get("contractId"), contract_id):
                        subscription(entry)

        elif key == "user/syncrequest":

            def listener(item: Item) -> None:
                d = item.get("d") if isinstance(item, dict) else None
                if (isinstance(d, dict) and truthy(d.get("users"))) or item.get("e") == "props":
                    subscription(d)

        else:
            raise OfficialClientError("Incorrect URL parameters provided to subscribe.")
        expected = self._trading_url if key == "user/syncrequest" else self._md_url
        if self.listening_url != expected:
            url_error = f"Cannot subscribe to {url} without using the right URL."
        self.listeners.append(listener)

        async def unsubscribe() -> None:
            if listener in self.listeners:
                self.listeners.remove(listener)
            if cancel is not None:
                await self.send(cancel[0], body=cancel[1])

        return Subscription(realtime_id, contract_id, unsubscribe, url_error)


def _member(item: Item, key: str) -> Any:
    """`data.d[key]` as JavaScript reads it: a TypeError when `d` is missing or null, `undefined` on a string."""
    d = item.get("d", UNDEFINED) if isinstance(item, dict) else UNDEFINED
    if d is UNDEFINED or d is None:
        raise TypeError(f"Cannot read properties of {'null' if d is None else 'undefined'} (reading '{key}')")
    return d.get(key) if isinstance(d, dict) else None


def _strict_equal(left: object, right: object) -> bool:
    """`===` for JSON values: equal value and equal JavaScript type (None is never a match for a real id)."""
    if left is None or right is None:
        return False
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return left == right and isinstance(left, str) == isinstance(right, str)


async def access_token_request(http: aiohttp.ClientSession, rest_url: str, credentials: dict[str, Any]) -> Any:
    """The official examples' login: REST POST `auth/accesstokenrequest` with the credentials as JSON
    (example-api-faq `large-chart-requests/src/getAccessToken.js`; example-api-js EX-02)."""
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    async with http.post(f"{rest_url}/auth/accesstokenrequest", data=json.dumps(credentials), headers=headers) as reply:
        return json.loads(await reply.text())
