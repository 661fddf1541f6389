"""Access control: one NATS user per module and the subject permissions that make `pa.intents` OE-only.

The server enforces these, so they are what authenticates a sender: only the `oe` user may publish
`pa.intents`, only `pa` may subscribe to it, publish facts and health, and manage the facts stream. Anything
not allowed is refused by the server (a permissions violation) and never reaches a subscriber.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from platform_adapter.transport.nats.connection import NatsAuth
from platform_adapter.transport.nats.subjects import (
    FACT_STREAM,
    FACT_SUBJECTS,
    HEALTH_BUCKET,
    HEALTH_STREAM,
    HEALTH_SUBJECT,
    INTENT_SUBJECT,
    LEASE_BUCKET,
    LEASE_STREAM,
    LEDGER_BUCKET,
    LEDGER_STREAM,
    PAPER_EVENT_STREAM,
    PAPER_EVENT_SUBJECT_PREFIX,
    U_EVENT_STREAM,
    U_EVENT_SUBJECT_PREFIX,
    U_FACT_CONSUMER,
)


class Module(StrEnum):
    """The modules that connect to the PA's NATS server, one user each."""

    PA = "pa"
    U = "u"
    PAPER = "paper"
    OE = "oe"


@dataclass(frozen=True)
class Permissions:
    """What one user may publish and subscribe to; `allow_responses` lets it answer requests it received."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = False


def _manage_stream(stream: str) -> tuple[str, ...]:
    """Create, update and inspect one stream, and read its messages by sequence."""
    api = "$JS.API"
    return (
        f"{api}.STREAM.CREATE.{stream}",
        f"{api}.STREAM.UPDATE.{stream}",
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.STREAM.MSG.GET.{stream}",
    )


def _read_stream(stream: str, consumer: str = "*") -> tuple[str, ...]:
    """Consume one stream through `consumer` (a durable name, or `*` for ephemeral ordered consumers)."""
    api = "$JS.API"
    tail = ">" if consumer == "*" else consumer
    return (
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.STREAM.MSG.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}.>",
        f"{api}.CONSUMER.CREATE.{stream}",  # ephemeral, pre-2.9 form
        f"{api}.CONSUMER.CREATE.{stream}.{tail}",
        f"{api}.CONSUMER.CREATE.{stream}.{consumer}.>",
        f"{api}.CONSUMER.DURABLE.CREATE.{stream}.{tail}",
        f"{api}.CONSUMER.INFO.{stream}.{tail}",
        f"{api}.CONSUMER.DELETE.{stream}.{tail}",
        f"{api}.CONSUMER.MSG.NEXT.{stream}.{tail}",
        f"$JS.ACK.{stream}.{tail}.>" if consumer != "*" else f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",  # flow-control replies of push (ordered) consumers
    )


def module_permissions(module: Module) -> Permissions:
    """The permissions of one module's user (each may also publish to its own inbox: see `sync_with_server`)."""
    own = _own_inbox(module)
    perms = _module_permissions(module)
    return Permissions(publish=(*perms.publish, own), subscribe=perms.subscribe, allow_responses=perms.allow_responses)


def _own_inbox(module: Module) -> str:
    return f"_INBOX.{module.value}.>"


def _module_permissions(module: Module) -> Permissions:
    inbox = _own_inbox(module)
    if module is Module.PA:
        return Permissions(
            publish=(
                FACT_SUBJECTS,
                HEALTH_SUBJECT,
                f"$KV.{HEALTH_BUCKET}.>",
                f"$KV.{LEASE_BUCKET}.>",
                f"$KV.{LEDGER_BUCKET}.>",
                *_manage_stream(FACT_STREAM),
                *_manage_stream(HEALTH_STREAM),
                *_manage_stream(LEASE_STREAM),
                *_manage_stream(LEDGER_STREAM),
                *_read_stream(LEASE_STREAM),
                *_read_stream(LEDGER_STREAM),
            ),
            subscribe=(INTENT_SUBJECT, inbox),
            allow_responses=True,  # the receipt-ack goes to the requester's reply inbox
        )
    if module is Module.U:
        return Permissions(
            publish=(
                *_read_stream(FACT_STREAM, U_FACT_CONSUMER),
                f"{U_EVENT_SUBJECT_PREFIX}.>",
                *_manage_stream(U_EVENT_STREAM),
            ),
            subscribe=(inbox,),
        )
    if module is Module.PAPER:
        return Permissions(
            publish=(
                *_read_stream(U_EVENT_STREAM),
                f"{PAPER_EVENT_SUBJECT_PREFIX}.>",
                *_manage_stream(PAPER_EVENT_STREAM),
            ),
            subscribe=(inbox,),
        )
    return Permissions(
        publish=(INTENT_SUBJECT, *_read_stream(HEALTH_STREAM), *_read_stream(PAPER_EVENT_STREAM)),
        subscribe=(HEALTH_SUBJECT, inbox),
    )


def generate_passwords() -> dict[Module, str]:
    """A fresh random password per module (for a demo or a test server)."""
    return {module: secrets.token_urlsafe(24) for module in Module}


def module_auth(passwords: Mapping[Module, str], module: Module) -> NatsAuth:
    """The credentials one module connects with."""
    return NatsAuth(module.value, passwords[module])


@dataclass(frozen=True)
class ServerConfig:
    """A nats-server configuration: loopback listener, JetStream store, one user per module."""

    port: int
    store_dir: Path
    passwords: Mapping[Module, str]
    host: str = "127.0.0.1"
    max_payload: int = 1024 * 1024

    def __repr__(self) -> str:
        return f"ServerConfig(host={self.host!r}, port={self.port}, store_dir={str(self.store_dir)!r})"

    def render(self) -> str:
        """The configuration text (JSON, which nats-server's config format accepts)."""
        users = []
        for module in Module:
            permissions = module_permissions(module)
            granted: dict[str, object] = {
                "publish": {"allow": list(permissions.publish)},
                "subscribe": {"allow": list(permissions.subscribe)},
            }
            if permissions.allow_responses:
                granted["allow_responses"] = True
            users.append({"user": module.value, "password": self.passwords[module], "permissions": granted})
        document = {
            "host": self.host,
            "port": self.port,
            "max_payload": self.max_payload,
            "jetstream": {"store_dir": str(self.store_dir)},
            "authorization": {"users": users},
        }
        return json.dumps(document, indent=2) + "\n"

    def write(self, path: Path) -> Path:
        """Write the configuration, readable by its owner only (it holds the passwords)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.render())
        return path
