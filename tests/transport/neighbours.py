"""The PA and its neighbours on a real nats-server, for the hostile-neighbour suite (test_hostile.py).

`Neighbourhood.start()` runs a nats-server with the accounts layout, provisions every account as its setup
identity, and runs the real ports: the PA's fact sink, health sink and intent source (as `pa`), U's fact consumer
into the reference U (as `u`), OE's health follower and intent caller (as `oe`). An attacker is one more connection
as a module's user (`Probe`), whose every command is followed by a barrier so that a refusal is known, not waited
for. `after_attack()` then drives the legitimate traffic and checks every invariant a neighbour could break.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from nats.js.api import StreamConfig

from pa_harness.nats_server import NatsServer
from pa_harness.reference.u import ReferenceU
from platform_adapter.core.clock import SystemClock
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import (
    AckStatus,
    FactEnvelope,
    HealthSignal,
    HealthState,
    Intent,
    OrderAction,
    OrderType,
    ReceiptAck,
    SubmitOrder,
)
from platform_adapter.mic.codec import encode
from platform_adapter.transport.nats import (
    Identity,
    Module,
    NatsFactConsumer,
    NatsFactSink,
    NatsHealthFollower,
    NatsHealthSink,
    NatsIntentCaller,
    NatsIntentSource,
    SetupIdentity,
    connect,
    imported_jetstream,
    open_health_bucket,
)
from platform_adapter.transport.nats.connection import disconnect, inbox_prefix, sync_with_server
from platform_adapter.transport.nats.subjects import (
    FACT_STREAM,
    HEALTH_BUCKET,
    HEALTH_KEY,
    HEALTH_STREAM,
    LEASE_STREAM,
    LEDGER_STREAM,
    MSG_ID_HEADER,
    OE_EVENT_CONSUMER,
    PAPER_EVENT_CONSUMER,
    PAPER_EVENT_STREAM,
    U_EVENT_STREAM,
    U_FACT_CONSUMER,
)

from .envelopes import RUN_ID, fact, facts

PA_ORDER_ID = 9001  # the PA's handler answers every genuine intent with this order id
OE_VICTIM_INBOX = f"{inbox_prefix('oe')}.victim"  # a reply inbox of OE's that something could try to write into
# Each account's streams: nothing may add one, change one or take one away.
STREAMS = {
    SetupIdentity.PA_ADMIN: {FACT_STREAM: [U_FACT_CONSUMER], HEALTH_STREAM: [], LEASE_STREAM: [], LEDGER_STREAM: []},
    SetupIdentity.U_ADMIN: {U_EVENT_STREAM: [PAPER_EVENT_CONSUMER]},
    SetupIdentity.PAPER_ADMIN: {PAPER_EVENT_STREAM: [OE_EVENT_CONSUMER]},
}


def forged_fill(seq: int) -> FactEnvelope:
    """A fill as a forger writes it: a well-formed envelope with the PA's run id and delivery_seq `seq`."""
    return msgspec.structs.replace(fact(seq), payload=msgspec.Raw(b'{"e":"props","d":{"entityType":"fill","qty":99}}'))


def forged_health() -> bytes:
    """PA_UP, as a forger would write it to make OE trade."""
    now = time.time_ns()
    return encode(HealthSignal(state=HealthState.UP, halt_required=False, since=now, ts=now, seq=999_999))


def order(intent_id: str) -> SubmitOrder:
    """An intent: a market buy of 100."""
    return SubmitOrder(
        intent_id=intent_id,
        account_id=701234,
        symbol="ESZ6",
        action=OrderAction.BUY,
        qty=100,
        order_type=OrderType.MARKET,
    )


FORGED_INTENT = encode(order("forged-1"))


@dataclass(frozen=True)
class Answer:
    """What the server made of one attacker command."""

    refused: bool  # a permissions violation, a JetStream API error, no responders, or no answer at all
    text: str
    reply: Any = None  # the JSON answer of an API call that was served

    def __str__(self) -> str:
        return f"{'REFUSED' if self.refused else 'accepted'}: {self.text}"


class Probe:
    """An attacker's connection: each command, then a barrier, then what the server said."""

    def __init__(self, nc: Any, who: Identity, errors: list[Exception]) -> None:
        self.nc = nc
        self.who = who
        self._errors = errors

    def _refusal(self) -> str | None:
        found = [str(e) for e in self._errors if "permissions violation" in str(e).lower()]
        self._errors.clear()
        return found[0] if found else None

    async def publish(
        self, subject: str, data: bytes = b"x", *, reply: str = "", headers: dict[str, str] | None = None
    ) -> Answer:
        """Publish; after the barrier, refused or sent."""
        self._errors.clear()
        await self.nc.publish(subject, data, reply=reply, headers=headers)
        await sync_with_server(self.nc)
        refusal = self._refusal()
        return Answer(True, refusal) if refusal else Answer(False, f"sent {subject}")

    async def request(self, subject: str, body: Any = None, *, headers: dict[str, str] | None = None) -> Answer:
        """A request (a JSON body, or bytes): refused, or the server's answer."""
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        inbox = self.nc.new_inbox()
        answers = await self.nc.subscribe(inbox, max_msgs=1)
        self._errors.clear()
        await self.nc.publish(subject, data, reply=inbox, headers=headers)
        await sync_with_server(self.nc)
        refusal = self._refusal()
        if refusal:
            await answers.unsubscribe()
            return Answer(True, refusal)
        try:
            msg = await answers.next_msg(timeout=2)
        except TimeoutError:
            return Answer(True, "no answer")
        status = (msg.headers or {}).get("Status")
        if status and not msg.data:
            return Answer(True, f"status {status} {(msg.headers or {}).get('Description', '')}".strip())
        try:
            document = json.loads(msg.data)
        except ValueError:
            return Answer(False, f"answer {msg.data[:80]!r}", msg.data)
        if isinstance(document, dict) and "error" in document:
            error = document["error"]
            return Answer(True, f"JetStream {error.get('code')}/{error.get('err_code')}: {error.get('description')}")
        return Answer(False, f"answer {json.dumps(document)[:100]}", document)

    async def subscribe(self, subject: str, queue: str = "") -> tuple[Answer, Any]:
        """Subscribe; after the barrier, refused or subscribed (and the subscription)."""
        self._errors.clear()
        subscription = await self.nc.subscribe(subject, queue=queue)
        await sync_with_server(self.nc)
        refusal = self._refusal()
        return (Answer(True, refusal) if refusal else Answer(False, f"subscribed {subject}")), subscription


class RecordingPA:
    """The PA's intent handler: records every intent it is asked to execute, and accepts it."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, str]] = []

    async def handle(self, intent: Intent, sender: str) -> ReceiptAck:
        self.executed.append((intent.intent_id, sender))
        return ReceiptAck(
            intent_id=intent.intent_id,
            status=AckStatus.ACCEPTED,
            received_ts=1,
            acked_ts=2,
            platform_order_id=PA_ORDER_ID,
        )


@dataclass
class Neighbourhood:
    """The running system; the attacker's connections are made with `probe()`."""

    server: NatsServer
    clients: dict[Identity, Any]
    sink: NatsFactSink
    health: NatsHealthSink
    source: NatsIntentSource
    pa: RecordingPA
    u: ReferenceU
    consumer: NatsFactConsumer
    follower: NatsHealthFollower
    caller: NatsIntentCaller
    victim_inbox: list[Any]
    tasks: list[asyncio.Task[Any]]
    delivered: list[FactEnvelope] = field(default_factory=list)
    signals: list[HealthSignal] = field(default_factory=list)
    genuine: list[str] = field(default_factory=list)
    config_before: dict[str, Any] = field(default_factory=dict)
    probes: list[Any] = field(default_factory=list)

    async def probe(self, who: Identity) -> Probe:
        """A fresh connection as `who`, the attacker."""
        errors: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            errors.append(exc)

        nc = await connect(self.server.url, self.server.auth(who), name=f"{who.value}-attacker", on_error=on_error)
        self.probes.append(nc)
        return Probe(nc, who, errors)

    async def admin(self, who: SetupIdentity) -> Any:
        """A setup identity's JetStream context: how the owners look at their own objects."""
        return self.clients[who].jetstream(timeout=2)

    # -- the PA's legitimate traffic --------------------------------------------------------------------------

    async def deliver_facts(self, count: int) -> None:
        """The PA delivers its next `count` facts."""
        first = len(self.delivered) + 1
        batch = facts(first, first + count - 1)
        await self.sink.deliver(batch)
        self.delivered.extend(batch)

    async def publish_health(self, state: HealthState = HealthState.UP) -> HealthSignal:
        """The PA publishes its next health signal."""
        now = time.time_ns()
        seq = len(self.signals) + 1
        signal = HealthSignal(state=state, halt_required=state is not HealthState.UP, since=now, ts=now, seq=seq)
        await self.health.publish(signal)
        self.signals.append(signal)
        return signal

    async def genuine_intent(self) -> ReceiptAck:
        """OE's own next intent."""
        intent_id = f"genuine-{len(self.genuine) + 1}"
        self.genuine.append(intent_id)
        return await self.caller.call(order(intent_id), OE_IDENTITY)

    # -- the invariants -------------------------------------------------------------------------------------------

    async def configuration(self) -> dict[str, Any]:
        """Every account's streams, their configurations and their consumers, as each account's owner sees them."""
        seen: dict[str, Any] = {}
        for setup, streams in STREAMS.items():
            js = await self.admin(setup)
            names = sorted([info.config.name for info in await js.streams_info()])
            seen[f"{setup.account.value} streams"] = names
            for stream in streams:
                info = await js.stream_info(stream)
                config: StreamConfig = info.config
                seen[f"{stream} config"] = (
                    config.subjects,
                    config.retention,
                    config.discard,
                    config.republish,
                    config.mirror,
                    config.sources,
                    config.allow_direct,
                )
                consumers = await js.consumers_info(stream)
                seen[f"{stream} consumers"] = sorted(
                    (c.name, c.config.filter_subject, c.config.deliver_subject, c.config.ack_policy) for c in consumers
                )
        return seen

    async def after_attack(self, attacker: Identity, *, own_durable_touched: bool = False) -> None:
        """The PA's and OE's next traffic, and every invariant (AssertionError names the broken one)."""
        for nc in self.probes:
            await sync_with_server(nc)  # whatever the attacker sent, the server has processed
        # The PA's next facts are stored, none deduplicated away, none refused.
        before = (self.sink.counters.acked, self.sink.counters.duplicates)
        await self.deliver_facts(2)
        assert (self.sink.counters.acked, self.sink.counters.duplicates) == (before[0] + 2, before[1]), (
            f"the PA's facts: {self.sink.counters}"
        )
        # OE's next intent gets the PA's own receipt, and nothing but OE's intents reached the PA.
        ack = await self.genuine_intent()
        assert (ack.intent_id, ack.status, ack.platform_order_id) == (self.genuine[-1], AckStatus.ACCEPTED, PA_ORDER_ID)
        assert self.pa.executed == [(intent_id, OE_IDENTITY) for intent_id in self.genuine], self.pa.executed
        if attacker is not Module.OE:  # OE may put anything on pa.intents: what is no request of its is refused
            assert self.source.refused_senders == 0, "something but OE's requests arrived on pa.intents"
        # OE's health is the PA's, and the bucket holds the PA's last signal.
        last = await self.publish_health()
        async with asyncio.timeout(5):
            while self.follower.latest != last:
                await self.follower.queue.get()
        kv = await (await self.admin(SetupIdentity.PA_ADMIN)).key_value(HEALTH_BUCKET)
        assert (await kv.get(HEALTH_KEY)).value == encode(last), "the health bucket holds something else"
        # Nothing was written into OE's replies.
        assert self.victim_inbox == [], self.victim_inbox
        # The facts stream holds the PA's facts only, and U stored exactly those, with no hole.
        state = (await (await self.admin(SetupIdentity.PA_ADMIN)).stream_info(FACT_STREAM)).state
        assert state.messages == len(self.delivered), (
            f"PA_FACTS holds {state.messages}, the PA wrote {len(self.delivered)}"
        )
        if not own_durable_touched:  # U may harm its own reading of its own durable; nobody else may
            async with asyncio.timeout(10):
                await self.consumer.wait_consumed(len(self.delivered))
            stored = self.u.db.execute(
                "SELECT delivery_seq, payload FROM facts WHERE redelivery = 0 ORDER BY fact_id"
            ).fetchall()
            assert [(row[0], row[1]) for row in stored] == [
                (e.delivery_seq, bytes(e.payload).decode()) for e in self.delivered
            ], "U stored something else than the PA's facts"
            assert self.u.counters.holes == 0
        # No stream, bucket or consumer was added, changed or taken away.
        assert await self.configuration() == self.config_before


@asynccontextmanager
async def neighbourhood(workdir: Path) -> AsyncIterator[Neighbourhood]:
    """A provisioned server and every module on it, with initial traffic; everything stopped afterwards."""
    server = NatsServer(workdir)
    await server.start()
    clients: dict[Identity, Any] = {}
    tasks: list[asyncio.Task[Any]] = []
    world: Neighbourhood | None = None
    try:
        await server.provision()
        for who in (*Module, *SetupIdentity):
            clients[who] = await connect(server.url, server.auth(who), name=who.value, reconnect_wait_s=0.05)
        pa, oe = clients[Module.PA], clients[Module.OE]
        handler = RecordingPA()
        source = NatsIntentSource(pa)
        u = ReferenceU(":memory:")
        consumer = NatsFactConsumer(imported_jetstream(clients[Module.U]), u.accept_batch, fetch_timeout_s=0.1)
        follower = NatsHealthFollower(oe, stale_after_s=60, clock=SystemClock())
        victim_inbox: list[Any] = []

        async def on_victim(msg: Any) -> None:
            victim_inbox.append(msg)

        await oe.subscribe(OE_VICTIM_INBOX, cb=on_victim)
        tasks = [
            asyncio.create_task(source.serve(handler.handle)),
            asyncio.create_task(consumer.run()),
            asyncio.create_task(follower.run()),
        ]
        async with asyncio.timeout(10):
            await source.ready.wait()
            await follower.ready.wait()
        world = Neighbourhood(
            server=server,
            clients=clients,
            sink=NatsFactSink(pa, run_id=RUN_ID, ack_timeout_s=2),
            health=NatsHealthSink(pa, await open_health_bucket(pa.jetstream())),
            source=source,
            pa=handler,
            u=u,
            consumer=consumer,
            follower=follower,
            caller=NatsIntentCaller(oe, timeout_s=2),
            victim_inbox=victim_inbox,
            tasks=tasks,
        )
        # What there is to attack: facts, health, an intent, and one record in each relay stream.
        await world.deliver_facts(3)
        await world.publish_health()
        await world.genuine_intent()
        u_js, paper_js = clients[Module.U].jetstream(), clients[Module.PAPER].jetstream()
        # U's record is intent-shaped and carries the PA's next fact id: what a push consumer could deliver on.
        await u_js.publish("u.events.LIVE", FORGED_INTENT, headers={MSG_ID_HEADER: f"{RUN_ID}-4"})
        await paper_js.publish("paper.events.LIVE", FORGED_INTENT, headers={MSG_ID_HEADER: "paper-1"})
        world.config_before = await world.configuration()
        yield world
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for nc in [*(world.probes if world else []), *clients.values()]:
            await disconnect(nc)
        if world is not None:
            world.u.close()
        await server.stop()
