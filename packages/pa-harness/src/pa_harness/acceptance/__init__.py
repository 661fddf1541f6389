"""`pa acceptance`: the spec's acceptance tests (§7.4 A-E) run against the simulator, with an evidence report."""

from pa_harness.acceptance.criteria import CRITERIA, Bullet, Criterion
from pa_harness.acceptance.report import AcceptanceRun, judge, write_report
from pa_harness.acceptance.runner import AcceptanceSetupError, run_acceptance

__all__ = [
    "CRITERIA",
    "AcceptanceRun",
    "AcceptanceSetupError",
    "Bullet",
    "Criterion",
    "judge",
    "run_acceptance",
    "write_report",
]
