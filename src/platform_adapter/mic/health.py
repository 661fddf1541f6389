"""`HealthSignal`: PA_UP / PA_DEGRADED / PA_DOWN to OE, with typed reasons and `halt_required` (spec 4.4)."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from platform_adapter.mic.envelope import MIC_VERSION


class HealthState(StrEnum):
    """The PA's health as OE sees it."""

    UP = "PA_UP"
    DEGRADED = "PA_DEGRADED"
    DOWN = "PA_DOWN"


class HealthReason(StrEnum):
    """Why the PA is not PA_UP; several may hold at once."""

    CONNECTING = "connecting"
    HEARTBEAT_SILENCE = "heartbeat_silence"
    SOCKET_CLOSED = "socket_closed"
    SHUTDOWN_MAINTENANCE = "shutdown_maintenance"
    SHUTDOWN_QUOTA = "shutdown_quota"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - a reason code, not a secret
    AUTH_FAILED = "auth_failed"  # a login or token renewal failed (unreadable answer, refused renewal)
    AUTH_REJECTED = "auth_rejected"  # Tradovate refused the credentials: no further login until reloaded (ADR 0011)
    CONFIG_ERROR = "config_error"  # e.g. a configured symbol Tradovate does not know: fix the config
    MD_REFUSED = "md_refused"  # Tradovate answered a market-data request 200 with errorText: no data will come
    PENALTY_WAIT = "penalty_wait"
    REQUEST_BUDGET = "request_budget"  # the PA's own rolling-hour request limit holds reads back (ADR 0016)
    RATE_LIMITED = "rate_limited"
    CAPTCHA_REQUIRED = "captcha_required"
    CONSUMER_BACKPRESSURE = "consumer_backpressure"
    RESYNCING = "resyncing"
    GAVE_UP = "gave_up"
    STOPPED = "stopped"
    NOT_LEADER = "not_leader"  # this instance lost the account's lease: it stopped serving and stands by


class HealthSignal(msgspec.Struct, frozen=True, kw_only=True):
    """One health report; `seq` orders reports of one PA run."""

    state: HealthState
    halt_required: bool  # OE must halt trading: fact delivery or the platform link is at risk
    since: int  # UTC ns since when the PA has been in `state`
    ts: int  # UTC ns of this report
    seq: int
    reasons: tuple[HealthReason, ...] = ()
    detail: str = ""  # what happened and what the operator should do
    lease_epoch: int | None = None  # the lease epoch of the reporting PA instance: the greatest one is current
    v: int = MIC_VERSION
