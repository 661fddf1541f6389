"""The ports `core` talks through. Transports implement the sink/source ports; the platform implements `Platform`.

`core` never knows whether facts go to an in-process U or to NATS JetStream, nor that the platform
is Tradovate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, Protocol

from platform_adapter.mic import AckReason, FactEnvelope, FactKind, HealthSignal, Intent, ReceiptAck, Stream


class FactSink(Protocol):
    """Where facts for U go. `deliver` returns only when the transport has accepted the whole batch.

    Raising means nothing in the batch is known to be delivered: the outbox keeps the batch and retries,
    so a transport must tolerate a re-delivery of the same `delivery_seq` (NATS dedupes by message id).
    """

    async def deliver(self, batch: Sequence[FactEnvelope]) -> None:
        """Hand a batch of facts, in order, to the transport."""
        ...


class HealthSink(Protocol):
    """Where health signals for OE go."""

    async def publish(self, signal: HealthSignal) -> None:
        """Publish one health signal."""
        ...


IntentHandler = Callable[[Intent, str], Awaitable[ReceiptAck]]
"""Handles one intent; the second argument is the sender identity the transport authenticated."""


class IntentSource(Protocol):
    """Where intents come from: serves each call with the handler's ReceiptAck."""

    async def serve(self, handler: IntentHandler) -> None:
        """Serve intent calls until cancelled."""
        ...


STARTUP_KEY = "startup"
"""The health condition raised until the platform side is connected; the platform clears it."""

OE_IDENTITY = "OE"
"""The only sender identity whose intents the PA executes (spec 4.3)."""


class FactWriter(Protocol):
    """What the platform side writes facts into (the outbox)."""

    def next_delivery_seq(self) -> int:
        """Reserve the next delivery sequence number (per PA run, gap-free)."""
        ...

    def put(self, envelope: FactEnvelope) -> None:
        """Queue one fact; never drops, never blocks (callers check `has_room` between frames)."""
        ...

    @property
    def has_room(self) -> bool:
        """False at capacity: platform readers must stop reading until `wait_for_room` returns."""
        ...

    async def wait_for_room(self) -> None:
        """Wait until the outbox is back under capacity."""
        ...


class FactHistoryUnavailable(Exception):
    """Where earlier PA runs' facts ended cannot be told: the store cannot be read, or no longer holds them."""


class FactHistory(Protocol):
    """What U already holds of earlier PA runs' facts: where a new tenure resumes from (ADR 0012).

    NATS: the facts stream itself (`transport/nats/fact_history.py`); embedded: a file in the state directory
    (`core/fact_history.py`).
    """

    async def last_fact(
        self, kind: FactKind | None = None, stream: Stream | None = None, contract_id: int | None = None
    ) -> FactEnvelope | None:
        """The last fact kept for U matching the selection (None matches anything); None if there never was one.

        Raises FactHistoryUnavailable when that cannot be told.
        """
        ...


class Rejection(NamedTuple):
    """Why an intent is refused before it reaches the platform."""

    reason: AckReason
    detail: str
    field: str | None = None


class Platform(Protocol):
    """The platform as `core` sees it (Tradovate implements it in `platform_adapter.tradovate`)."""

    @property
    def run_id(self) -> str:
        """This PA run's id (on every fact; the intent ledger notes which run took an intent)."""
        ...

    def validate(self, intent: Intent) -> Rejection | None:
        """Platform checks (known account and symbol, exact tick grid, the instrument's limits); None to send it.

        Called only for an intent `core` has checked for shape and values; must not raise (a fault here is answered
        `failed`, nothing sent).
        """
        ...

    def known_outcome(self, intent: Intent, received_ts: int) -> ReceiptAck | None:
        """The platform already knows this intent id (placed earlier, by any PA run): its ack, marked duplicate.

        Asked when the intent ledger has no entry for the id (e.g. retention dropped it): an intent the
        platform has seen must never be sent again. None when the platform shows no trace of it.
        """
        ...

    async def execute(self, intent: Intent, received_ts: int) -> ReceiptAck:
        """Send the intent to the platform and answer with the receipt-ack (never raises)."""
        ...

    async def run(self, facts: FactWriter, ledger: IntentLedgerView, *, lease_epoch: int | None = None) -> None:
        """Connect, keep connected, and write every platform message into `facts` until cancelled.

        Runs once per tenure as the active PA: `lease_epoch` (None without a lease) goes on every fact it writes.
        """
        ...


class IntentLedgerView(Protocol):
    """What the platform side may tell the intent ledger: that facts resolved an unknown outcome."""

    def resolve(self, intent_id: str, *, order_id: int | None = None, detail: str = "") -> bool:
        """Mark an `unknown` intent as resolved by platform facts; True if it was unresolved."""
        ...

    def unresolved(self) -> dict[str, int | None]:
        """Unresolved intent ids, with the order id each concerns (None for a submit)."""
        ...
