"""Account facts on the trading socket: `user/syncrequest` on every connection, then `props` events.

The snapshot and every event are forwarded untouched (the fact builder does that); this module only
(1) asks for the snapshot on each (re)connect, after a gap fact saying the stream was interrupted,
(2) follows the answer part by part and tells when it is **known complete** for an account (below),
(3) ties platform entities back to OE intents via `clOrdId` = intent id, and
(4) resolves `unknown` receipt-acks from what the facts show (tradovate-rs ADR 0002; anchors F.2.5).
Tradovate has no resume/replay of missed events, so the fresh snapshot is the recovery
(example-api-csharp-trading WebSocketClient.cs rebuilds state from it; FAQ user-sync-request).

The request (`sync_body`, ADR 0015) names the accounts and the entity types: the partner docs say "You must
specify `entityTypes` now; the default is an empty array" (partner.tradovate.com overview/core-concepts/
web-sockets/user-syncrequest), and every official retail example gets everything without it; naming them is right
either way. `splitResponses` is sent only when configured (`sync_split_responses`, for B2B keys): how Tradovate
splits is not public, and a one-response answer is the only one whose completeness the PA can tell for sure.

Known complete, for an account: the answer was 200, its `accounts` list holds the account, and every array the
"not placed" conclusion rests on (`accounts`, `orders`, `commands`) was answered — present as a list (or, in a
one-response answer, as `null`: nothing of that type); in a split answer a `null` or absent list means "not in
this part", so each must have come as a list in some part. Only then may an intent sent on an earlier connection
(or by an earlier run) that the snapshot does not show be resolved as "not placed"; an empty, refused or partial
snapshot resolves nothing of the kind (a command it shows still resolves its intent as placed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from platform_adapter.core.clock import Clock
from platform_adapter.core.ports import IntentLedgerView
from platform_adapter.mic import Stream
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.connection import TradovateSocket
from platform_adapter.tradovate.correlation import RequestRoute
from platform_adapter.tradovate.errors import PlatformStatusError
from platform_adapter.tradovate.facts import FactBuilder
from platform_adapter.tradovate.protocol import Event, Response, SyncSnapshotRefs, encode_body, sync_snapshot_refs
from platform_adapter.tradovate.protocol.routing import PropsHead
from platform_adapter.tradovate.supervisor import LinkLoss, SocketSupervisor

_log = get_logger("pa.sync")

ENTITY_TYPES: Final = (
    "account",
    "accountRiskStatus",
    "cashBalance",
    "command",
    "commandReport",
    "contract",
    "executionReport",
    "fill",
    "fillPair",
    "marginSnapshot",
    "order",
    "orderStrategy",
    "orderStrategyLink",
    "orderVersion",
    "position",
    "user",
    "userAccountAutoLiq",
)
"""The entity types the PA asks `user/syncrequest` for (discovery report §13.2): everything U and Paper rebuild
account state from, in the snapshot and in later `props` events."""

COMPLETENESS_ARRAYS: Final = frozenset({"accounts", "orders", "commands"})
"""The snapshot arrays the "not placed" conclusion rests on: each must be answered for a snapshot to be complete."""


def sync_body(account_ids: Iterable[int], user_id: int | None, *, split_responses: bool) -> dict[str, object]:
    """The PA's `user/syncrequest` body (the probe's P6 asks exactly this one too)."""
    accounts = sorted(account_ids)
    # No account known: the user's (the partner docs advise against `users` with entityTypes, but it is all there is).
    body: dict[str, object] = {"accounts": accounts} if accounts or user_id is None else {"users": [user_id]}
    body["entityTypes"] = list(ENTITY_TYPES)
    if split_responses:
        body["splitResponses"] = True
    return body


@dataclass
class SyncSnapshot:
    """The answer to one `user/syncrequest`, part by part: what it showed and for which accounts it is complete."""

    epoch: int  # the trading connection it was asked on
    connection_id: str
    accounts_asked: frozenset[int]
    split: bool  # asked with `splitResponses`: several responses with the request's id may come
    parts: int = 0
    refused: bool = False  # a part answered with another status than 200
    accounts: set[int] = field(default_factory=set)  # ids in the `accounts` lists seen
    answered: set[str] = field(default_factory=set)  # completeness arrays answered so far
    intents_seen: set[str] = field(default_factory=set)  # intents whose command a part showed
    skipped: int = 0  # items no part could read

    def complete_for(self, account_id: int) -> bool:
        """Known complete for this account: the PA may conclude from it what the account does not have."""
        return (
            self.parts > 0
            and not self.refused
            and not self.skipped
            and account_id in self.accounts
            and self.answered >= COMPLETENESS_ARRAYS
        )

    @property
    def complete(self) -> bool:
        """Known complete for every account asked for (for the user's accounts when none were named)."""
        accounts = self.accounts_asked or frozenset(self.accounts)
        return bool(accounts) and all(self.complete_for(account) for account in accounts)

    def add(self, refs: SyncSnapshotRefs) -> None:
        """One more part of the answer."""
        self.parts += 1
        self.accounts.update(refs.accounts)
        self.skipped += refs.skipped
        answered = refs.lists if self.split else refs.lists | refs.nulls
        self.answered.update(answered & COMPLETENESS_ARRAYS)


class UserSync:
    """Requests the account snapshot on each trading connection and resolves unknown outcomes from facts."""

    def __init__(
        self,
        tokens: TokenManager,
        builder: FactBuilder,
        ledger: IntentLedgerView,
        clock: Clock,
        *,
        accounts: Iterable[int] = (),
        split_responses: bool = False,
    ) -> None:
        self._tokens = tokens
        self._builder = builder
        self._correlation = builder.correlation
        self._ledger = ledger
        self._clock = clock
        self._accounts = frozenset(accounts)
        self._split = split_responses
        self._loss: LinkLoss | None = None
        self.snapshots = 0
        self.snapshot: SyncSnapshot | None = None
        """The answer to the latest request (on the current trading connection once it is up): `complete_for`."""
        builder.on_props = self._on_props

    def attach(self, link: SocketSupervisor) -> None:
        """Run on every trading connection; remember every loss."""
        link.socket.ready_hooks.append(self.sync)
        link.lost_hooks.append(self._on_lost)

    def complete_for(self, account_id: int) -> bool:
        """Whether the latest snapshot is known complete for `account_id` (False before the first one)."""
        return self.snapshot is not None and self.snapshot.complete_for(account_id)

    def _on_lost(self, socket: TradovateSocket, loss: LinkLoss) -> None:
        if self._loss is None:
            self._loss = loss

    async def sync(self, socket: TradovateSocket, epoch: int) -> None:
        """Report the gap (after a loss), then request the snapshot; its facts arrive before any later event."""
        loss, self._loss = self._loss, None
        if loss is not None:
            now = self._clock.now_ns()
            gap = loss.gap(
                socket.role.value,
                Stream.PROPS.value,
                to_epoch=epoch,
                until_ts=now,
                backfill="requested",
                detail="account events may have been missed; a fresh user/syncrequest snapshot follows",
            )
            self._builder.gap(socket.context, now, gap)
        snapshot = SyncSnapshot(epoch, socket.context.connection_id, self._accounts, self._split)
        self.snapshot = snapshot
        body = encode_body(sync_body(self._accounts, self._tokens.user_id, split_responses=self._split))

        def on_part(response: Response) -> None:  # inline, before the next message of the frame
            self._on_part(snapshot, response)

        response = await socket.request(
            "user/syncrequest",
            body=body,
            require_ready=False,
            # Every response with this request's id is a part of the snapshot (splitResponses).
            route=RequestRoute(Stream.SYNC_SNAPSHOT, on_response=on_part, repeats=snapshot.split),
        )
        if response.status != 200:
            raise PlatformStatusError(response.status, "user/syncrequest failed", "user/syncrequest")
        self.snapshots += 1

    def _on_part(self, snapshot: SyncSnapshot, response: Response) -> None:
        if response.status != 200:
            snapshot.refused = True
            return
        refs = sync_snapshot_refs(response.d, part=True)
        if refs is None:  # not a SyncMessage: nothing can be concluded from this answer
            snapshot.refused = True
            return
        was_complete = snapshot.complete
        snapshot.add(refs)
        for intent_id, order_id in self._correlation.commands_in_snapshot(refs):
            snapshot.intents_seen.add(intent_id)
            self._ledger.resolve(intent_id, order_id=order_id, detail="command found in sync snapshot")
        if snapshot.complete and not was_complete:
            self._not_placed(snapshot)
        elif not snapshot.complete:
            _log.info(
                "sync_snapshot_incomplete",
                epoch=snapshot.epoch,
                parts=snapshot.parts,
                accounts=sorted(snapshot.accounts),
                answered=sorted(snapshot.answered),
                skipped=snapshot.skipped,
            )

    def _not_placed(self, snapshot: SyncSnapshot) -> None:
        """The snapshot is complete: an intent sent on an earlier connection that it does not show was not placed."""
        for intent_id in list(self._ledger.unresolved()):
            sent_on = self._correlation.sent_on(intent_id)
            if intent_id in snapshot.intents_seen or sent_on is None or sent_on >= snapshot.epoch:
                continue
            self._ledger.resolve(intent_id, detail="absent from a complete sync snapshot after reconnect: not placed")

    def _on_props(self, head: PropsHead, event: Event) -> None:
        if head.entity_type != "command":
            return
        for cl_ord_id in head.cl_ord_ids:
            if self._correlation.is_intent(cl_ord_id):
                order_id = head.order_ids[0] if head.order_ids else None
                self._ledger.resolve(cl_ord_id, order_id=order_id, detail="command event seen")
