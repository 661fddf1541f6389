"""Tradovate REST over aiohttp: bearer auth, the shared budget, penalty tickets and 429s."""

from __future__ import annotations

from typing import Any

import aiohttp

from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.budget import RequestBudget, Urgency
from platform_adapter.tradovate.errors import PlatformStatusError, Unauthorized
from platform_adapter.tradovate.protocol import encode_body, parse_penalty, with_ticket

_log = get_logger("pa.rest")


class RestClient:
    """JSON requests to `<base>/<path>`; penalties are waited out and retried with their ticket."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, budget: RequestBudget, *, timeout_s: float) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._budget = budget
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.token: str | None = None

    async def post(self, path: str, body: Any, *, auth: bool = True) -> bytes:
        """POST a JSON body; returns the response body bytes."""
        data = body if isinstance(body, bytes) else encode_body(body)
        return await self._call("POST", path, data=data, auth=auth)

    async def get(self, path: str, query: dict[str, str] | None = None, *, auth: bool = True) -> bytes:
        """GET with a query string; returns the response body bytes."""
        return await self._call("GET", path, query=query, auth=auth)

    async def _call(
        self, method: str, path: str, *, data: bytes | None = None, query: dict[str, str] | None = None, auth: bool
    ) -> bytes:
        # The session's token (login, renewal) is not held back by the hour (without it nothing goes, the kill
        # included), only by the logins of the last minute (ADR 0016).
        urgency = Urgency.AUTH if path.startswith("auth/") else Urgency.READ
        while True:
            await self._budget.acquire(urgency=urgency)
            headers = {"Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            if auth and self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            url = f"{self._base}/{path}"
            async with self._http.request(
                method, url, data=data, params=query, headers=headers, timeout=self._timeout
            ) as response:
                status = response.status
                content = await response.read()
            if status == 401:
                raise Unauthorized(f"{path}: 401 (token expired or revoked)")
            if status == 429:
                raise self._budget.rate_limited(path)
            if status >= 400:
                raise PlatformStatusError(status, content[:200].decode("utf-8", "replace"), path)
            penalty = parse_penalty(content) if content[:1] == b"{" else None
            if penalty is None:
                return content
            if penalty.captcha:
                raise self._budget.captcha(path)
            # Wait `p-time`, then send the identical body with the ticket (FAQ HowToHandleRequestLimits;
            # example-api-js EX-3-Time-Penalty). A GET has no body: it is simply asked again.
            self._budget.penalty(penalty.wait_s, path)
            if data is not None and penalty.ticket is not None:
                data = with_ticket(data, penalty.ticket)
