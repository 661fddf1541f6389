"""Time-penalty tickets (`p-ticket`, `p-time`, `p-captcha`) and their redemption.

A ticket is honoured only when the identical request comes back with `"p-ticket"` added, after `p-time`
seconds, and never when `p-captcha` is set (FAQ:HowToHandleRequestLimits; JS:EX-3-Time-Penalty).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from tradovate_sim.clock import SimClock
from tradovate_sim.wire import JsonObject, dumps

TICKET_FIELD = "p-ticket"


@dataclass
class _Ticket:
    ticket: str
    request_key: str
    issued_at: float
    seconds: float
    captcha: bool


def request_key(endpoint: str, query: str, body: JsonObject | None) -> str:
    """What must be identical for a retry to count: endpoint, query and body without `p-ticket`."""
    cleaned = {key: value for key, value in (body or {}).items() if key != TICKET_FIELD}
    return endpoint.lower() + "\n" + query + "\n" + dumps(dict(sorted(cleaned.items())))


class PenaltyBox:
    """Issued tickets, keyed by ticket text."""

    def __init__(self, clock: SimClock, seed: int) -> None:
        self._clock = clock
        self._rng = random.Random(f"{seed}:penalties")
        self._tickets: dict[str, _Ticket] = {}
        self.issued = 0
        self.honoured = 0

    def issue(self, key: str, seconds: float, captcha: bool) -> JsonObject:
        """A new ticket for this request."""
        ticket = f"pt{self._rng.getrandbits(64):016x}"
        self._tickets[ticket] = _Ticket(ticket, key, self._clock.wall(), seconds, captcha)
        self.issued += 1
        return _penalty(ticket, seconds, captcha)

    def redeem(self, key: str, ticket: str) -> JsonObject | None:
        """None when the retry is honoured (the ticket is used up); otherwise the penalty to answer with."""
        found = self._tickets.get(ticket)
        if found is None or found.request_key != key:
            return self.issue(key, found.seconds if found else 1.0, found.captcha if found else False)
        if found.captcha:
            return _penalty(found.ticket, found.seconds, True)
        waited = self._clock.wall() - found.issued_at
        if waited < found.seconds:
            return _penalty(found.ticket, found.seconds - waited, False)
        del self._tickets[ticket]
        self.honoured += 1
        return None


def _penalty(ticket: str, seconds: float, captcha: bool) -> JsonObject:
    # Tradovate sends whole seconds; round a remaining wait up so an obedient client is never early.
    return {"p-ticket": ticket, "p-time": max(1, math.ceil(seconds - 1e-9)), "p-captcha": captcha}
