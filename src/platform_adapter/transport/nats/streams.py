"""The JetStream objects the PA owns: the facts stream and the health bucket; waiting for others' streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import ConsumerConfig, DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError

from platform_adapter.transport.nats.cancellation import raise_if_cancelling
from platform_adapter.transport.nats.subjects import FACT_STREAM, FACT_SUBJECTS, HEALTH_BUCKET

_STREAM_NAME_IN_USE = 10058  # "stream name already in use with a different configuration"


@dataclass(frozen=True)
class FactStreamConfig:
    """The facts stream: file storage, `discard=new` so a full stream refuses, a log kept within limits by default."""

    # Refusing (rather than dropping the oldest) is what turns a full stream into an explicit publish error,
    # which the outbox escalates as PA_DEGRADED + halt and retries: a fact is never lost to make room.
    # `retention=INTEREST` frees a fact once U's durable consumer acked it, so "full" means "U is behind";
    # it also discards facts published while no consumer exists, so U's durable must exist before the PA
    # publishes (docs/transport-nats.md §2; the default stays LIMITS until that is settled).

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


async def ensure_stream(js: Any, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to `config`."""
    try:
        await js.add_stream(config)
    except BadRequestError as exc:
        if exc.err_code != _STREAM_NAME_IN_USE:
            raise
        await js.update_stream(config)


async def ensure_fact_stream(js: Any, config: FactStreamConfig | None = None) -> None:
    """Create or update the facts stream (the PA's user is the only one allowed to)."""
    await ensure_stream(js, (config or FactStreamConfig()).stream_config())


async def ensure_health_bucket(js: Any) -> Any:
    """The `pa_health` KV bucket (history 1: only the current signal matters), created if missing."""
    try:
        return await js.key_value(HEALTH_BUCKET)
    except BucketNotFoundError:
        return await js.create_key_value(bucket=HEALTH_BUCKET, history=1, storage=StorageType.FILE)


async def wait_for_stream(js: Any, name: str, timeout_s: float | None, poll_s: float = 0.2) -> None:
    """Return once stream `name` exists (its owner creates it); TimeoutError after `timeout_s` (None: no limit)."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                await js.stream_info(name)
                return
            except (NotFoundError, NatsTimeoutError):
                await asyncio.sleep(poll_s)  # its owner has not started yet, or the server is restarting


async def pull_batches(
    js: Any,
    stream: str,
    config: ConsumerConfig,
    *,
    batch: int,
    fetch_timeout_s: float,
    stream_wait_s: float | None = None,
) -> AsyncIterator[list[Any]]:
    """Fetched batches (never empty) of the durable pull consumer `config` on `stream`, in order, until cancelled.

    Waits for the stream's owner to create it first. The caller acknowledges what it took.
    """
    await wait_for_stream(js, stream, stream_wait_s)
    subject = config.filter_subject
    subscription = await js.pull_subscribe(subject, durable=config.durable_name, stream=stream, config=config)
    while True:
        raise_if_cancelling()
        try:
            messages = await subscription.fetch(batch, timeout=fetch_timeout_s)
        except TimeoutError:  # nats-py raises its own TimeoutError, or asyncio's when the deadline ran out
            continue  # nothing new yet (or the server is restarting): ask again
        if messages:  # nats-py returns [] when a status left by an earlier, expired pull ends this one
            yield messages
