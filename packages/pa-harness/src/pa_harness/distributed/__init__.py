"""The reference U, Paper and OE on the NATS transport, each in its own process (harness only).

Like `pa_harness.reference`, this is not the PA and the PA never imports it: it runs the reference
modules against a PA on NATS for `make demo-distributed` and the end-to-end tests. U -> Paper -> OE travel
over streams of their own (`U_EVENTS`, `PAPER_EVENTS`), each written by its module's user only.
"""

from pa_harness.distributed.modules import run_reference_oe, run_reference_paper, run_reference_u
from pa_harness.distributed.round_trip import RoundTripResult, order_round_trip

__all__ = [
    "RoundTripResult",
    "order_round_trip",
    "run_reference_oe",
    "run_reference_paper",
    "run_reference_u",
]
