"""A crash soak's plan, drawn from one seed: where each PA instance is killed, and what OE sends meanwhile.

A kill is armed at a market step and fires at a point the simulator sees (`KillPoint`): when it receives an
order request, when it has sent an order's answer, when it accepts a reconnecting socket, when it receives a
backfill chart request, or at once. Everything comes from `random.Random(f"crash:{seed}")`; what a seed cannot
fix is the interleaving of real processes, and the invariants must hold for every interleaving.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from pa_harness.soak.plan import IntentKind, PlannedIntent

KillPoint = Literal["order_request", "order_answer", "reconnect", "backfill", "anytime"]
KILL_POINTS: tuple[KillPoint, ...] = ("order_request", "order_answer", "reconnect", "backfill", "anytime")
CrashMode = Literal["restart", "fight"]
"""`restart`: one instance, restarted after each kill. `fight`: two instances on one lease, the killed one
restarted as the standby (the other takes over)."""

_INTENTS: tuple[tuple[IntentKind, float], ...] = (
    ("market", 0.35),
    ("limit", 0.25),
    ("cancel", 0.15),
    ("flatten", 0.1),
    ("duplicate", 0.15),
)


@dataclass(frozen=True, slots=True)
class PlannedKill:
    """Arm a kill at `step`; it fires at the next `point` the simulator sees (or at once for `anytime`)."""

    step: int
    point: KillPoint
    socket: str  # the socket a `reconnect` / `backfill` kill closes first ("md", "trading", "all")


@dataclass(frozen=True)
class CrashPlan:
    """Everything a crash seed decides before the run."""

    seed: int
    mode: CrashMode
    steps: int
    kills: tuple[PlannedKill, ...]
    intents: tuple[PlannedIntent, ...]

    @property
    def kill_counts(self) -> Counter[str]:
        """Kills armed, by point."""
        return Counter(kill.point for kill in self.kills)


def plan_crash(seed: int, steps: int, mode: CrashMode, *, kills: int = 4, intent_every: int = 6) -> CrashPlan:
    """The plan of one seed: `kills` kills spread over the run (each point in turn, shuffled), and OE's intents."""
    rng = random.Random(f"crash:{seed}")
    points = list(KILL_POINTS)
    rng.shuffle(points)
    warm_up, cool_down = 20, 20  # no kill in the first and last steps: the run starts and ends with a live PA
    span = max(1, steps - warm_up - cool_down)
    planned_kills = tuple(
        PlannedKill(
            step=warm_up + (span * i) // max(1, kills) + rng.randrange(max(1, span // max(1, kills) // 2)),
            point=points[i % len(points)],
            socket=rng.choice(("md", "md", "trading", "all")) if points[i % len(points)] == "reconnect" else "md",
        )
        for i in range(kills)
    )
    kinds = [kind for kind, _ in _INTENTS]
    weights = [weight for _, weight in _INTENTS]
    intents = tuple(
        PlannedIntent(
            step=step,
            kind=rng.choices(kinds, weights)[0],
            symbol=rng.choice(("ESZ6", "NQZ6")),
            buy=rng.random() < 0.5,
            pick=rng.random(),
        )
        for step in range(5, steps - 10, intent_every)
    )
    return CrashPlan(seed, mode, steps, planned_kills, intents)
