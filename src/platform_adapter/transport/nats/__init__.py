"""The distributed transport: the PA's ports on NATS JetStream, and the module side of each.

PA side: `NatsFactSink` (facts to the `PA_FACTS` stream), `NatsIntentSource` (intents by request/reply on
`pa.intents`), `NatsHealthSink` (health on `pa.health` and in the `pa_health` KV bucket). Module side:
`NatsFactConsumer` (U), `NatsIntentCaller` and `NatsHealthFollower` (OE). `access` writes the server's
per-module users and permissions (the harness runs a nats-server for tests and demos). See docs/transport-nats.md.
"""

from platform_adapter.transport.nats.access import Module, ServerConfig, generate_passwords, module_permissions
from platform_adapter.transport.nats.connection import NatsAuth, connect
from platform_adapter.transport.nats.fact_consumer import FactDecodeError, NatsFactConsumer
from platform_adapter.transport.nats.facts import DeliveryFailure, FactDeliveryError, NatsFactSink
from platform_adapter.transport.nats.health import NatsHealthSink
from platform_adapter.transport.nats.health_follower import NatsHealthFollower
from platform_adapter.transport.nats.intent_caller import NatsIntentCaller
from platform_adapter.transport.nats.intents import NatsIntentSource
from platform_adapter.transport.nats.streams import (
    FactStreamConfig,
    ensure_fact_stream,
    ensure_health_bucket,
    wait_for_stream,
)

__all__ = [
    "DeliveryFailure",
    "FactDecodeError",
    "FactDeliveryError",
    "FactStreamConfig",
    "Module",
    "NatsAuth",
    "NatsFactConsumer",
    "NatsFactSink",
    "NatsHealthFollower",
    "NatsHealthSink",
    "NatsIntentCaller",
    "NatsIntentSource",
    "ServerConfig",
    "connect",
    "ensure_fact_stream",
    "ensure_health_bucket",
    "generate_passwords",
    "module_permissions",
    "wait_for_stream",
]
