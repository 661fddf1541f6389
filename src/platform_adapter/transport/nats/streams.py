"""The JetStream objects on the NATS side: their configurations, their creation by a setup identity, and reading.

Streams, buckets and durable consumers are created by the owning account's setup identity (`provision`), never by
a module at run time: a module only verifies what it relies on (`ProvisioningError` says what is missing and what
to run) and binds to its durable by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError

from platform_adapter.transport.nats.cancellation import raise_if_cancelling
from platform_adapter.transport.nats.subjects import FACT_STREAM, FACT_SUBJECTS, HEALTH_BUCKET, U_FACT_CONSUMER

_STREAM_NAME_IN_USE = 10058  # "stream name already in use with a different configuration"
PROVISION_HINT = "provision it first: `pa nats provision` as the account's setup identity (docs/transport-nats.md §9)"


class ProvisioningError(RuntimeError):
    """A JetStream object a module relies on is missing or not as it needs it; the message says what to do."""


class Provisioned(StrEnum):
    """What provisioning did to one object."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class FactStreamConfig:
    """The facts stream: file storage, `discard=new` so a full stream refuses, a log kept within limits by default."""

    # Refusing (rather than dropping the oldest) is what turns a full stream into an explicit publish error,
    # which the outbox escalates as PA_DEGRADED + halt and retries: a fact is never lost to make room.
    # `retention=INTEREST` frees a fact once U's durable consumer acked it, so "full" means "U is behind";
    # it also discards facts published while no consumer exists, which is why `pa_admin` provisions U's
    # durable with the stream (docs/transport-nats.md §2; the default stays LIMITS until that is settled).

    name: str = FACT_STREAM
    subjects: tuple[str, ...] = (FACT_SUBJECTS,)
    max_bytes: int = 1 << 30
    max_msgs: int = -1
    max_age_s: float = 7 * 24 * 3600.0
    duplicate_window_s: float = 600.0  # a retry within this window of the first attempt never duplicates
    replicas: int = 1
    retention: RetentionPolicy = RetentionPolicy.LIMITS

    def stream_config(self) -> StreamConfig:
        """The nats-py StreamConfig."""
        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            retention=self.retention,
            discard=DiscardPolicy.NEW,
            storage=StorageType.FILE,
            max_bytes=self.max_bytes,
            max_msgs=self.max_msgs,
            max_age=self.max_age_s,
            duplicate_window=self.duplicate_window_s,
            num_replicas=self.replicas,
        )


@dataclass(frozen=True)
class DurableConfig:
    """A durable pull consumer that a stream's owner provisions for one reader."""

    name: str
    filter_subject: str
    ack_wait_s: float = 30.0
    max_ack_pending: int = 1000  # twice U's fetch batch of 500

    def consumer_config(self) -> ConsumerConfig:
        """The nats-py ConsumerConfig: everything from the first message on, one ack covers a batch."""
        return ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_ack_pending=self.max_ack_pending,
            filter_subject=self.filter_subject,
        )


U_FACT_DURABLE = DurableConfig(U_FACT_CONSUMER, FACT_SUBJECTS)


async def ensure_stream(js: Any, config: StreamConfig) -> Provisioned:
    """Create the stream, or bring an existing one to `config` (a setup identity's action)."""
    try:
        await js.add_stream(config)
    except BadRequestError as exc:
        if exc.err_code != _STREAM_NAME_IN_USE:
            raise
        await js.update_stream(config)
        return Provisioned.UPDATED
    return Provisioned.CREATED


async def ensure_fact_stream(js: Any, config: FactStreamConfig | None = None) -> Provisioned:
    """Create or update the facts stream (as `pa_admin`)."""
    return await ensure_stream(js, (config or FactStreamConfig()).stream_config())


async def ensure_bucket(js: Any, config: KeyValueConfig) -> Provisioned:
    """Create a KV bucket, or bring an existing one's history, TTL and direct reads to `config` (as a setup identity)."""
    try:
        await js.key_value(config.bucket)
    except BucketNotFoundError:
        await js.create_key_value(config)
        return Provisioned.CREATED
    info = await js.stream_info(f"KV_{config.bucket}")
    current = (info.config.max_msgs_per_subject, info.config.max_age or 0.0, bool(info.config.allow_direct))
    wanted = (config.history, config.ttl or 0.0, bool(config.direct))
    if current == wanted:
        return Provisioned.UNCHANGED
    info.config.max_msgs_per_subject, info.config.max_age, info.config.allow_direct = wanted
    await js.update_stream(info.config)
    return Provisioned.UPDATED


def health_bucket_config() -> KeyValueConfig:
    """The `pa_health` bucket: history 1 (only the current signal matters), direct reads (key-pinned gets)."""
    return KeyValueConfig(bucket=HEALTH_BUCKET, history=1, storage=StorageType.FILE, direct=True)


async def provision_health_bucket(js: Any) -> Provisioned:
    """Create the health bucket if missing, with direct reads (as `pa_admin`)."""
    return await ensure_bucket(js, health_bucket_config())


async def ensure_durable(js: Any, stream: str, durable: DurableConfig) -> Provisioned:
    """Create (or update) a durable consumer on `stream` (as the stream's setup identity)."""
    try:
        current = (await js.consumer_info(stream, durable.name)).config
    except NotFoundError:
        await js.add_consumer(stream, durable.consumer_config())
        return Provisioned.CREATED
    wanted = durable.consumer_config()
    fields = ("filter_subject", "ack_wait", "max_ack_pending", "deliver_subject")
    if all(getattr(current, name) == getattr(wanted, name) for name in fields):
        return Provisioned.UNCHANGED
    await js.add_consumer(stream, wanted)  # create-or-update: JetStream applies the fields it lets change
    return Provisioned.UPDATED


# -- what a module checks before relying on an object --------------------------------------------------------


async def stream_info(js: Any, name: str, what: str) -> Any:
    """Stream `name`'s info; ProvisioningError when it does not exist or JetStream does not answer."""
    try:
        return await js.stream_info(name)
    except NotFoundError:
        raise ProvisioningError(f"{what} ({name}) does not exist: {PROVISION_HINT}") from None
    except (NatsTimeoutError, TimeoutError):
        raise ProvisioningError(
            f"no answer reading {what} ({name}): the NATS server must run the accounts layout of `pa nats config` "
            "(a permissions violation is reported only in the connection's error log)"
        ) from None


async def verify_fact_stream(js: Any, name: str = FACT_STREAM) -> Any:
    """Check, as `pa`, the facts stream invariants the PA's delivery rules rely on; its info."""
    info = await stream_info(js, name, "the facts stream")
    config = info.config
    problems = []
    if list(config.subjects or ()) != [FACT_SUBJECTS]:
        problems.append(f"subjects {config.subjects} (needs [{FACT_SUBJECTS!r}])")
    if config.discard != DiscardPolicy.NEW:
        problems.append(f"discard={config.discard} (needs new: a full stream must refuse, never drop a fact)")
    if not config.duplicate_window:
        problems.append("no duplicate window (a retried fact would be stored twice)")
    if config.republish is not None or config.mirror is not None or config.sources:
        problems.append("a republish, mirror or source (the PA's log must hold the PA's facts only)")
    if problems:
        raise ProvisioningError(f"the facts stream {name} is not as the PA needs it: " + "; ".join(problems))
    if config.retention == RetentionPolicy.INTEREST:
        # Under interest retention a fact published while no consumer exists is acked and dropped.
        try:
            await js.consumer_info(name, U_FACT_CONSUMER)
        except NotFoundError:
            raise ProvisioningError(
                f"the facts stream {name} has interest retention but U's durable {U_FACT_CONSUMER!r} does not "
                f"exist: facts would be acked and not kept; {PROVISION_HINT}"
            ) from None
    return info


async def open_bucket(js: Any, bucket: str, what: str, *, ttl_s: float | None = None) -> Any:
    """Open a provisioned KV bucket as a module (no create); ProvisioningError if missing or not as needed."""
    info = await stream_info(js, f"KV_{bucket}", what)
    problems = []
    if not info.config.allow_direct:
        problems.append("no direct reads (readers are granted key-pinned direct gets only)")
    if ttl_s is not None and abs((info.config.max_age or 0.0) - ttl_s) > 1e-3:
        problems.append(f"TTL {info.config.max_age or 0.0} s (needs {ttl_s} s)")
    if problems:
        raise ProvisioningError(f"{what} ({bucket}) is not as needed: " + "; ".join(problems) + f"; {PROVISION_HINT}")
    return await js.key_value(bucket)


async def open_health_bucket(js: Any) -> Any:
    """The health bucket, as the PA opens it to write its signal."""
    return await open_bucket(js, HEALTH_BUCKET, "the health bucket")


# -- reading a durable ---------------------------------------------------------------------------------------


async def wait_for_consumer(js: Any, stream: str, durable: str, timeout_s: float | None, poll_s: float = 0.2) -> None:
    """Return once durable `durable` of `stream` exists (its owner provisions it); TimeoutError after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while True:
            raise_if_cancelling()
            try:
                await js.consumer_info(stream, durable)
                return
            except (NotFoundError, NatsTimeoutError):
                await asyncio.sleep(poll_s)  # not provisioned yet, or the server is restarting: ask again


async def pull_batches(
    js: Any,
    stream: str,
    durable: str,
    *,
    batch: int,
    fetch_timeout_s: float,
    consumer_wait_s: float | None = None,
) -> AsyncIterator[list[Any]]:
    """Fetched batches (never empty) of the provisioned durable `durable` on `stream`, in order, until cancelled.

    Binds to the durable by name (a reader has no right to create or change it). The caller acknowledges.
    """
    await wait_for_consumer(js, stream, durable, consumer_wait_s)
    subscription = await js.pull_subscribe_bind(durable=durable, stream=stream)
    while True:
        raise_if_cancelling()
        try:
            messages = await subscription.fetch(batch, timeout=fetch_timeout_s)
        except TimeoutError:  # nats-py raises its own TimeoutError, or asyncio's when the deadline ran out
            continue  # nothing new yet (or the server is restarting): ask again
        if messages:  # nats-py returns [] when a status left by an earlier, expired pull ends this one
            yield messages
