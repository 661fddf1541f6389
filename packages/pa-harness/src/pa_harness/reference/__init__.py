"""Reference U, Paper and OE: harness modules that consume what the PA emits (never imported by the PA).

They exist to run the demo and prove the acceptance tests: U persists every fact and writes the canonical
EventStream (LIVE) and BarStream, Paper relays U's LIVE EventStream to OE, and OE sends intents and learns
their outcomes only from those facts.
"""

from pa_harness.reference.audit import AuditEntry, AuditTrail, IntentNotFound, audit_trail, render_audit
from pa_harness.reference.oe import IntentCaller, ReferenceOE, TradingHalted
from pa_harness.reference.outcomes import IntentOutcome, OutcomeStep
from pa_harness.reference.paper import EventStreamOutOfOrder, ReferencePaper
from pa_harness.reference.records import BarRecord, DeliveryHole, EventRecord, FormingBar
from pa_harness.reference.system import InProcWiring, ModuleWiring, ReferenceSystem
from pa_harness.reference.u import ReferenceU, UCounters

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
