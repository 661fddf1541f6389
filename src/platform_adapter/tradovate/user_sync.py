"""Account facts on the trading socket: `user/syncrequest` on every connection, then `props` events.

The snapshot and every event are forwarded untouched (the fact builder does that); this module only
(1) asks for the snapshot on each (re)connect, after a gap fact saying the stream was interrupted,
(2) ties platform entities back to OE intents via `clOrdId` = intent id, and
(3) resolves `unknown` receipt-acks from what the facts show (tradovate-rs ADR 0002; anchors F.2.5).
Tradovate has no resume/replay of missed events, so the fresh snapshot is the recovery
(example-api-csharp-trading WebSocketClient.cs rebuilds state from it; FAQ user-sync-request).
"""

from __future__ import annotations

from platform_adapter.core.clock import Clock
from platform_adapter.core.ports import IntentLedgerView
from platform_adapter.mic import Stream
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.connection import TradovateSocket
from platform_adapter.tradovate.correlation import RequestRoute
from platform_adapter.tradovate.errors import PlatformStatusError
from platform_adapter.tradovate.facts import FactBuilder
from platform_adapter.tradovate.protocol import Event, Response, encode_body, sync_snapshot_refs
from platform_adapter.tradovate.protocol.routing import PropsHead
from platform_adapter.tradovate.supervisor import LinkLoss, SocketSupervisor

_log = get_logger("pa.sync")


class UserSync:
    """Requests the account snapshot on each trading connection and resolves unknown outcomes from facts."""

    def __init__(self, tokens: TokenManager, builder: FactBuilder, ledger: IntentLedgerView, clock: Clock) -> None:
        self._tokens = tokens
        self._builder = builder
        self._correlation = builder.correlation
        self._ledger = ledger
        self._clock = clock
        self._loss: LinkLoss | None = None
        self.snapshots = 0
        builder.on_props = self._on_props

    def attach(self, link: SocketSupervisor) -> None:
        """Run on every trading connection; remember every loss."""
        link.socket.ready_hooks.append(self.sync)
        link.lost_hooks.append(self._on_lost)

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
        user_id = self._tokens.user_id
        body = encode_body({"users": [user_id]} if user_id is not None else {})

        def on_snapshot(response: Response) -> None:
            self._reconcile(response, epoch)

        response = await socket.request(
            "user/syncrequest",
            body=body,
            require_ready=False,
            route=RequestRoute(Stream.SYNC_SNAPSHOT, on_response=on_snapshot),
        )
        if response.status != 200:
            raise PlatformStatusError(response.status, "user/syncrequest failed", "user/syncrequest")
        self.snapshots += 1

    def _reconcile(self, response: Response, epoch: int) -> None:
        refs = sync_snapshot_refs(response.d)
        if refs is None:
            return
        found: set[str] = set()
        for intent_id, order_id in self._correlation.commands_in_snapshot(refs):
            found.add(intent_id)
            self._ledger.resolve(intent_id, order_id=order_id, detail="command found in sync snapshot")
        for intent_id in list(self._ledger.unresolved()):
            sent_on = self._correlation.sent_on(intent_id)
            # Sent on an earlier connection and absent from a complete snapshot: the platform never took it.
            if intent_id not in found and sent_on is not None and sent_on < epoch:
                self._ledger.resolve(intent_id, detail="absent from the sync snapshot after reconnect: not placed")

    def _on_props(self, head: PropsHead, event: Event) -> None:
        if head.entity_type != "command":
            return
        for cl_ord_id in head.cl_ord_ids:
            if self._correlation.is_intent(cl_ord_id):
                order_id = head.order_ids[0] if head.order_ids else None
                self._ledger.resolve(cl_ord_id, order_id=order_id, detail="command event seen")
