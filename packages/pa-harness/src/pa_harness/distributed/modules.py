"""The reference U, Paper and OE as NATS clients, each its own module user in its own account: one coroutine each.

Each publishes with its own account's JetStream context and reads another account's stream or bucket through
that account's imported API (`imported_jetstream(nc, owner)`), bound to the durable the owner provisioned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from pa_harness.distributed.event_feed import NatsEventFeed
from pa_harness.distributed.relay import RecordFollower, RecordPublisher
from pa_harness.reference.oe import ReferenceOE
from pa_harness.reference.paper import ReferencePaper
from pa_harness.reference.records import LIVE, EventRecord
from pa_harness.reference.u import ReferenceU
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.access import Account
from platform_adapter.transport.nats.connection import NatsAuth, connect, disconnect, imported_jetstream
from platform_adapter.transport.nats.fact_consumer import NatsFactConsumer
from platform_adapter.transport.nats.health_follower import NatsHealthFollower
from platform_adapter.transport.nats.intent_caller import NatsIntentCaller
from platform_adapter.transport.nats.subjects import (
    OE_EVENT_CONSUMER,
    PAPER_EVENT_CONSUMER,
    PAPER_EVENT_STREAM,
    PAPER_EVENT_SUBJECT_PREFIX,
    U_EVENT_STREAM,
    U_EVENT_SUBJECT_PREFIX,
)

_log = get_logger("pa_harness.reference.nats")

T = TypeVar("T")
U_EVENTS_LIVE = f"{U_EVENT_SUBJECT_PREFIX}.{LIVE}"
PAPER_EVENTS_LIVE = f"{PAPER_EVENT_SUBJECT_PREFIX}.{LIVE}"


async def run_reference_u(nats_url: str, db_path: Path, *, auth: NatsAuth | None = None) -> None:
    """The reference U as user `u`: facts from the PA's stream into its database, its EventStream out for Paper."""
    nc = await connect(nats_url, auth if auth is not None else NatsAuth.from_env(), name="u")
    u = ReferenceU(db_path)
    try:
        consumer = NatsFactConsumer(imported_jetstream(nc, Account.PA), u.accept_batch)
        events = RecordPublisher(
            nc.jetstream(),
            U_EVENTS_LIVE,
            u.subscribe_events(LIVE),
            msg_id=lambda record: f"{record.mode}-{record.seq}",
        )
        await _run_all(consumer.run(), events.run())
    finally:
        counters = u.counters
        _log.info("reference_u_stopped", facts=counters.facts, holes=counters.holes, events=counters.events_written)
        u.close()
        await disconnect(nc)


async def run_reference_paper(nats_url: str, *, auth: NatsAuth | None = None) -> None:
    """The reference Paper as user `paper`: U's LIVE EventStream in order, relayed on for OE."""
    nc = await connect(nats_url, auth if auth is not None else NatsAuth.from_env(), name="paper")
    try:
        follower = RecordFollower(
            imported_jetstream(nc, Account.U), U_EVENT_STREAM, PAPER_EVENT_CONSUMER, EventRecord, seq_of=_seq
        )
        feed = NatsEventFeed(follower)
        paper = ReferencePaper(feed)
        relay = RecordPublisher(
            nc.jetstream(),
            PAPER_EVENTS_LIVE,
            paper.subscribe(),
            msg_id=lambda record: str(record.seq),
        )
        await _run_all(follower.run(), feed.run(), paper.run(), relay.run())
    finally:
        await disconnect(nc)


async def run_reference_oe(
    nats_url: str,
    db_path: Path,
    *,
    auth: NatsAuth | None = None,
    account_id: int | None = None,
    script: Callable[[ReferenceOE], Awaitable[T]] | None = None,
    intent_timeout_s: float = 10.0,
) -> T | None:
    """The reference OE as user `oe`; runs `script(oe)` and returns its result, or follows until cancelled."""
    # Intents by request/reply, health from `pa.health` and the PA's bucket, outcomes from Paper's relay.
    nc = await connect(nats_url, auth if auth is not None else NatsAuth.from_env(), name="oe")
    try:
        health = NatsHealthFollower(nc)
        events = RecordFollower(
            imported_jetstream(nc, Account.PAPER), PAPER_EVENT_STREAM, OE_EVENT_CONSUMER, EventRecord, seq_of=_seq
        )
        oe = ReferenceOE(
            NatsIntentCaller(nc, timeout_s=intent_timeout_s),
            db_path,
            events=events.queue,
            health=health.queue,
            account_id=account_id,
        )
        try:
            background = [health.run(), events.run(), oe.run()]
            if script is None:
                await _run_all(*background)
                return None
            return await _run_all(*background, main=script(oe))
        finally:
            oe.close()
    finally:
        await disconnect(nc)


def _seq(record: EventRecord) -> int:
    return record.seq


async def _run_all(*background: Coroutine[Any, Any, Any], main: Awaitable[T] | None = None) -> T | None:
    """Run `background` until cancelled, or until `main` finishes; a failing task stops them all."""
    tasks = [asyncio.ensure_future(coro) for coro in background]
    main_task = asyncio.ensure_future(main) if main is not None else None
    watched = {*tasks, main_task} if main_task is not None else set(tasks)
    try:
        done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not main_task:
                task.result()  # a module task that ends on its own failed: raise its error
                raise RuntimeError(f"{task!r} stopped unexpectedly")
        assert main_task is not None
        return main_task.result()
    finally:
        for task in watched:
            task.cancel()
        await asyncio.gather(*watched, return_exceptions=True)  # their errors, if any, were raised above
