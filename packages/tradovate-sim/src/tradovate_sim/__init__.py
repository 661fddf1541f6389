"""A Tradovate simulator speaking the public wire protocol on loopback, with seeded market and faults.

It imports nothing of the Platform Adapter: it is "a separate Tradovate" with its own encoder, so a codec bug
in the PA cannot hide behind the same bug here; anyone testing a Tradovate client can use it
(`python -m tradovate_sim --help`).
"""

from tradovate_sim.clock import ManualClock, SimClock, SystemClock
from tradovate_sim.config import DEFAULT_PASSWORD, DEFAULT_USER, SimConfig
from tradovate_sim.contracts import CLF7, DEFAULT_CONTRACTS, ESZ6, MESZ6, NQZ6, ContractSpec, generated_contracts
from tradovate_sim.faults import FaultError, FaultInjector
from tradovate_sim.recorder import ReceivedRequest, SentFrame, SentMessage
from tradovate_sim.schedule import ScheduledFault, generate_schedule, load_schedule
from tradovate_sim.server import TradovateSim
from tradovate_sim.variants import EVIDENCE_DEFAULT, VariantError, Variants

__all__ = [
    "CLF7",
    "DEFAULT_CONTRACTS",
    "DEFAULT_PASSWORD",
    "DEFAULT_USER",
    "ESZ6",
    "EVIDENCE_DEFAULT",
    "MESZ6",
    "NQZ6",
    "ContractSpec",
    "FaultError",
    "FaultInjector",
    "ManualClock",
    "ReceivedRequest",
    "ScheduledFault",
    "SentFrame",
    "SentMessage",
    "SimClock",
    "SimConfig",
    "SystemClock",
    "TradovateSim",
    "VariantError",
    "Variants",
    "generate_schedule",
    "generated_contracts",
    "load_schedule",
]
