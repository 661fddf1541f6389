"""`NatsIntentCaller`: OE's side of `pa.intents`: one request per intent, the PA's ReceiptAck as reply.

When no reply comes, the caller answers locally, and says which of two things happened:
- `failed` (`pa_down`) when the intent provably reached no PA: the server reported no responders (nobody
  subscribes to `pa.intents`), or OE's own connection could not send it. Nothing reached the platform, so
  OE may send the same intent (same `intent_id`) again later.
- `unknown` (`timeout`) when the request went out and no answer came in time: a PA may have received it and
  sent it to the platform. OE must treat it as any `unknown`: no new risk on that order until platform facts
  (U -> Paper -> OE) resolve it; re-sending the same `intent_id` is safe while that PA run lives (it answers
  a repeat with the first ack and never sends it twice).
"""

from __future__ import annotations

from typing import Any

from nats.errors import ConnectionClosedError, NoRespondersError, OutboundBufferLimitError
from nats.errors import TimeoutError as NatsTimeoutError

from platform_adapter.core.clock import Clock, SystemClock
from platform_adapter.core.ports import OE_IDENTITY
from platform_adapter.mic import AckReason, AckStatus, Intent, ReceiptAck
from platform_adapter.mic.codec import DecodeError, decode_ack, encode
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.subjects import INTENT_SUBJECT

_log = get_logger("pa.nats.intent_caller")


class NatsIntentCaller:
    """IntentCaller for the reference OE (anything with `async call(intent, sender) -> ReceiptAck`)."""

    def __init__(
        self, nc: Any, *, subject: str = INTENT_SUBJECT, timeout_s: float = 10.0, clock: Clock | None = None
    ) -> None:
        self._nc = nc
        self._subject = subject
        self._timeout_s = timeout_s  # above the PA's own order-request deadline (5 s by default)
        self._clock: Clock = clock or SystemClock()

    async def call(self, intent: Intent, sender: str = OE_IDENTITY) -> ReceiptAck:
        """Send one intent and return the PA's ack, or a local `failed` / `unknown` ack (never raises)."""
        # `sender` is not sent: the server stamps the request with this connection's account (only account OE
        # imports `pa.intents`), and the PA executes nothing the server does not say came from OE.
        sent_ts = self._clock.now_ns()
        try:
            reply = await self._nc.request(self._subject, encode(intent), timeout=self._timeout_s)
        except NoRespondersError:
            return self._local(
                intent, sent_ts, AckStatus.FAILED, AckReason.PA_DOWN,
                "no PA serves intents (NATS: no responders on pa.intents): nothing was sent; "
                "the same intent_id may be sent again once the PA is up",
            )  # fmt: skip
        except (ConnectionClosedError, OutboundBufferLimitError) as exc:
            return self._local(
                intent, sent_ts, AckStatus.FAILED, AckReason.PA_DOWN,
                f"OE's NATS connection could not send the intent ({type(exc).__name__}): nothing was sent",
            )  # fmt: skip
        except (NatsTimeoutError, TimeoutError):
            return self._local(
                intent, sent_ts, AckStatus.UNKNOWN, AckReason.TIMEOUT,
                f"no receipt-ack within {self._timeout_s}s: the PA may have sent it to the platform; "
                "wait for platform facts before adding risk on it",
            )  # fmt: skip
        try:
            return decode_ack(reply.data)
        except DecodeError as exc:
            _log.error("intent_reply_undecodable", intent_id=intent.intent_id, error=str(exc))
            return self._local(
                intent, sent_ts, AckStatus.UNKNOWN, AckReason.PLATFORM_ERROR,
                f"the PA's reply could not be decoded ({exc}): the outcome is unknown",
            )  # fmt: skip

    def _local(self, intent: Intent, sent_ts: int, status: AckStatus, reason: AckReason, detail: str) -> ReceiptAck:
        _log.warning("intent_local_ack", intent_id=intent.intent_id, status=status.value, reason=reason.value)
        return ReceiptAck(
            intent_id=intent.intent_id,
            status=status,
            received_ts=sent_ts,
            acked_ts=self._clock.now_ns(),
            reason=reason,
            detail=detail,
        )
