"""Provisioning: each account's JetStream objects, created by that account's setup identity before any module runs.

`pa_admin` provisions the PA account: the facts stream `PA_FACTS`, U's durable `u` on it (before the PA's first
fact: under interest retention a fact published while no consumer exists is not kept), and the health, lease and
ledger buckets. `u_admin` and `paper_admin` provision the reference relays (`U_EVENTS` with Paper's durable,
`PAPER_EVENTS` with OE's). Modules never create, change or delete any of these: the PA verifies what it relies on
(`verify_fact_stream`, `open_*_bucket`) and refuses to start otherwise; U, Paper and OE bind to their durable.
Provisioning is idempotent: run again, it creates what is missing and brings the rest to the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nats.js.api import StorageType, StreamConfig

from platform_adapter.core.settings import LedgerSettings
from platform_adapter.transport.nats.access import (
    OE_EVENTS_FROM_PAPER,
    PAPER_EVENTS_FROM_U,
    Account,
    DurableRead,
    SetupIdentity,
)
from platform_adapter.transport.nats.intent_store import provision_ledger_bucket
from platform_adapter.transport.nats.lease import DEFAULT_TTL_S, provision_lease_bucket
from platform_adapter.transport.nats.streams import (
    U_FACT_DURABLE,
    DurableConfig,
    FactStreamConfig,
    Provisioned,
    ensure_durable,
    ensure_fact_stream,
    ensure_stream,
    provision_health_bucket,
)
from platform_adapter.transport.nats.subjects import (
    HEALTH_BUCKET,
    LEASE_BUCKET,
    LEDGER_BUCKET,
    PAPER_EVENT_SUBJECT_PREFIX,
    RELAYED_MODE,
    U_EVENT_SUBJECT_PREFIX,
)


@dataclass(frozen=True)
class PaAccountObjects:
    """What `pa_admin` provisions in the PA account, and the bounds every PA instance then checks."""

    facts: FactStreamConfig = field(default_factory=FactStreamConfig)
    u_durable: DurableConfig = U_FACT_DURABLE
    lease_ttl_s: float = DEFAULT_TTL_S
    ledger: LedgerSettings = field(default_factory=LedgerSettings)


def record_stream_config(name: str, subject_prefix: str) -> StreamConfig:
    """A reference relay's stream: file-backed, dedupe ids kept 10 minutes (a republished backlog is not stored twice)."""
    return StreamConfig(name=name, subjects=[f"{subject_prefix}.>"], storage=StorageType.FILE, duplicate_window=600.0)


_RELAY_SUBJECTS = {PAPER_EVENTS_FROM_U: U_EVENT_SUBJECT_PREFIX, OE_EVENTS_FROM_PAPER: PAPER_EVENT_SUBJECT_PREFIX}


def relay_of(account: Account) -> DurableRead | None:
    """The reference relay stream `account` writes, with its reader's durable (None for the PA and OE)."""
    return next((read for read in _RELAY_SUBJECTS if read.owner is account), None)


def relay_durable(read: DurableRead) -> DurableConfig:
    """The reader's durable on a relay stream: the relayed mode's subject only."""
    return DurableConfig(read.durable, f"{_RELAY_SUBJECTS[read]}.{RELAYED_MODE}")


async def provision_pa_account(js: Any, objects: PaAccountObjects | None = None) -> list[tuple[str, Provisioned]]:
    """Create or update the PA account's objects, as `pa_admin`; what was done to each."""
    objects = objects or PaAccountObjects()
    return [
        (objects.facts.name, await ensure_fact_stream(js, objects.facts)),
        (
            f"{objects.facts.name} durable {objects.u_durable.name!r}",
            await ensure_durable(js, objects.facts.name, objects.u_durable),
        ),
        (f"KV {HEALTH_BUCKET}", await provision_health_bucket(js)),
        (f"KV {LEASE_BUCKET}", await provision_lease_bucket(js, objects.lease_ttl_s)),
        (f"KV {LEDGER_BUCKET}", await provision_ledger_bucket(js, objects.ledger)),
    ]


async def provision_relay(js: Any, read: DurableRead) -> list[tuple[str, Provisioned]]:
    """Create or update a reference relay stream and its reader's durable, as the writer's setup identity."""
    stream = record_stream_config(read.stream, _RELAY_SUBJECTS[read])
    return [
        (read.stream, await ensure_stream(js, stream)),
        (f"{read.stream} durable {read.durable!r}", await ensure_durable(js, read.stream, relay_durable(read))),
    ]


async def provision_account(
    js: Any, setup: SetupIdentity, objects: PaAccountObjects | None = None
) -> list[tuple[str, Provisioned]]:
    """Provision the account `setup` administers (its own JetStream API is all it can reach)."""
    if setup.account is Account.PA:
        return await provision_pa_account(js, objects)
    read = relay_of(setup.account)
    return [] if read is None else await provision_relay(js, read)
