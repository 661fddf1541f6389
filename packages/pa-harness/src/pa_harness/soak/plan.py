"""A soak run's plan, drawn from one seed: which fault fires at which market step, when U stalls, what OE sends.

Everything comes from `random.Random(seed)`, so a failing seed is replayed from its number: the same plan,
the same simulator market (the simulator is seeded with the same number) and the same PA backoff jitter.
What a seed cannot fix is the interleaving of real loopback I/O between the three parties; the invariant
must hold for every interleaving, so a violation is a bug whatever the interleaving was.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from platform_adapter.mic import Cancel, Flatten, Intent, OrderAction, OrderType, SubmitOrder
from tradovate_sim import ScheduledFault, TradovateSim

IntentKind = Literal["market", "limit", "cancel", "flatten", "flatten_all", "duplicate"]

# Frames that are not valid Tradovate framing at all: the PA must forward each as one `undecodable` fact.
MALFORMED_TEXTS: tuple[str, ...] = (
    'a[{"e":"md","d":{"quotes":[{"timestamp":"2026-11-25T14:30:00.000Z","contractId":',
    "x-not-a-sockjs-frame",
    'a{"e":"md"}',
    'a[{"e":"props","d":{}}',
    "c[3000,",
    "",
    "a[\u00e9\u20ac",
)

# A 429 locks every request out for an hour (budget.LOCKOUT_S). It is armed on `position/list`, a read that
# only a flatten-all intent makes, so the 429 itself costs no order; the soak then moves the clock past the
# lock-out during the final quiesce and checks the PA recovers to PA_UP by itself.
RATE_LIMITED_ENDPOINT = "position/list"


@dataclass(frozen=True, slots=True)
class PlannedFault:
    """One simulator fault at a market step, and how the soak follows it up."""

    step: int
    fault: dict[str, Any]  # as for `sim.faults.apply` / a `pa sim --faults` entry
    hold_steps: int = 0  # silence / down / refuse / slow: steps until the soak ends the condition
    jump_s: float = 0.0  # after firing, move the PA clock this far at once (past the silence bound)

    @property
    def kind(self) -> str:
        """The fault kind, with the variant that matters for the figures (`close_sockets:md`, ...)."""
        kind = str(self.fault["kind"])
        if kind == "shutdown":
            return f"shutdown:{self.fault['reason_code']}"
        target = self.fault.get("target")
        return f"{kind}:{target}" if isinstance(target, str) else kind


@dataclass(frozen=True, slots=True)
class PlannedStall:
    """U stops consuming at `step` and resumes `steps` later."""

    step: int
    steps: int


@dataclass(frozen=True, slots=True)
class PlannedIntent:
    """One intent OE sends at `step` (in the background: a dropped reply must not block the soak)."""

    step: int
    kind: IntentKind
    symbol: str
    buy: bool
    pick: float  # which known order a cancel targets / which earlier intent a duplicate repeats


@dataclass(frozen=True)
class SoakPlan:
    """Everything a seed decides before the run."""

    seed: int
    steps: int
    faults: tuple[PlannedFault, ...]
    stalls: tuple[PlannedStall, ...]
    intents: tuple[PlannedIntent, ...]
    telemetry_every: int = 3  # put one optional telemetry record every n steps (shed first under backpressure)
    fault_counts: dict[str, int] = field(default_factory=dict)

    def schedule(self) -> tuple[ScheduledFault, ...]:
        """The simulator faults as a schedule (`pa sim --faults` JSON via `as_json`)."""
        return tuple(ScheduledFault(fault=dict(f.fault), at_step=f.step) for f in self.faults)


@dataclass(frozen=True)
class PlanShape:
    """How dense a plan is (per 100 market steps) and what its faults look like."""

    faults_per_100: float = 8.0
    stalls_per_100: float = 1.5
    stall_steps: tuple[int, int] = (5, 120)
    intent_rate: float = 0.08  # intents per step
    rate_limit_probability: float = 0.1  # at most one 429 per seed
    silence_jump_s: float = 11.0  # > the soak's silence bound, so the PA's watchdog fires
    symbols: tuple[str, ...] = ("ESZ6", "NQZ6")


def _weighted(rng: random.Random, table: list[tuple[int, Any]]) -> Any:
    total = sum(w for w, _ in table)
    pick = rng.uniform(0, total)
    for weight, value in table:
        pick -= weight
        if pick <= 0:
            return value
    return table[-1][1]


def _draw_fault(rng: random.Random, step: int, shape: PlanShape) -> PlannedFault:
    socket = rng.choice(("md", "trading", "all"))
    one = rng.choice(("md", "trading"))
    kind = _weighted(
        rng,
        [
            (7, "close"),
            (3, "silence"),
            (3, "shutdown"),
            (3, "penalty"),
            (3, "duplicate"),
            (3, "reorder"),
            (3, "malformed"),
            (2, "co_batch"),
            (2, "delay_reply"),
            (2, "drop_reply"),
            (1, "expire_tokens"),
            (1, "down"),
            (1, "refuse"),
            (1, "slow"),
        ],
    )
    if kind == "close":
        return PlannedFault(step, {"kind": "close_sockets", "target": socket, "abrupt": rng.random() < 0.3})
    if kind == "silence":
        watchdog = rng.random() < 0.5
        return PlannedFault(
            step,
            {"kind": "silence", "target": socket, "drop": rng.random() < 0.3},
            hold_steps=rng.randint(3, 30),
            jump_s=shape.silence_jump_s if watchdog else 0.0,
        )
    if kind == "shutdown":
        quota = rng.random() < 0.4
        return PlannedFault(
            step,
            {
                "kind": "shutdown",
                "target": socket,
                "reason_code": "ConnectionQuotaReached" if quota else "Maintenance",
                "revoke_token": quota,
            },
        )
    if kind == "penalty":
        endpoint = rng.choice((None, "order/placeorder", "md/getchart", "user/syncrequest", "order/cancelorder"))
        return PlannedFault(
            step, {"kind": "penalty", "n": 1, "seconds": float(rng.randint(1, 3)), "endpoint": endpoint}
        )
    if kind == "duplicate":
        return PlannedFault(step, {"kind": "duplicate_frames", "target": one, "n": rng.randint(1, 3)})
    if kind == "reorder":
        return PlannedFault(step, {"kind": "reorder_frames", "target": one, "n": rng.randint(1, 2)})
    if kind == "malformed":
        return PlannedFault(step, {"kind": "malformed_frame", "target": one, "text": rng.choice(MALFORMED_TEXTS)})
    if kind == "co_batch":
        return PlannedFault(step, {"kind": "co_batch", "target": "trading", "n": rng.randint(1, 2)})
    if kind == "delay_reply":
        return PlannedFault(step, {"kind": "delay_order_replies", "seconds": round(rng.uniform(0.02, 0.4), 3), "n": 1})
    if kind == "drop_reply":
        return PlannedFault(step, {"kind": "drop_order_replies", "n": 1})
    if kind == "expire_tokens":
        return PlannedFault(step, {"kind": "expire_tokens"})
    if kind == "down":
        return PlannedFault(step, {"kind": "down"}, hold_steps=rng.randint(3, 25))
    if kind == "refuse":
        listener = rng.choice(("main", "md", "all"))
        return PlannedFault(step, {"kind": "refuse_connections", "listener": listener}, hold_steps=rng.randint(3, 25))
    return PlannedFault(step, {"kind": "slow", "target": one, "delay_s": 0.001}, hold_steps=rng.randint(3, 15))


def plan_soak(seed: int, steps: int, shape: PlanShape | None = None) -> SoakPlan:
    """Draw the plan of one seed."""
    shape = shape or PlanShape()
    rng = random.Random(seed)
    first = min(10, max(1, steps // 10))  # let the PA come up before the first fault
    span = max(first, steps - 5)
    n_faults = max(1, round(steps * shape.faults_per_100 / 100))
    faults = [_draw_fault(rng, rng.randint(first, span), shape) for _ in range(n_faults)]
    if rng.random() < shape.rate_limit_probability:
        step = rng.randint(first, span)
        faults.append(PlannedFault(step, {"kind": "rate_limit", "n": 1, "endpoint": RATE_LIMITED_ENDPOINT}))
    faults.sort(key=lambda f: f.step)
    stalls: list[PlannedStall] = []
    n_stalls = max(1, round(steps * shape.stalls_per_100 / 100))
    for _ in range(n_stalls):
        stalls.append(PlannedStall(rng.randint(first, span), rng.randint(*shape.stall_steps)))
    stalls.sort(key=lambda s: s.step)
    intents: list[PlannedIntent] = []
    for step in range(first, span + 1):
        if rng.random() >= shape.intent_rate:
            continue
        kind: IntentKind = _weighted(
            rng, [(3, "market"), (3, "limit"), (2, "cancel"), (1, "flatten"), (1, "duplicate"), (0, "flatten_all")]
        )
        intents.append(PlannedIntent(step, kind, rng.choice(shape.symbols), rng.random() < 0.5, rng.random()))
    for fault in faults:
        if fault.fault["kind"] == "rate_limit":  # the read that meets the armed 429
            intents.append(PlannedIntent(fault.step + 1, "flatten_all", shape.symbols[0], True, 0.0))
    intents.sort(key=lambda i: i.step)
    counts = Counter(f.kind for f in faults)
    return SoakPlan(seed, steps, tuple(faults), tuple(stalls), tuple(intents), fault_counts=dict(counts))


ACCOUNT_ID = 701234
"""The simulator account both soaks trade."""


def intent_for(
    planned: PlannedIntent,
    *,
    new_id: Callable[[], str],
    sim: TradovateSim,
    working: list[int],
    sent: Sequence[Intent],
) -> Intent | None:
    """The intent OE sends for `planned` (None: a repeat before anything was sent). A cancel takes its order out of
    `working`; a limit rests 40 ticks away from the touch; a repeat is one of the intents `sent` earlier, which
    must never be sent twice."""
    action = OrderAction.BUY if planned.buy else OrderAction.SELL
    if planned.kind in ("market", "limit"):
        price = None
        if planned.kind == "limit":
            spec = next(c for c in sim.catalog.contracts if c.name == planned.symbol)
            book = sim.market.contract(spec.id)
            price = float(spec.price(book.bid - 40 if planned.buy else book.ask + 40))
        return SubmitOrder(
            intent_id=new_id(),
            account_id=ACCOUNT_ID,
            symbol=planned.symbol,
            action=action,
            qty=1,
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            price=price,
        )
    if planned.kind == "cancel":
        order_id = working.pop(int(planned.pick * len(working))) if working else 41_999_999
        return Cancel(intent_id=new_id(), account_id=ACCOUNT_ID, order_id=order_id)
    if planned.kind in ("flatten", "flatten_all"):
        symbol = planned.symbol if planned.kind == "flatten" else None
        return Flatten(intent_id=new_id(), account_id=ACCOUNT_ID, symbol=symbol)
    return sent[int(planned.pick * len(sent))] if sent else None
