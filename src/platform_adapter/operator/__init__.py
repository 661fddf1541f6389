"""The operator's view of a running PA: a live status view, `/metrics` and `/healthz` on 127.0.0.1.

Nothing here is on the PA's data path except `FactTap`, a thin `FactSink` wrapper that remembers the last
forwarded fact per contract and stream (see `tap.py` for its per-fact cost).
"""

from platform_adapter.operator.http import OperatorEndpoints, health_body
from platform_adapter.operator.metrics import OperatorMetrics
from platform_adapter.operator.session import OperatorSession
from platform_adapter.operator.snapshot import StatusSnapshot, StatusSource
from platform_adapter.operator.tap import FactTap
from platform_adapter.operator.view import render_status

__all__ = [
    "FactTap",
    "OperatorEndpoints",
    "OperatorMetrics",
    "OperatorSession",
    "StatusSnapshot",
    "StatusSource",
    "health_body",
    "render_status",
]
