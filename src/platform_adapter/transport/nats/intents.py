"""`NatsIntentSource`: the PA's IntentSource on NATS: core request/reply on `pa.intents`, the ack as reply.

The sender identity comes from the server, not from the message: per-module users with subject
permissions let only the `oe` user publish on `pa.intents` (see `access`), so every message that arrives
on it was authenticated as OE's and is handed to the handler as `OE_IDENTITY`. Another module's publish
is refused by the server and never arrives here.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import msgspec
from nats.errors import Error as NatsError

from platform_adapter.core.clock import Clock, SystemClock
from platform_adapter.core.ports import OE_IDENTITY, IntentHandler
from platform_adapter.mic import AckReason, AckStatus, Intent, ReceiptAck
from platform_adapter.mic.codec import MAX_INTENT_SIZE, DecodeError, decode_intent, encode
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.cancellation import raise_if_cancelling
from platform_adapter.transport.nats.connection import sync_with_server
from platform_adapter.transport.nats.subjects import INTENT_QUEUE_GROUP, INTENT_SUBJECT

_log = get_logger("pa.nats.intents")
_FIELD_IN_ERROR = re.compile(r"at `\$\.([A-Za-z_]\w*)")


class _IntentId(msgspec.Struct):
    intent_id: Any = None


_INTENT_ID = msgspec.json.Decoder(_IntentId)


class NatsIntentSource:
    """IntentSource: answers each request on `pa.intents` with the handler's ReceiptAck, concurrently."""

    def __init__(
        self,
        nc: Any,
        *,
        subject: str = INTENT_SUBJECT,
        queue_group: str = INTENT_QUEUE_GROUP,
        clock: Clock | None = None,
    ) -> None:
        self._nc = nc
        self._subject = subject
        self._queue_group = queue_group
        self._clock: Clock = clock or SystemClock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.served = 0
        self.malformed = 0
        self.without_reply = 0
        self.ready = asyncio.Event()  # set once the subscription is registered with the server

    async def serve(self, handler: IntentHandler) -> None:
        """Subscribe and serve until cancelled; in-flight calls are cancelled with it (OE sees no reply)."""

        async def on_message(msg: Any) -> None:
            # Each call in its own task: a kill must not queue behind a slow submit (the gate orders
            # what needs ordering, per intent id and per order).
            task = asyncio.create_task(self._answer(handler, msg), name="pa-intent")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        subscription = await self._nc.subscribe(self._subject, queue=self._queue_group, cb=on_message)
        try:
            try:
                await sync_with_server(self._nc)  # OE's first call must find the subscription in place
            except (NatsError, TimeoutError) as exc:  # not fatal: the client (re)subscribes once connected
                _log.warning("intents_subscription_unconfirmed", error=repr(exc))
            raise_if_cancelling()  # a stop request nats-py lost must not leave the PA serving forever
            self.ready.set()
            _log.info("intents_serving", subject=self._subject, queue_group=self._queue_group)
            await asyncio.Event().wait()
        finally:
            self.ready.clear()
            for task in list(self._tasks):
                task.cancel()
            try:
                await subscription.unsubscribe()
            except Exception as exc:  # the connection may be gone already; nothing is left to release
                _log.info("intents_unsubscribe_failed", error=repr(exc))

    async def _answer(self, handler: IntentHandler, msg: Any) -> None:
        received_ts = self._clock.now_ns()
        if not msg.reply:
            # Not a call: OE could never learn the ack, so nothing is executed.
            self.without_reply += 1
            _log.warning("intent_without_reply", subject=msg.subject, size=len(msg.data))
            return
        try:
            intent: Intent = decode_intent(msg.data)
        except DecodeError as exc:
            self.malformed += 1
            ack = self._malformed(msg.data, received_ts, str(exc))
            _log.warning("intent_malformed", intent_id=ack.intent_id, detail=ack.detail)
        else:
            try:
                ack = await handler(intent, OE_IDENTITY)  # the server admitted only OE to this subject
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the handler never raises by contract; if it does, the outcome is unknown
                _log.exception("intent_handler_error", intent_id=intent.intent_id)
                ack = ReceiptAck(
                    intent_id=intent.intent_id,
                    status=AckStatus.UNKNOWN,
                    received_ts=received_ts,
                    acked_ts=self._clock.now_ns(),
                    reason=AckReason.PLATFORM_ERROR,
                    detail=f"internal error while handling the intent: {type(exc).__name__}",
                )
        self.served += 1
        try:
            await msg.respond(encode(ack))
        except Exception as exc:  # OE then sees no reply: per the ack rules it treats that as unknown
            _log.warning("intent_reply_failed", intent_id=ack.intent_id, status=ack.status.value, error=repr(exc))

    def _malformed(self, data: bytes, received_ts: int, error: str) -> ReceiptAck:
        intent_id = ""
        try:  # the id, when it can be read, lets OE match the failure to its call
            body = _INTENT_ID.decode(data) if len(data) <= MAX_INTENT_SIZE else None
        except (msgspec.DecodeError, RecursionError, ValueError):
            body = None
        if body is not None and isinstance(body.intent_id, str):
            intent_id = body.intent_id[:64]
        match = _FIELD_IN_ERROR.search(error)
        return ReceiptAck(
            intent_id=intent_id,
            status=AckStatus.FAILED,
            received_ts=received_ts,
            acked_ts=self._clock.now_ns(),
            reason=AckReason.MALFORMED_INTENT,
            detail=f"the intent could not be decoded: {error}",
            field=match.group(1) if match else None,
        )
