"""Reference U, Paper and OE: harness modules that consume what the PA emits (never imported by the PA).

They exist to run the demo and prove the acceptance tests: U persists every fact and writes the canonical
EventStream (LIVE) and BarStream, Paper relays U's LIVE EventStream to OE, and OE sends intents and learns
their outcomes only from those facts.
"""

from platform_adapter.reference.audit import AuditEntry, AuditTrail, IntentNotFound, audit_trail, render_audit
from platform_adapter.reference.oe import IntentCaller, ReferenceOE, TradingHalted
from platform_adapter.reference.outcomes import IntentOutcome, OutcomeStep
from platform_adapter.reference.paper import EventStreamOutOfOrder, ReferencePaper
from platform_adapter.reference.records import BarRecord, DeliveryHole, EventRecord, FormingBar
from platform_adapter.reference.system import InProcWiring, ModuleWiring, ReferenceSystem
from platform_adapter.reference.u import ReferenceU, UCounters

__all__ = [
    "AuditEntry",
    "AuditTrail",
    "BarRecord",
    "DeliveryHole",
    "EventRecord",
    "EventStreamOutOfOrder",
    "FormingBar",
    "InProcWiring",
    "IntentCaller",
    "IntentNotFound",
    "IntentOutcome",
    "ModuleWiring",
    "OutcomeStep",
    "ReferenceOE",
    "ReferencePaper",
    "ReferenceSystem",
    "ReferenceU",
    "TradingHalted",
    "UCounters",
    "audit_trail",
    "render_audit",
]
