"""Names on the NATS side of the PA: subjects, streams, buckets, durables, accounts, message ids.

Facts go to one JetStream stream on `pa.facts.<kind>.<stream>.<scope>`, where scope is `c<contract_id>`,
`a<account_id>` or `all`, so U can filter by subject while the stream keeps the PA's one delivery order.
Each module is a NATS account of its own (`access`); another account's JetStream API is reached through the
renamed import prefix `$JS.<OWNER>.API`.
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
HEALTH_KEY_SUBJECT = f"$KV.{HEALTH_BUCKET}.{HEALTH_KEY}"  # the one key U and OE may read, and only `pa` write
LEASE_BUCKET = "pa_lease"  # one key per account: who is the active PA (transport/nats/lease.py)
LEASE_STREAM = f"KV_{LEASE_BUCKET}"
LEDGER_BUCKET = "pa_intents"  # the durable intent ledger (transport/nats/intent_store.py)
LEDGER_STREAM = f"KV_{LEDGER_BUCKET}"

MSG_ID_HEADER = "Nats-Msg-Id"
EXPECTED_LAST_MSG_ID_HEADER = "Nats-Expected-Last-Msg-Id"
REQUEST_INFO_HEADER = "Nats-Request-Info"  # set by the server on a cross-account request: the sender's account
RESPONSE_REPLY_PREFIX = "_R_."  # the reply subject the server maps a cross-account request's reply to

JS_API = "$JS.API"  # the JetStream API of one's own account
U_FACT_CONSUMER = "u"  # U's durable pull consumer on the facts stream (the PA account's, exported to U)


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


def fact_mismatch(subject: str, msg_id: str | None, envelope: FactEnvelope) -> str | None:
    """Why a stored message is not `envelope` as the PA publishes it (subject and dedupe id); None when it is."""
    expected_subject = fact_subject(envelope)
    if subject != expected_subject:
        return f"subject {subject!r} is not the envelope's ({expected_subject!r})"
    suffix = f"-{envelope.delivery_seq}"
    if (
        msg_id is None
        or not msg_id.endswith(suffix)
        or (envelope.run_id is not None and msg_id != f"{envelope.run_id}{suffix}")
    ):
        return f"{MSG_ID_HEADER} {msg_id!r} is not the envelope's run id and delivery_seq ({envelope.run_id}{suffix})"
    return None


def imported_api(owner_account: str) -> str:
    """`$JS.<OWNER>.API`: the prefix under which another account imports `owner_account`'s JetStream API."""
    return f"$JS.{owner_account}.API"


# The reference modules' own relays (U -> Paper -> OE across processes), one stream per writer, read through
# one durable that the stream's owner provisions and exports to the reader.
U_EVENT_STREAM = "U_EVENTS"
U_EVENT_SUBJECT_PREFIX = "u.events"
PAPER_EVENT_STREAM = "PAPER_EVENTS"
PAPER_EVENT_SUBJECT_PREFIX = "paper.events"
PAPER_EVENT_CONSUMER = "paper"  # Paper's durable on U_EVENTS
OE_EVENT_CONSUMER = "oe"  # OE's durable on PAPER_EVENTS
RELAYED_MODE = "LIVE"  # the EventStream mode the relays carry
