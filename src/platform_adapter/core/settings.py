"""The settings `core` takes: the mode and the outbox's bounds (built by `platform_adapter.config`)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

QTY_CEILING = 2**31 - 1
"""No order quantity above this passes the intent gate, whatever an instrument's `max_order_qty` says."""


class StrictModel(BaseModel):
    """A configuration table: frozen, unknown keys refused, NaN and infinities refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Mode(StrEnum):
    """The system mode set by the config module (spec 3.1)."""

    LIVE = "LIVE"  # market ingress and OE intents
    SIM = "SIM"  # market ingress only; intents are refused
    REPLAY = "REPLAY"  # the PA is disabled


class OutboxSettings(StrictModel):
    """The bounded fact outbox between the platform side and U (fail-closed watermarks)."""

    capacity: int = Field(default=100_000, gt=0, le=100_000_000)
    high_watermark: float = Field(default=0.5, gt=0, lt=1)  # PA_DEGRADED + halt above this fill
    low_watermark: float = Field(default=0.2, ge=0, lt=1)  # back to PA_UP under this fill
    telemetry_capacity: int = Field(default=1_000, gt=0, le=10_000_000)

    @model_validator(mode="after")
    def _check_order(self) -> OutboxSettings:
        if self.low_watermark >= self.high_watermark:
            raise ValueError("low_watermark must be below high_watermark")
        return self


class CoreSettings(StrictModel):
    """Everything the core needs of the configuration."""

    mode: Mode = Mode.LIVE
    outbox: OutboxSettings = OutboxSettings()
