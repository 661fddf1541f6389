"""Access control: one NATS account per module, explicit exports and imports between them, setup identities.

Why accounts and not users in one account: a request's reply subject and a push consumer's deliver subject are
not checked against the sender's publish permissions, so inside one account anything that makes the server answer
(a JetStream publish, a pull request, a direct get, an API call, the PA's own receipt-ack) lets a module choose
where the answer goes: into the facts stream, the health bucket or onto `pa.intents`. Across accounts a reply is
mapped back into the requester's own account, and nothing crosses a boundary but the flows exported below
(docs/transport-nats.md §8, measured in the prototype study and in tests/transport/test_hostile.py).

The layout:
- account PA (JetStream): users `pa` (the PA, every instance, active or standby) and `pa_admin` (the setup
  identity that provisions the facts stream, U's durable and the health, lease and ledger buckets; never
  deployed with the PA). Exports `pa.intents` as a service to OE, `pa.health` as a stream to U and OE, the
  three subjects of U's durable `u` to U, and a key-pinned read of the health key to U and OE.
- account U (JetStream): `u` and `u_admin`; exports Paper's durable on `U_EVENTS` to PAPER.
- account PAPER (JetStream): `paper` and `paper_admin`; exports OE's durable on `PAPER_EVENTS` to OE.
- account OE (no JetStream): `oe`.

Module users get exactly the subjects they need: no stream or consumer administration, no KV watch, and inboxes
`_INBOX_<user>.>` only. Nothing is open to a connection without credentials (no `no_auth_user`).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from platform_adapter.transport.nats.connection import NatsAuth, inbox_prefix
from platform_adapter.transport.nats.subjects import (
    FACT_STREAM,
    FACT_SUBJECTS,
    HEALTH_KEY_SUBJECT,
    HEALTH_STREAM,
    HEALTH_SUBJECT,
    INTENT_SUBJECT,
    JS_API,
    LEASE_BUCKET,
    LEASE_STREAM,
    LEDGER_BUCKET,
    LEDGER_STREAM,
    OE_EVENT_CONSUMER,
    PAPER_EVENT_CONSUMER,
    PAPER_EVENT_STREAM,
    PAPER_EVENT_SUBJECT_PREFIX,
    U_EVENT_STREAM,
    U_EVENT_SUBJECT_PREFIX,
    U_FACT_CONSUMER,
    imported_api,
)


class Account(StrEnum):
    """The NATS accounts: one per module."""

    PA = "PA"
    U = "U"
    PAPER = "PAPER"
    OE = "OE"


class Module(StrEnum):
    """The modules that connect to the PA's NATS server, one user each."""

    PA = "pa"
    U = "u"
    PAPER = "paper"
    OE = "oe"

    @property
    def account(self) -> Account:
        """The account this module's user belongs to."""
        return Account[self.name]


class SetupIdentity(StrEnum):
    """The identities that provision an account's JetStream objects (`pa nats provision`), one per account."""

    PA_ADMIN = "pa_admin"
    U_ADMIN = "u_admin"
    PAPER_ADMIN = "paper_admin"

    @property
    def account(self) -> Account:
        """The account this identity provisions."""
        return Account[self.name.removesuffix("_ADMIN")]


Identity = Module | SetupIdentity
IDENTITIES: tuple[Identity, ...] = (*Module, *SetupIdentity)
JETSTREAM_ACCOUNTS = (Account.PA, Account.U, Account.PAPER)  # OE keeps no streams


def identity(name: str) -> Identity:
    """The identity called `name` (`pa`, `u_admin`, ...); ValueError for any other name."""
    for each in IDENTITIES:
        if each.value == name:
            return each
    raise ValueError(f"unknown NATS identity {name!r}: one of {', '.join(i.value for i in IDENTITIES)}")


@dataclass(frozen=True)
class Responses:
    """`allow_responses`: how many replies, for how long, a user may send to requests it received."""

    max: int = 1
    expires: str = "1m"


@dataclass(frozen=True)
class Permissions:
    """What one user may publish and subscribe to; `responses` lets it answer requests it received."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    responses: Responses | None = None


# -- the flows between accounts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """A request/reply subject of `owner`'s that `callers` may request (the PA's `pa.intents`)."""

    owner: Account
    subject: str
    callers: tuple[Account, ...]


@dataclass(frozen=True)
class CoreStream:
    """A core subject `owner`'s users publish and `readers` may subscribe to (`pa.health`)."""

    owner: Account
    subject: str
    readers: tuple[Account, ...]


@dataclass(frozen=True)
class DurableRead:
    """`reader` pulls durable `durable` of `owner`'s stream `stream`: info, next, ack, nothing else."""

    owner: Account
    stream: str
    durable: str
    reader: Account

    def api_subjects(self) -> tuple[str, str]:
        """The consumer API subjects, as the owner serves them."""
        return (
            f"{JS_API}.CONSUMER.INFO.{self.stream}.{self.durable}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{self.stream}.{self.durable}",
        )

    @property
    def ack_subjects(self) -> str:
        """The acks of delivered messages: never renamed (the reply subject of a delivery is literal)."""
        return f"$JS.ACK.{self.stream}.{self.durable}.>"


@dataclass(frozen=True)
class KeyRead:
    """`readers` may read one key of `owner`'s KV bucket `stream` (key-pinned direct get, never a watch)."""

    owner: Account
    stream: str
    key_subject: str
    readers: tuple[Account, ...]

    def api_subjects(self) -> tuple[str, str]:
        """`js.key_value()` (stream info) and `kv.get()` on an `allow_direct` bucket, pinned to the key."""
        return (f"{JS_API}.STREAM.INFO.{self.stream}", f"{JS_API}.DIRECT.GET.{self.stream}.{self.key_subject}")


INTENTS = Service(Account.PA, INTENT_SUBJECT, callers=(Account.OE,))
HEALTH = CoreStream(Account.PA, HEALTH_SUBJECT, readers=(Account.U, Account.OE))
HEALTH_KEY = KeyRead(Account.PA, HEALTH_STREAM, HEALTH_KEY_SUBJECT, readers=(Account.U, Account.OE))
U_FACTS = DurableRead(Account.PA, FACT_STREAM, U_FACT_CONSUMER, reader=Account.U)
# The reference modules' relays U -> Paper -> OE (a desk whose modules relay otherwise changes these two).
PAPER_EVENTS_FROM_U = DurableRead(Account.U, U_EVENT_STREAM, PAPER_EVENT_CONSUMER, reader=Account.PAPER)
OE_EVENTS_FROM_PAPER = DurableRead(Account.PAPER, PAPER_EVENT_STREAM, OE_EVENT_CONSUMER, reader=Account.OE)
DURABLE_READS = (U_FACTS, PAPER_EVENTS_FROM_U, OE_EVENTS_FROM_PAPER)


def _imported(subject: str, owner: Account) -> str:
    """`$JS.API.<rest>` as the importing account sees it: `$JS.<OWNER>.API.<rest>`."""
    return imported_api(owner.value) + subject.removeprefix(JS_API)


def _reads_of(account: Account) -> list[str]:
    """What `account`'s module user publishes to use the flows it imports."""
    granted: list[str] = []
    if account in INTENTS.callers:
        granted.append(INTENTS.subject)
    if account in HEALTH_KEY.readers:
        granted.extend(_imported(subject, HEALTH_KEY.owner) for subject in HEALTH_KEY.api_subjects())
    for read in DURABLE_READS:
        if read.reader is account:
            granted.extend(_imported(subject, read.owner) for subject in read.api_subjects())
            granted.append(read.ack_subjects)
    return granted


def _own_kv(bucket: str, stream: str) -> tuple[str, ...]:
    """A bucket of the PA's own account: open it, read any key directly, write any key (create, CAS, delete)."""
    return (
        f"$KV.{bucket}.>",
        f"{JS_API}.STREAM.INFO.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}.>",
        f"{JS_API}.STREAM.MSG.GET.{stream}",
    )


def _ledger_scan() -> tuple[str, ...]:
    """The ledger's `open_entries` scan: a KV watch (an ordered push consumer) on the PA's own ledger bucket.

    A consumer create can deliver anywhere in its account; in the PA's account that reaches nothing a
    compromised PA could not already publish to itself.
    """
    return (
        f"{JS_API}.CONSUMER.CREATE.{LEDGER_STREAM}",
        f"{JS_API}.CONSUMER.CREATE.{LEDGER_STREAM}.>",
        f"{JS_API}.CONSUMER.INFO.{LEDGER_STREAM}.*",
        f"{JS_API}.CONSUMER.DELETE.{LEDGER_STREAM}.*",
        f"$JS.FC.{LEDGER_STREAM}.>",
    )


def _module_permissions(module: Module) -> Permissions:
    account = module.account
    reads = _reads_of(account)
    readable = [HEALTH.subject] if account in HEALTH.readers else []
    if module is Module.PA:
        return Permissions(
            publish=(
                FACT_SUBJECTS,
                HEALTH_SUBJECT,
                HEALTH_KEY_SUBJECT,
                # Verify what `pa_admin` provisioned, and read the facts stream's tail (the sink's order guard).
                f"{JS_API}.STREAM.INFO.{FACT_STREAM}",
                f"{JS_API}.STREAM.MSG.GET.{FACT_STREAM}",
                f"{JS_API}.CONSUMER.INFO.{FACT_STREAM}.{U_FACT_CONSUMER}",
                f"{JS_API}.STREAM.INFO.{HEALTH_STREAM}",
                *_own_kv(LEASE_BUCKET, LEASE_STREAM),
                *_own_kv(LEDGER_BUCKET, LEDGER_STREAM),
                *_ledger_scan(),
            ),
            subscribe=(INTENT_SUBJECT,),
            responses=Responses(),  # the receipt-ack, to `_R_.…`, which the server maps back to OE's account
        )
    if module is Module.U:
        return Permissions(publish=(f"{U_EVENT_SUBJECT_PREFIX}.>", *reads), subscribe=tuple(readable))
    if module is Module.PAPER:
        return Permissions(publish=(f"{PAPER_EVENT_SUBJECT_PREFIX}.>", *reads), subscribe=tuple(readable))
    return Permissions(publish=tuple(reads), subscribe=tuple(readable))


def permissions(who: Identity) -> Permissions:
    """The permissions of one identity; each may also use its own inbox (replies, and `sync_with_server`)."""
    own = f"{inbox_prefix(who.value)}.>"
    if isinstance(who, SetupIdentity):
        # Its account's whole JetStream API (its account only: the API of another account is not imported).
        return Permissions(publish=(f"{JS_API}.>", own), subscribe=(own,))
    granted = _module_permissions(who)
    return Permissions(
        publish=(*granted.publish, own), subscribe=(*granted.subscribe, own), responses=granted.responses
    )


# -- exports and imports ---------------------------------------------------------------------------------------

ResponseType = Literal["singleton", "stream"]


def _service_export(subject: str, to: Iterable[Account], response_type: ResponseType = "singleton") -> dict[str, Any]:
    return {"service": subject, "accounts": [a.value for a in to], "response_type": response_type}


def _service_import(owner: Account, subject: str, *, rename: bool = True, share: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"service": {"account": owner.value, "subject": subject}}
    if rename:
        # The importing account's own JetStream answers `$JS.API.…`: another account's API needs its own prefix.
        entry["to"] = _imported(subject, owner)
    if share:
        entry["share"] = True  # `Nats-Request-Info` then names the user too, not only the account
    return entry


def exports(account: Account) -> list[dict[str, Any]]:
    """What `account` exports, and to whom."""
    found: list[dict[str, Any]] = []
    if INTENTS.owner is account:
        found.append(_service_export(INTENTS.subject, INTENTS.callers))
    if HEALTH.owner is account:
        found.append({"stream": HEALTH.subject, "accounts": [a.value for a in HEALTH.readers]})
    if HEALTH_KEY.owner is account:
        found.extend(_service_export(subject, HEALTH_KEY.readers) for subject in HEALTH_KEY.api_subjects())
    for read in DURABLE_READS:
        if read.owner is account:
            info, next_ = read.api_subjects()
            found.append(_service_export(info, (read.reader,)))
            # A fetch of n messages is n responses to one request: "singleton" would deliver only the first.
            found.append(_service_export(next_, (read.reader,), "stream"))
            found.append(_service_export(read.ack_subjects, (read.reader,)))
    return found


def imports(account: Account) -> list[dict[str, Any]]:
    """What `account` imports, and from whom."""
    found: list[dict[str, Any]] = []
    if account in INTENTS.callers:
        # Not renamed: OE requests `pa.intents`. The server stamps each request with the caller's account.
        found.append(_service_import(INTENTS.owner, INTENTS.subject, rename=False, share=True))
    if account in HEALTH.readers:
        found.append({"stream": {"account": HEALTH.owner.value, "subject": HEALTH.subject}})
    if account in HEALTH_KEY.readers:
        found.extend(_service_import(HEALTH_KEY.owner, subject) for subject in HEALTH_KEY.api_subjects())
    for read in DURABLE_READS:
        if read.reader is account:
            found.extend(_service_import(read.owner, subject) for subject in read.api_subjects())
            found.append(_service_import(read.owner, read.ack_subjects, rename=False))
    return found


# -- the server configuration ---------------------------------------------------------------------------------


def generate_passwords() -> dict[Identity, str]:
    """A fresh random password per identity (for a demo, a test server, or `pa nats config`)."""
    return {who: secrets.token_urlsafe(24) for who in IDENTITIES}


def module_auth(passwords: Mapping[Identity, str], who: Identity) -> NatsAuth:
    """The credentials one identity connects with."""
    return NatsAuth(who.value, passwords[who])


def _user(who: Identity, password: str) -> dict[str, Any]:
    granted = permissions(who)
    rules: dict[str, Any] = {
        "publish": {"allow": list(granted.publish)},
        "subscribe": {"allow": list(granted.subscribe)},
    }
    if granted.responses is not None:
        rules["allow_responses"] = {"max": granted.responses.max, "expires": granted.responses.expires}
    return {"user": who.value, "password": password, "permissions": rules}


@dataclass(frozen=True)
class ServerConfig:
    """A nats-server configuration: listener, JetStream store, the accounts with their users and flows."""

    port: int
    store_dir: Path
    passwords: Mapping[Identity, str]
    host: str = "127.0.0.1"
    max_payload: int = 1024 * 1024

    def __repr__(self) -> str:
        return f"ServerConfig(host={self.host!r}, port={self.port}, store_dir={str(self.store_dir)!r})"

    def render(self) -> str:
        """The configuration text (JSON, which nats-server's config format accepts)."""
        accounts: dict[str, Any] = {}
        for account in Account:
            block: dict[str, Any] = {
                "users": [_user(who, self.passwords[who]) for who in IDENTITIES if who.account is account],
                "exports": exports(account),
                "imports": imports(account),
            }
            if account in JETSTREAM_ACCOUNTS:
                block["jetstream"] = "enabled"
            accounts[account.value] = block
        document = {
            "host": self.host,
            "port": self.port,
            "max_payload": self.max_payload,
            "jetstream": {"store_dir": str(self.store_dir)},
            "accounts": accounts,
        }
        return json.dumps(document, indent=2) + "\n"

    def write(self, path: Path) -> Path:
        """Write the configuration, readable by its owner only (it holds the passwords)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.render())
        os.chmod(path, 0o600)  # an existing file keeps its mode on open: tighten it
        return path
