"""`NatsIntentSource`: the PA's IntentSource on NATS: core request/reply on `pa.intents`, the ack as reply.

The sender identity comes from the server, never from the message: `pa.intents` is a service the PA account
exports to account OE only (see `access`), and on every request that crosses into the PA account the server
sets the `Nats-Request-Info` header to the requester's account (a header of that name sent by a client is
replaced), and maps the reply subject to `_R_.…`, which routes back into the requester's account only. An
intent is executed, and answered, only when both say "from account OE". Anything else on the subject is not
executed and not answered (an answer would go where the sender chose), only logged and counted.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
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
from platform_adapter.transport.nats.subjects import (
    INTENT_QUEUE_GROUP,
    INTENT_SUBJECT,
    REQUEST_INFO_HEADER,
    RESPONSE_REPLY_PREFIX,
)

_log = get_logger("pa.nats.intents")
_FIELD_IN_ERROR = re.compile(r"at `\$\.([A-Za-z_]\w*)")
OE_ACCOUNT = "OE"  # the account `access` exports `pa.intents` to


class _IntentId(msgspec.Struct):
    intent_id: Any = None


class _RequestInfo(msgspec.Struct):
    acc: str = ""
    user: str = ""


_INTENT_ID = msgspec.json.Decoder(_IntentId)
_REQUEST_INFO = msgspec.json.Decoder(_RequestInfo)


@dataclass(frozen=True)
class Sender:
    """Who sent a message on `pa.intents`, as the server says: its account and user (empty when unknown)."""

    account: str
    user: str


def authenticated_sender(msg: Any, subject: str = INTENT_SUBJECT) -> tuple[Sender | None, str]:
    """The sender of a request the server carried across from another account, or None and why not."""
    if msg.subject != subject:
        return None, f"subject {msg.subject!r} is not {subject!r}"
    if not msg.reply:
        return None, "no reply subject: not a request (OE could never learn the ack)"
    if not msg.reply.startswith(RESPONSE_REPLY_PREFIX):
        return None, f"reply {msg.reply!r} was not mapped by a service import: the sender is not in another account"
    raw = (msg.headers or {}).get(REQUEST_INFO_HEADER)
    if raw is None:
        return None, f"no {REQUEST_INFO_HEADER} header (the server sets it on every cross-account request)"
    try:
        info = _REQUEST_INFO.decode(raw)
    except msgspec.DecodeError:
        return None, f"{REQUEST_INFO_HEADER} is not the server's JSON"
    return Sender(info.acc, info.user), ""


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
        self.refused_senders = 0  # messages not from account OE: not executed, not answered
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
        sender, why = authenticated_sender(msg, self._subject)
        if sender is None or sender.account != OE_ACCOUNT:
            self.refused_senders += 1
            _log.error(
                "intent_sender_refused",
                why=why or f"sent from account {sender.account if sender else '?'!r}, not {OE_ACCOUNT!r}",
                user=sender.user if sender else None,
                subject=msg.subject,
                size=len(msg.data),
            )
            return
        try:
            intent: Intent = decode_intent(msg.data)
        except DecodeError as exc:
            self.malformed += 1
            ack = self._malformed(msg.data, received_ts, str(exc))
            _log.warning("intent_malformed", intent_id=ack.intent_id, detail=ack.detail)
        else:
            try:
                ack = await handler(intent, OE_IDENTITY)  # the server says: account OE
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
