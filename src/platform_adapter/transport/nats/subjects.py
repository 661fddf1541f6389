"""Names on the NATS side of the PA: subjects, the facts stream, the health bucket, message ids.

Facts go to one JetStream stream on `pa.facts.<kind>.<stream>.<scope>`, where scope is `c<contract_id>`,
`a<account_id>` or `all`, so U can filter by subject while the stream keeps the PA's one delivery order.
"""

from __future__ import annotations

from platform_adapter.mic import FactEnvelope

FACT_STREAM = "PA_FACTS"
FACT_SUBJECT_PREFIX = "pa.facts"
FACT_SUBJECTS = f"{FACT_SUBJECT_PREFIX}.>"
INTENT_SUBJECT = "pa.intents"
INTENT_QUEUE_GROUP = "pa"  # several PA instances would share intents, each answered once
HEALTH_SUBJECT = "pa.health"
HEALTH_BUCKET = "pa_health"
HEALTH_KEY = "current"
HEALTH_STREAM = f"KV_{HEALTH_BUCKET}"  # the stream JetStream keeps a KV bucket in
LEASE_BUCKET = "pa_lease"  # one key per account: who is the active PA (transport/nats/lease.py)
LEASE_STREAM = f"KV_{LEASE_BUCKET}"
LEDGER_BUCKET = "pa_intents"  # the durable intent ledger (transport/nats/intent_store.py)
LEDGER_STREAM = f"KV_{LEDGER_BUCKET}"

MSG_ID_HEADER = "Nats-Msg-Id"
EXPECTED_LAST_MSG_ID_HEADER = "Nats-Expected-Last-Msg-Id"


def fact_scope(envelope: FactEnvelope) -> str:
    """The last subject token: the contract, else the account, the fact concerns, else `all`."""
    if envelope.contract_id is not None:
        return f"c{envelope.contract_id}"
    if envelope.account_id is not None:
        return f"a{envelope.account_id}"
    return "all"


def fact_subject(envelope: FactEnvelope) -> str:
    """`pa.facts.<kind>.<stream>.<scope>`: what U may filter on without opening the payload."""
    return f"{FACT_SUBJECT_PREFIX}.{envelope.kind.value}.{envelope.stream.value}.{fact_scope(envelope)}"


def fact_msg_id(envelope: FactEnvelope, default_run_id: str) -> str:
    """`<run id>-<delivery_seq>`: a retry of one envelope dedupes, a new PA run never collides."""
    return f"{envelope.run_id or default_run_id}-{envelope.delivery_seq}"


# The reference modules' own relays (harness only: U -> Paper -> OE across processes).
U_EVENT_STREAM = "U_EVENTS"
U_EVENT_SUBJECT_PREFIX = "u.events"
PAPER_EVENT_STREAM = "PAPER_EVENTS"
PAPER_EVENT_SUBJECT_PREFIX = "paper.events"
U_FACT_CONSUMER = "u"  # U's durable consumer on the facts stream
