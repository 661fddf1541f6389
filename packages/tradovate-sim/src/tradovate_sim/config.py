"""Settings of one simulator instance; every default is what a person gets from `pa sim`."""

from __future__ import annotations

from dataclasses import dataclass, field

from tradovate_sim.clock import SimClock, SystemClock
from tradovate_sim.contracts import DEFAULT_CONTRACTS, ContractSpec
from tradovate_sim.schedule import ScheduledFault
from tradovate_sim.variants import Variants

DEFAULT_USER = "demo"
DEFAULT_PASSWORD = "demo-password"  # noqa: S105 - a public demo credential of the simulator, not a secret


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes a run; with the same values (and seed) two runs emit the same frames."""

    seed: int = 1
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    user_id: int = 5001
    account_id: int = 701234
    base_path: str = "/v1"
    contracts: tuple[ContractSpec, ...] = DEFAULT_CONTRACTS
    # Virtual market clock: live trading starts here; history is generated up to it.
    market_start: str = "2026-11-25T14:30:00Z"
    history_s: float = 4 * 3600.0
    # Each step advances market time by a seeded interval drawn from this range (ms).
    trade_interval_ms: tuple[int, int] = (100, 1900)
    # Wall seconds between automatic steps; None = manual stepping only (`await sim.market.step(n)`).
    tick_interval_s: float | None = None
    heartbeat_interval_s: float = 2.5
    auth_timeout_s: float = 10.0
    client_timeout_s: float = 10.0
    # Seconds from issue to `expirationTime`; None = the `token_lifetime` variant (80 or 90 minutes).
    token_lifetime_s: float | None = None
    max_history_elements: int = 20_000
    bars_per_packet: int = 500
    ticks_per_packet: int = 200
    dom_depth: int = 10
    # Largest quantity one fill may carry; None = orders fill completely at once.
    partial_fill_qty: int | None = None
    initial_balance: float = 50_000.0
    fee_per_contract: float = 0.0
    # After this many consecutive bad logins accesstokenrequest answers a captcha penalty; None = never.
    bad_login_penalty_after: int | None = None
    # Tradovate's hard limit, evaluated over the previous hour (tradovate/api#25: 5,000): a request beyond it is
    # answered 429 until enough of the last hour's requests have aged out; None = no limit (the default).
    hourly_request_limit: int | None = None
    # The answer to every question the public sources leave open (docs/simulator.md "Variants").
    variants: Variants = field(default_factory=Variants)
    fault_schedule: tuple[ScheduledFault, ...] = ()
    # Keep at most this many sent frames/messages/requests in the records (None = all; `pa sim` caps it).
    max_records: int | None = None
    clock: SimClock = field(default_factory=SystemClock)

    @property
    def account_name(self) -> str:
        """The account name (also valid as `accountSpec`)."""
        return f"DEMO{self.account_id}"
