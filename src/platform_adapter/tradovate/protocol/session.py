"""Sans-I/O session of one Tradovate WebSocket connection, in the style of h11 / wsproto.

The session is the protocol of one connection, with no socket, no event loop and no clock of its own:
the shell (``platform_adapter.tradovate``) feeds it every frame it reads with the time it read it
(``receive``), asks it for the text of the frames to send (``authorize``, ``request``), calls ``expire``
at ``next_deadline()``, and acts on the events the session queues (``take_events``). It owns:

* the handshake: ``OPENING`` (connected, waiting for ``o``) -> ``AUTHORIZING`` (``o`` received: send
  ``authorize\\n<id>\\n\\n<token>``) -> ``READY`` (``{"s":200,"i":<id>}``) -> ``CLOSED``
  [WSMD https://github.com/tradovate/api/blob/master/WebSockets.md; JS:EX-05];
* request ids (1, 2, 3, ... per connection, echoed back as ``i``) and the pending requests with their
  deadlines; a response is matched to its request by id, a late or unknown one is left to the fact path;
* the penalty decision on each answer [JS:EX-3; FAQ:HowToHandleRequestLimits;
  P:overview/core-concepts/penalty-tickets, rate-limits]: 429 -> rate limited; 401 -> unauthorized;
  a ``p-captcha`` -> a lock-out (a program cannot solve it); a ``p-ticket`` on a mutating request -> not
  processed and not re-sent (an order is never sent twice); on a read -> re-send the same body with the
  ticket once the ``p-time`` wait is over (the wait itself is the shell's: the budget is shared by REST and
  both sockets);
* the client heartbeat ``[]`` every ``heartbeat_s`` [WSMD; JS:EX-06] and the silence bound: the server
  sends ``h`` only when idle, so liveness is judged by the silence of any frame;
* the notices that end a connection: ``c[code,"reason"]`` and the ``shutdown`` event, whose reason code
  says whether a connection quota was hit (``ConnectionQuotaReached``, ``IPQuotaReached``: the oldest
  connection's token is revoked) [DOCS wss-guide/message-protocol; P connection-overview].

Each pending request carries an opaque ``waiter`` from the shell (an asyncio future, or anything): the
event that settles the request carries the request, so the shell resolves its waiter with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Generic, TypeAlias, TypeVar

from .errors import RequestEncodeError
from .frames import CloseFrame, Event, Frame, MessagesFrame, OpenFrame, Response, decode_frame
from .penalties import Penalty, parse_penalty, with_ticket
from .requests import HEARTBEAT, encode_authorize, encode_request
from .routing import shutdown_head

__all__ = [
    "QUOTA_REASON_CODES",
    "Answered",
    "Closed",
    "HandshakeTimedOut",
    "Heartbeat",
    "Lost",
    "Opened",
    "PendingRequest",
    "Refusal",
    "Refused",
    "Resend",
    "SessionEvent",
    "SessionState",
    "SessionStateError",
    "ShutdownAnnounced",
    "Silent",
    "TimedOut",
    "TradovateSession",
]

W = TypeVar("W")

QUOTA_REASON_CODES: Final = frozenset({"ConnectionQuotaReached", "IPQuotaReached"})
"""Shutdown reason codes that mean too many connections for this user / IP (P connection-overview)."""


class SessionState(StrEnum):
    """Where the connection is in its life."""

    OPENING = "opening"  # connected, waiting for the server's `o`
    AUTHORIZING = "authorizing"  # `o` received: `authorize` may be sent, then its answer awaited
    READY = "ready"  # authorized: requests may be sent
    CLOSED = "closed"  # ended: refused, timed out, silent, closed by either side


class SessionStateError(RuntimeError):
    """The session cannot do this in its state (e.g. a request before authorization or after the close)."""


class Refusal(StrEnum):
    """Why an answered request is refused rather than answered (the shell turns each into a typed error)."""

    RATE_LIMITED = "rate_limited"  # 429: Tradovate locks the user out (about an hour)
    UNAUTHORIZED = "unauthorized"  # 401: the token expired or was revoked
    CAPTCHA = "captcha"  # p-captcha: a program cannot go on; lock out
    PENALIZED = "penalized"  # p-ticket on a mutating request (or one that cannot be re-sent): not processed


@dataclass(frozen=True, slots=True)
class PendingRequest(Generic[W]):
    """A request sent on this connection and not yet settled; ``text`` is its frame as it goes on the wire."""

    endpoint: str
    request_id: int
    query: str
    body: bytes | str | None
    mutating: bool
    timeout_s: float
    deadline: float
    text: str
    waiter: W


@dataclass(frozen=True, slots=True)
class Answered(Generic[W]):
    """The request's answer (any status that is not refused: the caller reads it)."""

    request: PendingRequest[W]
    response: Response


@dataclass(frozen=True, slots=True)
class Refused(Generic[W]):
    """The request was answered with a refusal; ``penalty`` is set for CAPTCHA and PENALIZED."""

    request: PendingRequest[W]
    refusal: Refusal
    response: Response
    penalty: Penalty | None = None


@dataclass(frozen=True, slots=True)
class Resend(Generic[W]):
    """A read got a penalty ticket: wait ``penalty.wait_s`` (shared budget), then send ``body`` again."""

    request: PendingRequest[W]
    penalty: Penalty
    body: bytes | str | None


@dataclass(frozen=True, slots=True)
class TimedOut(Generic[W]):
    """No answer by the request's deadline: it was sent, its effect is unknown."""

    request: PendingRequest[W]


@dataclass(frozen=True, slots=True)
class Lost(Generic[W]):
    """The connection ended before the answer: the request was sent, its effect is unknown."""

    request: PendingRequest[W]


@dataclass(frozen=True, slots=True)
class Opened:
    """The server's ``o``: send ``authorize`` now."""


@dataclass(frozen=True, slots=True)
class HandshakeTimedOut:
    """No ``o`` within ``timeout_s`` of connecting."""

    timeout_s: float


@dataclass(frozen=True, slots=True)
class Closed:
    """The server's close frame ``c[code,"reason"]``."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class ShutdownAnnounced:
    """A ``shutdown`` event: the server will close this connection; ``quota`` when a connection quota was hit."""

    reason_code: str | None
    reason: str | None
    quota: bool


@dataclass(frozen=True, slots=True)
class Silent:
    """No frame for ``silent_s`` (more than the bound ``bound_s``): the connection is dead; close it."""

    silent_s: float
    bound_s: float


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A client heartbeat is due: send ``text`` now."""

    text: str = HEARTBEAT


SessionEvent: TypeAlias = (
    Answered[W]
    | Refused[W]
    | Resend[W]
    | TimedOut[W]
    | Lost[W]
    | Opened
    | HandshakeTimedOut
    | Closed
    | ShutdownAnnounced
    | Silent
    | Heartbeat
)

_OPENED: Final = Opened()
_HEARTBEAT: Final = Heartbeat()
_NEVER: Final = math.inf


class TradovateSession(Generic[W]):
    """The protocol state of one connection: feed it frames and time, send what it builds, act on its events."""

    __slots__ = (
        "_authorize_id",
        "_events",
        "_heartbeat_at",
        "_heartbeat_s",
        "_last_frame",
        "_last_id",
        "_open_deadline",
        "_open_timeout_s",
        "_paused",
        "_pending",
        "_silence_s",
        "has_events",
        "state",
    )

    def __init__(
        self,
        now: float,
        *,
        open_timeout_s: float,
        heartbeat_s: float | None = None,
        silence_s: float | None = None,
    ) -> None:
        """A session for a socket connected at ``now``; ``None`` turns the client heartbeat / silence bound off."""
        self.state = SessionState.OPENING
        self.has_events = False  # cheap to test once per frame; `take_events` empties the queue
        self._events: list[SessionEvent[W]] = []
        self._pending: dict[int, PendingRequest[W]] = {}
        self._last_id = 0
        self._authorize_id: int | None = None
        self._open_timeout_s = open_timeout_s
        self._open_deadline = now + open_timeout_s
        self._heartbeat_s = heartbeat_s
        self._heartbeat_at = now + heartbeat_s if heartbeat_s else _NEVER
        self._silence_s = silence_s
        self._last_frame = now
        self._paused = False

    # -- frames in ----------------------------------------------------------------------------------------

    def receive(self, data: str | bytes, now: float) -> Frame:
        """Decode one server frame read at ``now`` and return it (its messages are for the fact path).

        Responses to pending requests, ``o``, ``c`` and ``shutdown`` queue events. Never raises on any content.
        """
        self._last_frame = now
        frame = decode_frame(data)
        if type(frame) is MessagesFrame:
            if frame.events_only:  # md / chart / props only (most frames): no answer, no notice in it
                return frame
            for message in frame.messages:
                if type(message) is Response:
                    self._answer(message)
                elif type(message) is Event and message.kind == "shutdown":
                    self._shutdown(message)
        elif type(frame) is OpenFrame:
            if self.state is SessionState.OPENING:
                self.state = SessionState.AUTHORIZING
                self._queue(_OPENED)
        elif type(frame) is CloseFrame:
            self._queue(Closed(frame.code, frame.reason))
        return frame

    def _answer(self, response: Response) -> None:
        request = self._pending.pop(response.request_id, None)
        if request is None:  # unknown, or answered after its deadline: only the fact path sees it
            return
        status = response.status
        if response.request_id == self._authorize_id:
            self._authorize_id = None
            if self.state is SessionState.AUTHORIZING:
                self.state = SessionState.READY if status == 200 else SessionState.CLOSED
            self._queue(Answered(request, response))
        elif status == 429:
            self._queue(Refused(request, Refusal.RATE_LIMITED, response))
        elif status == 401:
            self._queue(Refused(request, Refusal.UNAUTHORIZED, response))
        elif status == 200 and (penalty := parse_penalty(response.d)) is not None:
            self._queue(self._penalized(request, response, penalty))
        else:
            self._queue(Answered(request, response))

    def _penalized(self, request: PendingRequest[W], response: Response, penalty: Penalty) -> SessionEvent[W]:
        if penalty.captcha:
            return Refused(request, Refusal.CAPTCHA, response, penalty)
        if request.mutating:  # never re-sent: an order must not go out twice
            return Refused(request, Refusal.PENALIZED, response, penalty)
        if penalty.ticket is None:
            return Resend(request, penalty, request.body)
        try:
            body = with_ticket(request.body or b"{}", penalty.ticket)
        except RequestEncodeError:  # a body that is no JSON object cannot carry the ticket: not re-sent
            return Refused(request, Refusal.PENALIZED, response, penalty)
        return Resend(request, penalty, body)

    def _shutdown(self, event: Event) -> None:
        notice = shutdown_head(event.d)
        code = notice.reason_code if notice is not None else None
        reason = notice.reason if notice is not None else None
        self._queue(ShutdownAnnounced(code, reason, code in QUOTA_REASON_CODES))

    # -- frames out ---------------------------------------------------------------------------------------

    def authorize(self, token: str, now: float, *, timeout_s: float, waiter: W) -> PendingRequest[W]:
        """The ``authorize`` request (after ``o``, once); its answer moves the session to READY or CLOSED."""
        if self.state is not SessionState.AUTHORIZING or self._authorize_id is not None:
            raise SessionStateError(f"cannot authorize in state {self.state.value}")
        request_id = self._next_id()
        text = encode_authorize(request_id, token)
        self._authorize_id = request_id
        return self._register("authorize", request_id, "", None, False, now, timeout_s, text, waiter)

    def request(
        self,
        endpoint: str,
        now: float,
        *,
        timeout_s: float,
        waiter: W,
        query: str = "",
        body: bytes | str | None = None,
        mutating: bool = False,
    ) -> PendingRequest[W]:
        """A request on an authorized connection; raises RequestEncodeError for an ambiguous frame."""
        if self.state is not SessionState.READY:
            raise SessionStateError(f"cannot send {endpoint} in state {self.state.value}")
        request_id = self._next_id()
        text = encode_request(endpoint, request_id, query, body)
        return self._register(endpoint, request_id, query, body, mutating, now, timeout_s, text, waiter)

    def withdraw(self, request: PendingRequest[W]) -> None:
        """Forget a request the shell could not send (nothing went out)."""
        self._pending.pop(request.request_id, None)
        if request.request_id == self._authorize_id:
            self._authorize_id = None

    def _next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def _register(
        self,
        endpoint: str,
        request_id: int,
        query: str,
        body: bytes | str | None,
        mutating: bool,
        now: float,
        timeout_s: float,
        text: str,
        waiter: W,
    ) -> PendingRequest[W]:
        request = PendingRequest(endpoint, request_id, query, body, mutating, timeout_s, now + timeout_s, text, waiter)
        self._pending[request_id] = request
        return request

    # -- time ---------------------------------------------------------------------------------------------

    def next_deadline(self) -> float:
        """The earliest time ``expire`` has something to do (``math.inf`` when nothing is scheduled)."""
        if self.state is SessionState.CLOSED:
            return _NEVER
        deadline = self._heartbeat_at
        if self.state is SessionState.OPENING:
            deadline = min(deadline, self._open_deadline)
        if self._silence_s is not None and not self._paused:
            deadline = min(deadline, self._last_frame + self._silence_s)
        for request in self._pending.values():
            deadline = min(deadline, request.deadline)
        return deadline

    def expire(self, now: float) -> None:
        """Queue what is due at ``now``: timed-out requests, a handshake or silence timeout, a heartbeat."""
        if self.state is SessionState.CLOSED:
            return
        overdue = [r for r in self._pending.values() if r.deadline <= now]
        for request in overdue:
            del self._pending[request.request_id]
            self._queue(TimedOut(request))
        if self.state is SessionState.OPENING and now >= self._open_deadline:
            self.state = SessionState.CLOSED
            self._queue(HandshakeTimedOut(self._open_timeout_s))
            return
        # The same sum as `next_deadline`, not `now - last >= bound`: float rounding must not leave a due deadline
        # unexpired (a timer woken at it would spin).
        if self._silence_s is not None and not self._paused and now >= self._last_frame + self._silence_s:
            self.state = SessionState.CLOSED
            self._queue(Silent(now - self._last_frame, self._silence_s))
            return
        if now >= self._heartbeat_at and self._heartbeat_s:
            self._heartbeat_at = now + self._heartbeat_s
            self._queue(_HEARTBEAT)

    def start_heartbeats(self, interval_s: float, now: float) -> None:
        """Send ``[]`` every ``interval_s`` from now on (a session made without heartbeats, e.g. the probe's)."""
        self._heartbeat_s = interval_s
        self._heartbeat_at = now + interval_s

    def pause(self) -> None:
        """The shell stopped reading (backpressure): silence is not judged while paused."""
        self._paused = True

    def resume(self, now: float) -> None:
        """The shell reads again; the silence bound counts from ``now``."""
        self._paused = False
        self._last_frame = now

    # -- the end ------------------------------------------------------------------------------------------

    def close(self) -> None:
        """The connection ended (either side): every pending request is lost; nothing more is sent."""
        self.state = SessionState.CLOSED
        self._authorize_id = None
        pending, self._pending = self._pending, {}
        for request in pending.values():
            self._queue(Lost(request))

    # -- events -------------------------------------------------------------------------------------------

    def _queue(self, event: SessionEvent[W]) -> None:
        self._events.append(event)
        self.has_events = True

    def take_events(self) -> list[SessionEvent[W]]:
        """The events queued since the last call, in order; the queue is left empty."""
        events, self._events = self._events, []
        self.has_events = False
        return events

    @property
    def pending(self) -> tuple[PendingRequest[W], ...]:
        """The requests sent and not yet settled."""
        return tuple(self._pending.values())
