"""The WebSocket endpoint: `o` on connect, `authorize`, request frames, client heartbeats and timeouts.

Tradovate closes a socket that does not authorize soon after `o` (ISS#23) or stops sending `[]`
heartbeats (WSMD; DOCS "Client Heartbeats"); neither delay is documented, so both are settings here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from tradovate_sim.auth import Authenticator, TokenState
from tradovate_sim.config import SimConfig
from tradovate_sim.connection import ConnectionRegistry, SimConnection, SocketKind
from tradovate_sim.endpoints import ApiCall, TradovateApi
from tradovate_sim.market_data import MarketDataService
from tradovate_sim.recorder import Recorder
from tradovate_sim.sync import UserSync
from tradovate_sim.variants import VariantState
from tradovate_sim.wire import (
    CLIENT_HEARTBEAT,
    JsonObject,
    UnparsableRequest,
    dumps,
    parse_request,
    response_message,
)

# Close codes and reasons are the simulator's choice; Tradovate documents only `c[3000,"Go away!"]`.
AUTH_TIMEOUT_CLOSE = (3001, "Authorization timeout")
CLIENT_SILENT_CLOSE = (3002, "Heartbeat timeout")
AUTHORIZE_REJECTED_TEXT = "Invalid access token"

log = logging.getLogger(__name__)


class WebSocketGateway:
    """Accepts Tradovate sockets (trading or market data) and runs each one's protocol."""

    def __init__(
        self,
        config: SimConfig,
        variants: VariantState,
        registry: ConnectionRegistry,
        recorder: Recorder,
        auth: Authenticator,
        api: TradovateApi,
        market_data: MarketDataService,
        sync: UserSync,
    ) -> None:
        self._config = config
        self._variants = variants
        self._registry = registry
        self._recorder = recorder
        self._auth = auth
        self._api = api
        self._md = market_data
        self._sync = sync
        self._replies: set[asyncio.TimerHandle] = set()

    def handler(self, kind: SocketKind) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """An aiohttp handler serving sockets of one kind."""

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.serve(request, kind)

        return handle

    async def serve(self, request: web.Request, kind: SocketKind) -> web.StreamResponse:
        """Run one socket until it closes."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        transport = request.transport
        peername = transport.get_extra_info("peername") if transport is not None else None

        def abort() -> None:
            if transport is not None:
                transport.abort()

        conn = SimConnection(
            self._registry.next_id(),
            kind,
            ws,
            self._recorder,
            self._config.heartbeat_interval_s,
            self._variants,
            abort,
            peer=(str(peername[0]), int(peername[1])) if isinstance(peername, tuple) else None,
        )
        self._registry.add(conn)
        conn.send_open()
        watchdog = asyncio.create_task(self._watchdog(conn), name=f"sim-conn-{conn.id}-watchdog")
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._on_text(conn, message.data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
            conn.connection_lost()
            self._registry.remove(conn)
            self._md.forget(conn)
            self._sync.forget(conn)
        return ws

    async def _on_text(self, conn: SimConnection, text: str) -> None:
        loop = asyncio.get_running_loop()
        conn.last_received = loop.time()
        self._recorder.record_inbound(conn.id, conn.kind, text)
        if text == CLIENT_HEARTBEAT or conn.is_closing:
            return
        parsed = parse_request(text)
        if isinstance(parsed, UnparsableRequest):
            # Nothing to answer without a request id; the raw frame stays in the inbound record.
            return
        self._recorder.record_request(conn.id, conn.kind, parsed.endpoint, parsed.request_id, parsed.query, parsed.body)
        if parsed.endpoint.lower() == "authorize":
            self._authorize(conn, parsed.request_id, _token(parsed.body))
            return
        with conn.events_after_response():
            call = ApiCall(
                conn.kind, parsed.endpoint, parsed.query, parsed.body, connection=conn, request_id=parsed.request_id
            )
            try:
                reply = await self._api.call(call)
            except Exception as error:
                # A simulator bug must surface in the test as a 500, not as a silently dead socket.
                log.exception("simulator failed on %s", parsed.endpoint)
                failure = response_message(parsed.request_id, 500, f"Simulator error: {error!r}")
                conn.send_messages([self._shape(failure)])
                return
            response = self._shape(reply.as_message(parsed.request_id))
            if reply.never:
                pass  # the order was executed; its reply is lost (outcome unknown to the client)
            elif reply.delay_s > 0:
                handle = loop.call_later(reply.delay_s, conn.send_messages, [response])
                self._replies.add(handle)
            else:
                conn.send_messages([response])
            conn.send_events(reply.events)

    def _authorize(self, conn: SimConnection, request_id: int, token: str) -> None:
        state, user_id = self._auth.check(token, md_socket=conn.kind == "md")
        if state is TokenState.VALID and user_id is not None:
            conn.user_id = user_id
            conn.token = token
            conn.send_messages([response_message(request_id, 200)])
        else:
            conn.send_messages([self._shape(response_message(request_id, 401, AUTHORIZE_REJECTED_TEXT))])

    def _shape(self, response: JsonObject) -> JsonObject:
        """An error response's text `d` as the `error_d` variant says: a JSON string, or that string JSON-encoded."""
        data = response.get("d")
        if self._variants.current.error_d == "quoted_string" and response["s"] != 200 and isinstance(data, str):
            return {**response, "d": dumps(data)}
        return response

    async def _watchdog(self, conn: SimConnection) -> None:
        loop = asyncio.get_running_loop()
        auth_timeout = self._config.auth_timeout_s
        client_timeout = self._config.client_timeout_s
        while not conn.is_closing:
            now = loop.time()
            if not conn.authorized and now - conn.opened_at >= auth_timeout:
                await conn.close(*AUTH_TIMEOUT_CLOSE)
                return
            if now - conn.last_received >= client_timeout:
                await conn.close(*CLIENT_SILENT_CLOSE)
                return
            deadline = conn.last_received + client_timeout
            if not conn.authorized:
                deadline = min(deadline, conn.opened_at + auth_timeout)
            await asyncio.sleep(max(0.005, deadline - now))

    def cancel_pending_replies(self) -> None:
        """Forget delayed replies (on stop)."""
        for handle in self._replies:
            handle.cancel()
        self._replies.clear()


def _token(body: str) -> str:
    """The token of an `authorize` body: raw (WSMD) or JSON-quoted, as the official JS client sends it.

    FAQ-LCR tvSocket.js passes the token through `JSON.stringify`, so it arrives as `"<token>"`.
    """
    text = body.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            decoded = json.loads(text)
        except ValueError:
            return text
        return decoded if isinstance(decoded, str) else text
    return text
