"""The operator's HTTP endpoints on 127.0.0.1: `/metrics` (Prometheus) and `/healthz` (for probes).

`/healthz` answers 200 only while the PA is PA_UP, 503 otherwise, with the health signal as JSON, so a
load balancer or a supervisor sees the same state OE sees.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from platform_adapter.config import ConfigError
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthState
from platform_adapter.operator.metrics import OperatorMetrics
from platform_adapter.telemetry import get_logger

_log = get_logger("pa.operator")
LOCALHOST = "127.0.0.1"


def health_body(health: HealthMonitor) -> dict[str, Any]:
    """The `/healthz` JSON body: the current signal plus the raised conditions behind it."""
    signal = health.current
    return {
        "state": signal.state.value,
        "reasons": [reason.value for reason in signal.reasons],
        "halt_required": signal.halt_required,
        "detail": signal.detail,
        "since": signal.since,
        "conditions": {
            key: {"reason": c.reason.value, "state": c.state.value, "halt": c.halt, "detail": c.detail}
            for key, c in sorted(health.conditions().items())
        },
    }


class OperatorEndpoints:
    """An aiohttp server for `/metrics` and `/healthz`; `start` binds (port 0 = a free port) and returns the port."""

    def __init__(
        self, health: HealthMonitor, metrics: OperatorMetrics, *, host: str = LOCALHOST, port: int = 0
    ) -> None:
        self._health = health
        self._metrics = metrics
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        prometheus = make_aiohttp_handler(metrics.registry, disable_compression=True)

        async def serve_metrics(request: web.Request) -> web.StreamResponse:
            self._metrics.poll()
            return await prometheus(request)

        app = web.Application()
        app.router.add_get("/metrics", serve_metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/", self._index)
        self._app = app

    @property
    def url(self) -> str:
        """The base URL (after `start`)."""
        return f"http://{self._host}:{self.port}"

    async def start(self) -> int:
        """Bind and serve; returns the bound port. Raises ConfigError when the port cannot be bound."""
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"metrics_port {self._port} cannot be served on {self._host}: {exc.strerror or exc}; "
                "choose a free port (metrics_port / PA_METRICS_PORT), or 0 for no /metrics and /healthz"
            ) from None
        self._runner = runner
        addresses = runner.addresses
        self.port = int(addresses[0][1]) if addresses else self._port
        _log.info("operator_endpoints", url=self.url, paths=["/metrics", "/healthz"])
        return self.port

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        body = health_body(self._health)
        status = 200 if self._health.state is HealthState.UP else 503
        return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(
            text="Platform Adapter operator endpoints: /metrics (Prometheus), /healthz (200 iff PA_UP)\n"
        )
