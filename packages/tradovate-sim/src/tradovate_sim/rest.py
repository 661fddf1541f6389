"""The REST endpoint `<base>/<entity>/<operation>`: HTTP in, `TradovateApi` answer out."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tradovate_sim.endpoints import ApiCall, TradovateApi
from tradovate_sim.recorder import Recorder
from tradovate_sim.wire import ABSENT, dumps


class RestGateway:
    """Serves Tradovate's REST API on the main listener."""

    def __init__(self, api: TradovateApi, recorder: Recorder) -> None:
        self._api = api
        self._recorder = recorder
        self._stopping = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One REST request; the path after the base path is the endpoint."""
        endpoint = request.match_info.get("tail", "").strip("/")
        body = await request.text() if request.can_read_body else ""
        query = request.query_string
        self._recorder.record_request(None, "rest", endpoint, None, query, body)
        reply = await self._api.call(
            ApiCall("rest", endpoint, query, body, token=_bearer(request), method=request.method)
        )
        if reply.never:
            # The order was executed; the client never learns the outcome (it times out or the sim stops).
            await self._stopping.wait()
            raise web.HTTPServiceUnavailable()
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        response = _http_response(reply.status, reply.data)
        text = response.text or ""
        messages = [(text, reply.data)] if reply.status == 200 and isinstance(reply.data, dict) else []
        self._recorder.record_frame(None, "rest", "http", f"{reply.status} {text}", messages)
        return response

    def stop(self) -> None:
        """Release handlers holding replies that will never come."""
        self._stopping.set()


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _http_response(status: int, data: object) -> web.Response:
    if status == 429 or data is ABSENT:
        # Tradovate's 429 has an empty body (P:overview/core-concepts/rate-limits).
        return web.Response(status=status)
    if 200 <= status < 300:
        return web.Response(status=status, text=dumps(data), content_type="application/json")
    return web.Response(status=status, text=str(data), content_type="text/plain")
