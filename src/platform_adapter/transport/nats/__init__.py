"""The distributed transport: the PA's ports on NATS JetStream, and the module side of each.

PA side: `NatsFactSink` (facts to the `PA_FACTS` stream), `NatsIntentSource` (intents by request/reply on
`pa.intents`, executed only when the server says they came from account OE), `NatsHealthSink` (health on
`pa.health` and in the `pa_health` KV bucket). Module side: `NatsFactConsumer` (U), `NatsIntentCaller` and
`NatsHealthFollower` (OE). `access` writes the server's accounts, users and exports; `provision` creates each
account's JetStream objects as that account's setup identity. See docs/transport-nats.md.
"""

from platform_adapter.transport.nats.access import (
    Account,
    Identity,
    Module,
    ServerConfig,
    SetupIdentity,
    generate_passwords,
    permissions,
)
from platform_adapter.transport.nats.connection import NatsAuth, connect, imported_jetstream
from platform_adapter.transport.nats.fact_consumer import FactDecodeError, ForeignFactError, NatsFactConsumer
from platform_adapter.transport.nats.facts import DeliveryFailure, FactDeliveryError, NatsFactSink
from platform_adapter.transport.nats.health import NatsHealthSink
from platform_adapter.transport.nats.health_follower import NatsHealthFollower
from platform_adapter.transport.nats.intent_caller import NatsIntentCaller
from platform_adapter.transport.nats.intents import NatsIntentSource
from platform_adapter.transport.nats.provision import PaAccountObjects, provision_account, provision_pa_account
from platform_adapter.transport.nats.streams import (
    FactStreamConfig,
    ProvisioningError,
    ensure_fact_stream,
    open_health_bucket,
    provision_health_bucket,
    verify_fact_stream,
)

__all__ = [
    "Account",
    "DeliveryFailure",
    "FactDecodeError",
    "FactDeliveryError",
    "FactStreamConfig",
    "ForeignFactError",
    "Identity",
    "Module",
    "NatsAuth",
    "NatsFactConsumer",
    "NatsFactSink",
    "NatsHealthFollower",
    "NatsHealthSink",
    "NatsIntentCaller",
    "NatsIntentSource",
    "PaAccountObjects",
    "ProvisioningError",
    "ServerConfig",
    "SetupIdentity",
    "connect",
    "ensure_fact_stream",
    "generate_passwords",
    "imported_jetstream",
    "open_health_bucket",
    "permissions",
    "provision_account",
    "provision_health_bucket",
    "provision_pa_account",
    "verify_fact_stream",
]
