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


class LedgerSettings(StrictModel):
    """How long the intent ledger keeps closed entries (open ones, outcome not known, are kept until resolved)."""

    max_age_s: float = Field(default=7 * 24 * 3600.0, gt=0, le=366 * 24 * 3600.0)
    max_entries: int = Field(default=100_000, gt=0, le=100_000_000)


class LeaseSettings(StrictModel):
    """The account lease (one active PA): how fast a dead holder's lease lapses, how often it is renewed."""

    ttl_s: float = Field(default=3.0, gt=0, le=3600)  # a standby takes over at most this long after a holder died
    renew_s: float = Field(default=1.0, gt=0, le=1800)
    poll_s: float = Field(default=0.25, gt=0, le=60)  # how often a standby asks

    @model_validator(mode="after")
    def _check_renewal(self) -> LeaseSettings:
        if self.renew_s * 2 > self.ttl_s:
            raise ValueError("renew_s must be at most half of ttl_s (one late renewal must not lose the lease)")
        return self


class StopSettings(StrictModel):
    """A graceful stop (SIGTERM / SIGINT): how long to let in-flight intents finish and the outbox drain."""

    in_flight_s: float = Field(default=5.0, ge=0, le=600)
    drain_s: float = Field(default=10.0, ge=0, le=3600)


class CoreSettings(StrictModel):
    """Everything the core needs of the configuration."""

    mode: Mode = Mode.LIVE
    outbox: OutboxSettings = OutboxSettings()
    ledger: LedgerSettings = LedgerSettings()
    lease: LeaseSettings = LeaseSettings()
    stop: StopSettings = StopSettings()
