"""A Tradovate simulator speaking the public wire protocol on loopback, with seeded market and faults.

It imports nothing from the rest of `platform_adapter`: it is "a separate Tradovate", so a codec bug in
the PA cannot hide behind the same bug here.
"""

from platform_adapter.sim.clock import ManualClock, SimClock, SystemClock
from platform_adapter.sim.config import DEFAULT_PASSWORD, DEFAULT_USER, SimConfig
from platform_adapter.sim.contracts import CLF7, ESZ6, MESZ6, NQZ6, ContractSpec
from platform_adapter.sim.faults import FaultError, FaultInjector
from platform_adapter.sim.recorder import ReceivedRequest, SentFrame, SentMessage
from platform_adapter.sim.schedule import ScheduledFault, generate_schedule, load_schedule
from platform_adapter.sim.server import TradovateSim

__all__ = [
    "CLF7",
    "DEFAULT_PASSWORD",
    "DEFAULT_USER",
    "ESZ6",
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
    "generate_schedule",
    "load_schedule",
]
