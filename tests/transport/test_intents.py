"""Intents by request/reply: the handler's ack comes back, malformed input gets a typed failure, only OE gets in.

Only account OE imports `pa.intents`; the PA executes a message only when the server's `Nats-Request-Info` says it
crossed over from account OE, whatever the message itself claims.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from pa_harness.nats_server import NatsServer
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckReason, AckStatus, Intent, OrderAction, OrderType, ReceiptAck, SubmitOrder
from platform_adapter.mic.codec import decode_ack, encode
from platform_adapter.transport.nats import Module, NatsIntentCaller, NatsIntentSource
from platform_adapter.transport.nats.connection import sync_with_server
from platform_adapter.transport.nats.intents import authenticated_sender
from platform_adapter.transport.nats.subjects import INTENT_SUBJECT, REQUEST_INFO_HEADER

from .conftest import ConnectAs


def submit(intent_id: str = "i-1") -> SubmitOrder:
    return SubmitOrder(
        intent_id=intent_id,
        account_id=701234,
        symbol="ESZ6",
        action=OrderAction.BUY,
        qty=1,
        order_type=OrderType.MARKET,
    )


class RecordingPA:
    """The PA's intent handler stand-in: records each call (and the headers it came with), accepts it with an id."""

    def __init__(self) -> None:
        self.calls: list[tuple[Intent, str]] = []
        self.called = asyncio.Condition()
        self.release = asyncio.Event()
        self.release.set()

    async def handle(self, intent: Intent, sender: str) -> ReceiptAck:
        self.calls.append((intent, sender))
        async with self.called:
            self.called.notify_all()
        await self.release.wait()
        return ReceiptAck(
            intent_id=intent.intent_id, status=AckStatus.ACCEPTED, received_ts=1, acked_ts=2, platform_order_id=9001
        )


@pytest.fixture
async def source(connect_as: ConnectAs) -> NatsIntentSource:
    """The PA's intent source, logged in as `pa` (not serving yet)."""
    return NatsIntentSource(await connect_as(Module.PA))


@pytest.fixture
async def serving(source: NatsIntentSource) -> AsyncIterator[RecordingPA]:
    """The PA's intent source serving a RecordingPA."""
    pa = RecordingPA()
    task = asyncio.create_task(source.serve(pa.handle))
    async with asyncio.timeout(5):
        await source.ready.wait()
    yield pa
    task.cancel()


async def test_intent_call_returns_the_handlers_ack_and_the_sender_is_oe(
    connect_as: ConnectAs, serving: RecordingPA
) -> None:
    caller = NatsIntentCaller(await connect_as(Module.OE), timeout_s=5)

    ack = await caller.call(submit("i-1"), OE_IDENTITY)

    assert (ack.intent_id, ack.status, ack.platform_order_id) == ("i-1", AckStatus.ACCEPTED, 9001)
    assert serving.calls == [(submit("i-1"), OE_IDENTITY)]


@pytest.mark.parametrize(
    ("body", "intent_id", "field"),
    [
        (b'{"type":"submit_order","intent_id":"i-9","account_id":"not a number"}', "i-9", "account_id"),
        (b'{"type":"teleport","intent_id":"i-8","account_id":1}', "i-8", "type"),
        (b"not json at all", "", None),
    ],
)
async def test_malformed_intent_gets_a_typed_failed_ack_and_reaches_no_handler(
    connect_as: ConnectAs, serving: RecordingPA, body: bytes, intent_id: str, field: str | None
) -> None:
    oe = await connect_as(Module.OE)

    reply = await oe.request(INTENT_SUBJECT, body, timeout=5)

    ack = decode_ack(reply.data)
    assert (ack.status, ack.reason, ack.intent_id, ack.field) == (
        AckStatus.FAILED,
        AckReason.MALFORMED_INTENT,
        intent_id,
        field,
    )
    assert ack.detail.startswith("the intent could not be decoded")
    assert serving.calls == []


@pytest.mark.parametrize("module", [Module.U, Module.PAPER, Module.PA])
async def test_only_oe_may_publish_intents_the_server_refuses_any_other_user(
    connect_as: ConnectAs, serving: RecordingPA, module: Module
) -> None:
    errors: list[Exception] = []
    refused = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        errors.append(exc)
        refused.set()

    intruder = await connect_as(module, on_error=on_error)
    await intruder.publish(INTENT_SUBJECT, encode(submit("forged")), reply=intruder.new_inbox())
    async with asyncio.timeout(5):
        await refused.wait()

    assert 'permissions violation for publish to "pa.intents"' in str(errors[0]).lower()
    # OE's next call is answered, so the PA was serving all along: the forged intent never reached it.
    ack = await NatsIntentCaller(await connect_as(Module.OE), timeout_s=5).call(submit("real"))
    assert ack.status is AckStatus.ACCEPTED
    assert [intent.intent_id for intent, _ in serving.calls] == ["real"]


async def test_no_pa_serving_is_a_local_failed_ack_nothing_was_sent(connect_as: ConnectAs) -> None:
    caller = NatsIntentCaller(await connect_as(Module.OE), timeout_s=5)

    ack = await caller.call(submit("i-2"))

    assert (ack.intent_id, ack.status, ack.reason) == ("i-2", AckStatus.FAILED, AckReason.PA_DOWN)
    assert "no responders" in ack.detail


async def test_no_reply_in_time_is_unknown_never_failed(connect_as: ConnectAs, serving: RecordingPA) -> None:
    serving.release.clear()  # the PA took the intent and is still talking to the platform
    caller = NatsIntentCaller(await connect_as(Module.OE), timeout_s=0.3)

    ack = await caller.call(submit("i-3"))

    assert (ack.intent_id, ack.status, ack.reason) == ("i-3", AckStatus.UNKNOWN, AckReason.TIMEOUT)
    assert [intent.intent_id for intent, _ in serving.calls] == ["i-3"]
    serving.release.set()


async def test_intents_are_served_concurrently(connect_as: ConnectAs, serving: RecordingPA) -> None:
    serving.release.clear()
    caller = NatsIntentCaller(await connect_as(Module.OE), timeout_s=5)
    calls = [asyncio.create_task(caller.call(submit(f"c-{n}"))) for n in range(3)]
    async with asyncio.timeout(5), serving.called:
        await serving.called.wait_for(lambda: len(serving.calls) == 3)  # all three inside the handler at once

    serving.release.set()
    acks: list[Any] = await asyncio.gather(*calls)

    assert sorted(ack.intent_id for ack in acks) == ["c-0", "c-1", "c-2"]
    assert msgspec.json.decode(encode(acks[0]))["status"] == "accepted"


async def test_intents_are_served_again_after_a_server_restart(
    nats_server: NatsServer, connect_as: ConnectAs, serving: RecordingPA
) -> None:
    oe = await connect_as(Module.OE)
    caller = NatsIntentCaller(oe, timeout_s=5)
    assert (await caller.call(submit("before"))).status is AckStatus.ACCEPTED

    await nats_server.kill()
    await nats_server.start()
    await sync_with_server(oe, timeout_s=10)  # OE is connected again; the PA re-subscribed on reconnect

    async with asyncio.timeout(10):
        while (ack := await caller.call(submit("after"))).reason is AckReason.PA_DOWN:
            pass  # OE got back before the PA: "no responders", nothing sent; the same intent again is safe
    assert ack.status is AckStatus.ACCEPTED
    assert [intent.intent_id for intent, _ in serving.calls] == ["before", "after"]


async def test_oe_cannot_claim_another_account_the_server_says_who_sent_the_intent(
    connect_as: ConnectAs, source: NatsIntentSource
) -> None:
    seen: list[Any] = []
    served = asyncio.create_task(source.serve(RecordingPA().handle))
    async with asyncio.timeout(5):
        await source.ready.wait()

    async def keep(msg: Any) -> None:
        seen.append(msg)

    # A second subscription of the PA's: a copy of what arrives on the PA's side, headers as the server set them.
    pa = await connect_as(Module.PA)
    probe = await pa.subscribe(INTENT_SUBJECT, cb=keep)
    await sync_with_server(pa)
    oe = await connect_as(Module.OE)

    forged = {REQUEST_INFO_HEADER: '{"acc":"PA","user":"pa"}'}
    reply = await oe.request(INTENT_SUBJECT, encode(submit("claims-pa")), timeout=5, headers=forged)

    assert decode_ack(reply.data).status is AckStatus.ACCEPTED
    sender, _ = authenticated_sender(seen[0])
    assert sender is not None and (sender.account, sender.user) == ("OE", "oe")  # the server replaced the header
    await probe.unsubscribe()
    served.cancel()


class Message:
    """A message on `pa.intents` as nats-py hands it over, built by hand: what no server in the accounts layout
    delivers, but a single-account server did (a reflected pull delivery, a push consumer delivering there)."""

    def __init__(self, *, reply: str, headers: dict[str, str] | None, subject: str = INTENT_SUBJECT) -> None:
        self.subject = subject
        self.reply = reply
        self.headers = headers
        self.data = encode(submit("reflected"))
        self.responded: list[bytes] = []

    async def respond(self, data: bytes) -> None:
        self.responded.append(data)


OE_INFO = '{"acc":"OE","user":"oe"}'


@pytest.mark.parametrize(
    ("reply", "headers"),
    [
        ("_INBOX_oe.x.1", None),  # same-account request: no server-set identity
        ("$JS.ACK.U_EVENTS.paper.1.2.2.0.0", None),  # a pull delivery reflected onto pa.intents
        ("", {REQUEST_INFO_HEADER: OE_INFO}),  # no reply: not a request
        ("_INBOX_oe.x.1", {REQUEST_INFO_HEADER: OE_INFO}),  # identity header, but no cross-account reply mapping
        ("_R_.abc.def", {REQUEST_INFO_HEADER: '{"acc":"U","user":"u"}'}),  # from another account than OE
        ("_R_.abc.def", {REQUEST_INFO_HEADER: "not json"}),
    ],
    ids=["same-account", "reflected-delivery", "no-reply", "reply-not-mapped", "account-u", "header-not-json"],
)
async def test_an_intent_the_server_does_not_vouch_for_as_oe_s_is_neither_executed_nor_answered(
    reply: str, headers: dict[str, str] | None
) -> None:
    pa = RecordingPA()
    source = NatsIntentSource(object())
    msg = Message(reply=reply, headers=headers)

    await source._answer(pa.handle, msg)

    assert pa.calls == []
    assert msg.responded == []  # an answer would go where the sender chose
    assert source.refused_senders == 1


async def test_an_intent_from_account_oe_is_executed_as_oe_s() -> None:
    pa = RecordingPA()
    source = NatsIntentSource(object())
    msg = Message(reply="_R_.abc.def", headers={REQUEST_INFO_HEADER: OE_INFO})

    await source._answer(pa.handle, msg)

    assert pa.calls == [(submit("reflected"), OE_IDENTITY)]
    assert decode_ack(msg.responded[0]).status is AckStatus.ACCEPTED
