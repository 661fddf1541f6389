"""One probe session: the HTTP clients, the PA's REST client, token manager and shared budget, and sockets.

REST traffic is recorded with aiohttp's tracing hooks, so the PA's own `RestClient` and `TokenManager`
(penalty tickets, 429 lock-outs, single-flight tokens) run unchanged while every request and response
lands in the capture, masked.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from platform_adapter.config import Credentials, Settings
from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthSignal
from platform_adapter.probe.capture import CaptureWriter
from platform_adapter.probe.socket import ProbeSocket
from platform_adapter.probe.target import ProbeTarget
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.budget import RequestBudget
from platform_adapter.tradovate.rest import RestClient


class HealthLog:
    """Keeps the health signals the budget and token manager raise (penalties, lock-outs) for P9."""

    def __init__(self) -> None:
        self.signals: list[HealthSignal] = []

    async def publish(self, signal: HealthSignal) -> None:
        """Keep one signal."""
        self.signals.append(signal)


@dataclass
class ProbeSession:
    """Everything the steps share."""

    target: ProbeTarget
    settings: Settings
    capture: CaptureWriter
    clock: Clock
    rest_http: aiohttp.ClientSession
    ws_http: aiohttp.ClientSession
    health: HealthMonitor
    budget: RequestBudget
    rest: RestClient
    tokens: TokenManager
    heartbeat_s: float
    sockets: list[ProbeSocket] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)

    def socket(self, socket: str, label: str | None = None) -> ProbeSocket:
        """A new (unopened) socket: `md` or `trading`; named `md-1`, `md-2`, ... or `md-<label>`."""
        if label is None:
            self._counts[socket] = self._counts.get(socket, 0) + 1
            label = str(self._counts[socket])
        url = self.target.md_ws_url if socket == "md" else self.target.trading_ws_url
        probe_socket = ProbeSocket(
            socket,
            f"{socket}-{label}",
            url,
            http=self.ws_http,
            capture=self.capture,
            budget=self.budget,
            clock=self.clock,
            request_timeout_s=self.settings.heartbeat.request_timeout_s,
            heartbeat_s=self.heartbeat_s,
        )
        self.sockets.append(probe_socket)
        return probe_socket

    async def close_sockets(self) -> None:
        """Close every socket still open."""
        for probe_socket in self.sockets:
            await probe_socket.close()


@contextlib.asynccontextmanager
async def open_session(
    target: ProbeTarget,
    settings: Settings,
    credentials: Credentials,
    capture: CaptureWriter,
    clock: Clock,
    *,
    heartbeat_s: float,
) -> AsyncIterator[ProbeSession]:
    """Open the HTTP clients and build the PA's REST client, budget and token manager on them."""
    health = HealthMonitor(clock, HealthLog())
    budget = RequestBudget(clock, health)
    trace = rest_recorder(capture, target.rest_url)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as rest_http,
        aiohttp.ClientSession() as ws_http,
    ):
        rest = RestClient(rest_http, target.rest_url, budget, timeout_s=settings.heartbeat.request_timeout_s)
        tokens = TokenManager(rest, credentials, settings, clock, health)
        session = ProbeSession(
            target, settings, capture, clock, rest_http, ws_http, health, budget, rest, tokens, heartbeat_s
        )
        try:
            yield session
        finally:
            await session.close_sockets()


def rest_recorder(capture: CaptureWriter, rest_url: str) -> aiohttp.TraceConfig:
    """aiohttp tracing hooks that write each REST request and its response to the capture."""
    base_path = urlsplit(rest_url).path.rstrip("/")
    trace = aiohttp.TraceConfig()

    def endpoint(url_path: str) -> str:
        path = url_path[len(base_path) :] if base_path and url_path.startswith(base_path) else url_path
        return path.strip("/")

    async def on_start(_: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestStartParams) -> None:
        ctx.at = capture.now()
        ctx.body = b""

    async def on_chunk_sent(
        _: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestChunkSentParams
    ) -> None:
        ctx.body += params.chunk

    def record_send(ctx: SimpleNamespace, method: str, url: URL) -> None:
        capture.http(
            "send",
            at=ctx.at,
            method=method,
            endpoint=endpoint(url.path),
            query=url.query_string,
            text=ctx.body.decode("utf-8", "replace"),
        )
        ctx.method, ctx.endpoint, ctx.query = method, endpoint(url.path), url.query_string

    async def on_end(_: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams) -> None:
        record_send(ctx, params.method, params.url)
        ctx.status = params.response.status
        ctx.headers = list(params.response.headers.items())

    async def on_chunk_received(
        _: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceResponseChunkReceivedParams
    ) -> None:
        capture.http(
            "recv",
            method=ctx.method,
            endpoint=ctx.endpoint,
            query=ctx.query,
            text=params.chunk.decode("utf-8", "replace"),
            status=ctx.status,
            headers=ctx.headers,
        )

    async def on_exception(
        _: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestExceptionParams
    ) -> None:
        record_send(ctx, params.method, params.url)
        capture.http(
            "recv",
            method=params.method,
            endpoint=endpoint(params.url.path),
            query=params.url.query_string,
            text=f"(no response: {type(params.exception).__name__}: {params.exception})",
        )

    trace.on_request_start.append(on_start)
    trace.on_request_chunk_sent.append(on_chunk_sent)
    trace.on_request_end.append(on_end)
    trace.on_response_chunk_received.append(on_chunk_received)
    trace.on_request_exception.append(on_exception)
    return trace
