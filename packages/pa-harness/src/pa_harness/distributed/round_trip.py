"""The order round trip the distributed demo runs from OE: PA_UP, a market buy, its fill via U -> Paper, flatten."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pa_harness.reference.oe import ReferenceOE, TradingHalted
from platform_adapter.mic import AckStatus, HealthState, OrderAction


@dataclass
class RoundTripResult:
    """What OE saw, step by step; `error` says which step failed."""

    health: str | None = None
    submit_intent_id: str | None = None
    submit_ack: str | None = None
    order_id: int | None = None
    outcome: str | None = None
    flatten_ack: str | None = None
    liquidation_order_ids: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The order was accepted and filled, and the flatten accepted."""
        return (
            self.error is None
            and self.submit_ack == AckStatus.ACCEPTED.value
            and self.outcome == "Filled"
            and self.flatten_ack == AckStatus.ACCEPTED.value
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with `ok`."""
        return {**asdict(self), "ok": self.ok}


async def order_round_trip(
    oe: ReferenceOE,
    *,
    account_id: int,
    symbol: str,
    health_timeout_s: float = 30.0,
    fill_timeout_s: float = 15.0,
) -> RoundTripResult:
    """Wait for PA_UP, buy 1 at market, wait for the fill from platform facts, flatten; never raises a step error."""
    result = RoundTripResult()
    try:
        up = await oe.wait_health(lambda s: s.state is HealthState.UP, timeout=health_timeout_s)
        result.health = up.state.value
        ack = await oe.submit_market(account_id, symbol, OrderAction.BUY, 1)
        result.submit_intent_id, result.submit_ack, result.order_id = (
            ack.intent_id,
            ack.status.value,
            ack.platform_order_id,
        )
        outcome = await oe.wait_outcome(ack.intent_id, {"Filled", "Rejected"}, timeout=fill_timeout_s)
        result.outcome = outcome.status
        flat = await oe.flatten(symbol, account_id=account_id)
        result.flatten_ack = flat.status.value
        result.liquidation_order_ids = list(flat.platform_order_ids)
    except (TimeoutError, TradingHalted) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result
