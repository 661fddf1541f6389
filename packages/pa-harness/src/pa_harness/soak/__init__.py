"""The seeded fault soak (tracker issue 7): simulator faults + a stalling U + OE intents, then the no-loss check.

`run_soak(seed, steps=...)` runs one seed and returns a `SoakResult`; `soak_main(...)` runs many with a
progress bar and a summary table (`pa soak`). `docs/reliability.md` states the invariant and the figures.
"""

from pa_harness.soak.command import soak_main
from pa_harness.soak.delivery import DeliveryEvidence, DeliveryReport, check_delivery
from pa_harness.soak.plan import PlanShape, SoakPlan, plan_soak
from pa_harness.soak.runner import SoakConfig, SoakResult, run_soak, run_soak_async

__all__ = [
    "DeliveryEvidence",
    "DeliveryReport",
    "PlanShape",
    "SoakConfig",
    "SoakPlan",
    "SoakResult",
    "check_delivery",
    "plan_soak",
    "run_soak",
    "run_soak_async",
    "soak_main",
]
