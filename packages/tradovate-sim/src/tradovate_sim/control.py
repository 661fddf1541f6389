"""The control endpoint `/sim/*` on the main listener, for tests and for a person driving the simulator."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

from tradovate_sim.faults import FaultError, FaultInjector
from tradovate_sim.wire import dumps


class Controllable(Protocol):
    """What the control endpoint reads and drives."""

    faults: FaultInjector

    def status(self) -> dict[str, Any]:
        """URLs, connections, market clock."""
        ...

    async def step_market(self, n: int) -> int:
        """Step the market; returns the step count."""
        ...

    def received_summary(self, endpoint: str | None) -> list[dict[str, Any]]:
        """Received requests as JSON."""
        ...


def add_control_routes(app: web.Application, sim: Controllable) -> None:
    """`POST /sim/faults`, `DELETE /sim/faults`, `POST /sim/market/step`, `GET /sim/status`, `GET /sim/requests`."""

    async def post_fault(request: web.Request) -> web.Response:
        spec = await _json(request)
        if spec is None:
            return _reply(400, {"error": "body must be a JSON object with a kind"})
        try:
            affected = await sim.faults.apply(spec)
        except FaultError as error:
            return _reply(400, {"error": str(error)})
        return _reply(200, {"ok": True, "kind": spec.get("kind"), "affected": affected})

    async def clear_faults(request: web.Request) -> web.Response:
        return _reply(200, {"ok": True, "affected": sim.faults.clear()})

    async def step(request: web.Request) -> web.Response:
        spec = await _json(request) or {}
        n = spec.get("n", 1)
        if not isinstance(n, int) or n < 1:
            return _reply(400, {"error": "n must be a positive integer"})
        return _reply(200, {"ok": True, "stepCount": await sim.step_market(n)})

    async def status(request: web.Request) -> web.Response:
        return _reply(200, sim.status())

    async def requests(request: web.Request) -> web.Response:
        return _reply(200, sim.received_summary(request.query.get("endpoint")))

    routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]]] = [
        ("POST", "/sim/faults", post_fault),
        ("DELETE", "/sim/faults", clear_faults),
        ("POST", "/sim/market/step", step),
        ("GET", "/sim/status", status),
        ("GET", "/sim/requests", requests),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)


async def _json(request: web.Request) -> Mapping[str, Any] | None:
    text = await request.text()
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _reply(status: int, payload: object) -> web.Response:
    return web.Response(status=status, text=dumps(payload), content_type="application/json")
