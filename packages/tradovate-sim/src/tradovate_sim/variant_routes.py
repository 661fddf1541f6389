"""`/sim/variants` on the control endpoint: read the variant switches, and change them on a running simulator."""

from __future__ import annotations

import json

from aiohttp import web

from tradovate_sim.variants import VariantError, VariantState, describe_switches
from tradovate_sim.wire import dumps


def add_variant_routes(app: web.Application, state: VariantState) -> None:
    """`GET /sim/variants`, `POST /sim/variants {"switch": "value", ..}`, `DELETE /sim/variants` (back to the config).

    A change applies from the next request, frame or market step on; what already happened is not redone (a
    chart subscribed under one `chart_history_id` keeps the history it was sent).
    """

    def body(status: int, payload: object) -> web.Response:
        return web.Response(status=status, text=dumps(payload), content_type="application/json")

    def current() -> dict[str, object]:
        return {
            "current": state.current.as_dict(),
            "label": state.current.label,
            "switches": [info._asdict() for info in describe_switches()],
        }

    async def show(request: web.Request) -> web.Response:
        return body(200, current())

    async def change(request: web.Request) -> web.Response:
        try:
            changes = json.loads(await request.text() or "null")
        except ValueError:
            changes = None
        if not isinstance(changes, dict):
            return body(400, {"error": 'body must be a JSON object of switch: value, e.g. {"error_d":"quoted_string"}'})
        try:
            state.update(changes)
        except VariantError as error:
            return body(400, {"error": str(error)})
        return body(200, current())

    async def reset(request: web.Request) -> web.Response:
        state.reset()
        return body(200, current())

    app.router.add_get("/sim/variants", show)
    app.router.add_post("/sim/variants", change)
    app.router.add_delete("/sim/variants", reset)
