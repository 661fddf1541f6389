"""OE intents executed on Tradovate over the trading socket, each answered with a receipt-ack.

Bodies follow the spec 3.1 placement body plus the documented optional fields (SWAG `PlaceOrder`,
`ModifyOrder`, `CancelOrder`, `LiquidatePosition`): `isAutomated` is always true (exchange policy,
example-api-js EX-4a), `clOrdId` is the intent id so every platform entity can be tied back to it.
Outcome rules (ARCHITECTURE 2.5; anchors E.14): `accepted` carries orderId / commandId; `failed` only on
a definitive platform refusal (`failureReason`/`failureText`, a 4xx) or when nothing was sent; a
timeout, a disconnect after sending, a 429, a penalty or a 5xx is `unknown`. Mutations are never re-sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from platform_adapter.config import HeartbeatSettings
from platform_adapter.core.clock import Clock
from platform_adapter.core.ports import Rejection
from platform_adapter.mic import (
    AckReason,
    AckStatus,
    Cancel,
    CancelReplace,
    Flatten,
    Intent,
    Kill,
    ReceiptAck,
    ResetKill,
    Stream,
    SubmitOrder,
)
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.budget import Urgency
from platform_adapter.tradovate.connection import TradovateSocket
from platform_adapter.tradovate.contracts import ReferenceData
from platform_adapter.tradovate.correlation import Correlation, RequestRoute
from platform_adapter.tradovate.errors import (
    ConnectionLost,
    NotConnected,
    NotSent,
    PenaltyTicket,
    PenaltyWait,
    RateLimited,
    RequestTimeout,
    TradovateError,
)
from platform_adapter.tradovate.guards import IntentGuards
from platform_adapter.tradovate.observed import ObservedState
from platform_adapter.tradovate.protocol import DECODE_ERRORS, OrderResult, Response, decode_model, encode_body

_log = get_logger("pa.orders")
_WORKING = {"Working", "PendingNew", "PendingReplace", "Suspended"}


class _OrderStatus(msgspec.Struct):
    id: int | None = None
    accountId: int | None = None  # noqa: N815 - Tradovate's field name
    contractId: int | None = None  # noqa: N815
    ordStatus: str | None = None  # noqa: N815


class _Position(msgspec.Struct):
    accountId: int | None = None  # noqa: N815
    contractId: int | None = None  # noqa: N815
    netPos: int | None = None  # noqa: N815


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: AckStatus
    reason: AckReason | None = None
    detail: str = ""
    order_id: int | None = None
    command_id: int | None = None
    failure_reason: str | None = None
    failure_text: str | None = None


class OrderExecutor:
    """Validates intents against Tradovate reference data and executes them on the trading socket."""

    def __init__(
        self,
        trading: TradovateSocket,
        reference: ReferenceData,
        tokens: TokenManager,
        correlation: Correlation,
        clock: Clock,
        heartbeat: HeartbeatSettings,
        observed: ObservedState,
    ) -> None:
        self._guards = IntentGuards(reference, observed)
        self._trading = trading
        self._reference = reference
        self._tokens = tokens
        self._correlation = correlation
        self._clock = clock
        self._timeout_s = heartbeat.order_request_timeout_s

    # -- validation ---------------------------------------------------------------------------------

    def validate(self, intent: Intent) -> Rejection | None:
        """Account, symbol, tick grid and the instrument's fat-finger limits (None when the intent may be sent)."""
        return self._guards.check(intent)

    # -- execution ------------------------------------------------------------------------------------

    async def execute(self, intent: Intent, received_ts: int) -> ReceiptAck:
        """Send the intent and answer with its receipt-ack; never raises."""
        if isinstance(intent, ResetKill):  # handled by the gate; nothing to send
            return self._ack(intent, received_ts, _Outcome(AckStatus.ACCEPTED))
        self._correlation.intent_sent(intent.intent_id, self._trading.epoch)
        try:
            if isinstance(intent, SubmitOrder):
                outcome = await self._send(intent, "order/placeorder", self._place_body(intent))
            elif isinstance(intent, CancelReplace):
                outcome = await self._send(intent, "order/modifyorder", self._modify_body(intent))
            elif isinstance(intent, Cancel):
                body = {"orderId": intent.order_id, "clOrdId": intent.intent_id, "isAutomated": True}
                outcome = await self._send(intent, "order/cancelorder", body)
            elif isinstance(intent, Flatten):
                outcome, ids = await self._flatten(intent)
                return self._ack(intent, received_ts, outcome, ids)
            else:
                outcome, ids = await self._kill(intent)
                return self._ack(intent, received_ts, outcome, ids)
        except TradovateError as exc:  # a read (list) failed before any mutation was sent
            outcome = _Outcome(AckStatus.FAILED, AckReason.PA_DOWN, f"could not prepare the request: {exc}")
        return self._ack(intent, received_ts, outcome)

    def _place_body(self, intent: SubmitOrder) -> dict[str, Any]:
        account = self._reference.accounts[intent.account_id]
        body: dict[str, Any] = {
            "accountId": intent.account_id,
            "accountSpec": intent.account_spec or account.name or self._tokens.user_name,
            "symbol": intent.symbol,
            "action": intent.action.value,
            "orderQty": intent.qty,
            "orderType": intent.order_type.value,
            "isAutomated": True,
            "clOrdId": intent.intent_id,
            "timeInForce": intent.time_in_force.value,
        }
        if intent.price is not None:
            body["price"] = intent.price
        if intent.stop_price is not None:
            body["stopPrice"] = intent.stop_price
        if intent.text:
            body["text"] = intent.text
        return body

    def _modify_body(self, intent: CancelReplace) -> dict[str, Any]:
        body: dict[str, Any] = {
            "orderId": intent.order_id,
            "orderQty": intent.qty,
            "orderType": intent.order_type.value,
            "clOrdId": intent.intent_id,
            "isAutomated": True,
        }
        if intent.price is not None:
            body["price"] = intent.price
        if intent.stop_price is not None:
            body["stopPrice"] = intent.stop_price
        if intent.time_in_force is not None:
            body["timeInForce"] = intent.time_in_force.value
        return body

    async def _send(self, intent: Intent, endpoint: str, body: dict[str, Any]) -> _Outcome:
        # The answer's orderId / commandId are tied to the intent as soon as it is read (an orderId only for the
        # intents that place orders: a modify or cancel answer names an order another intent placed).
        creates_orders = isinstance(intent, SubmitOrder | Flatten | Kill)
        route = RequestRoute(Stream.RESPONSE, intent_id=intent.intent_id, creates_orders=creates_orders)
        # Kill and flatten take risk off: the PA's own request count never holds them back (ADR 0016).
        urgency = Urgency.ESSENTIAL if isinstance(intent, Flatten | Kill) else Urgency.ORDER
        try:
            response = await self._trading.request(
                endpoint, body=encode_body(body), timeout_s=self._timeout_s, route=route, mutating=True, urgency=urgency
            )
        except NotConnected as exc:
            return _Outcome(AckStatus.FAILED, AckReason.DISCONNECTED, f"not sent: {exc}")
        except NotSent as exc:
            reason = AckReason.PENALTY if isinstance(exc.cause, PenaltyWait) else AckReason.RATE_LIMITED
            return _Outcome(AckStatus.FAILED, reason, str(exc))
        except RequestTimeout:
            return _Outcome(
                AckStatus.UNKNOWN,
                AckReason.TIMEOUT,
                f"{endpoint} sent, no answer within {self._timeout_s:.1f} s: outcome unknown until facts show it",
            )
        except ConnectionLost as exc:
            return _Outcome(AckStatus.UNKNOWN, AckReason.DISCONNECTED, f"{endpoint} sent, then {exc}: outcome unknown")
        except RateLimited as exc:
            return _Outcome(AckStatus.UNKNOWN, AckReason.RATE_LIMITED, str(exc))
        except PenaltyTicket as exc:
            return _Outcome(AckStatus.UNKNOWN, AckReason.PENALTY, f"{exc}; not re-sent")
        except TradovateError as exc:
            return _Outcome(AckStatus.UNKNOWN, AckReason.PLATFORM_ERROR, str(exc))
        return _interpret(endpoint, response)

    async def _list(self, endpoint: str, item: type[Any]) -> list[Any]:
        response = await self._trading.request(endpoint, route=RequestRoute(Stream.RESPONSE))
        if response.status != 200 or response.d is None:
            raise TradovateError(f"{endpoint} answered {response.status}")
        try:
            return msgspec.json.decode(response.d, type=list[item])  # type: ignore[valid-type]
        except DECODE_ERRORS as exc:
            raise TradovateError(f"{endpoint} answered an unreadable list: {exc}") from None

    async def _liquidate(self, intent: Intent, contract_ids: list[int]) -> tuple[_Outcome, tuple[int, ...]]:
        ids: list[int] = []
        worst = _Outcome(AckStatus.ACCEPTED, detail="")
        for contract_id in contract_ids:
            body = {
                "accountId": intent.account_id,
                "contractId": contract_id,
                "admin": False,
                "isAutomated": True,
                "customTag50": intent.intent_id[:50],
            }
            outcome = await self._send(intent, "order/liquidateposition", body)
            if outcome.order_id is not None:
                ids.append(outcome.order_id)
            if outcome.status is not AckStatus.ACCEPTED and worst.status is not AckStatus.UNKNOWN:
                worst = outcome
        return worst, tuple(ids)

    async def _open_contracts(self, account_id: int) -> list[int]:
        positions: list[_Position] = await self._list("position/list", _Position)
        return [p.contractId for p in positions if p.accountId == account_id and p.netPos and p.contractId is not None]

    async def _flatten(self, intent: Flatten) -> tuple[_Outcome, tuple[int, ...]]:
        if intent.symbol is not None:
            contracts = [self._reference.instruments[intent.symbol].contract_id]
        else:
            contracts = await self._open_contracts(intent.account_id)
        if not contracts:
            return _Outcome(AckStatus.ACCEPTED, detail="no open position: nothing to liquidate"), ()
        outcome, ids = await self._liquidate(intent, contracts)
        if outcome.status is AckStatus.ACCEPTED:
            outcome = _Outcome(AckStatus.ACCEPTED, detail=f"liquidation sent for contracts {contracts}")
        return outcome, ids

    async def _kill(self, intent: Kill) -> tuple[_Outcome, tuple[int, ...]]:
        orders: list[_OrderStatus] = await self._list("order/list", _OrderStatus)
        working = [o.id for o in orders if o.accountId == intent.account_id and o.ordStatus in _WORKING and o.id]
        worst = _Outcome(AckStatus.ACCEPTED)
        for order_id in working:
            body = {"orderId": order_id, "clOrdId": intent.intent_id, "isAutomated": True}
            outcome = await self._send(intent, "order/cancelorder", body)
            if outcome.status is not AckStatus.ACCEPTED and worst.status is not AckStatus.UNKNOWN:
                worst = outcome
        contracts = await self._open_contracts(intent.account_id)
        liquidated, ids = await self._liquidate(intent, contracts)
        if liquidated.status is not AckStatus.ACCEPTED and worst.status is not AckStatus.UNKNOWN:
            worst = liquidated
        if worst.status is AckStatus.ACCEPTED:
            worst = _Outcome(
                AckStatus.ACCEPTED,
                detail=(
                    f"kill sent: cancelled {len(working)} working orders, liquidating {len(contracts)} positions; "
                    "submits refused until reset_kill; flat is confirmed only by the order/position facts"
                ),
            )
        _log.warning("kill_sent", intent_id=intent.intent_id, cancelled=working, liquidated=contracts)
        return worst, ids

    def _ack(self, intent: Intent, received_ts: int, outcome: _Outcome, order_ids: tuple[int, ...] = ()) -> ReceiptAck:
        return ReceiptAck(
            intent_id=intent.intent_id,
            status=outcome.status,
            received_ts=received_ts,
            acked_ts=self._clock.now_ns(),
            reason=outcome.reason,
            detail=outcome.detail,
            platform_order_id=outcome.order_id,
            platform_command_id=outcome.command_id,
            platform_order_ids=order_ids,
            failure_reason=outcome.failure_reason,
            failure_text=outcome.failure_text,
        )


def _interpret(endpoint: str, response: Response) -> _Outcome:
    """A definitive platform answer -> accepted / failed; a server error -> unknown."""
    text = bytes(response.d).decode("utf-8", "replace") if response.d is not None else ""
    if response.status >= 500 or response.status == 408:
        return _Outcome(AckStatus.UNKNOWN, AckReason.PLATFORM_ERROR, f"{endpoint} answered {response.status}: {text}")
    if response.status != 200:
        return _Outcome(
            AckStatus.FAILED,
            AckReason.PLATFORM_REJECTED,
            f"{endpoint} answered {response.status}",
            failure_text=text[:500],
        )
    result = decode_model(OrderResult, response.d or b"{}")
    if not isinstance(result, OrderResult):
        return _Outcome(
            AckStatus.UNKNOWN, AckReason.PLATFORM_ERROR, f"{endpoint} answered an unreadable body: {text[:200]}"
        )
    if (result.failure_reason and result.failure_reason != "Success") or result.failure_text:
        return _Outcome(
            AckStatus.FAILED,
            AckReason.PLATFORM_REJECTED,
            f"Tradovate refused {endpoint}: {result.failure_reason} {result.failure_text or ''}".strip(),
            failure_reason=result.failure_reason,
            failure_text=result.failure_text,
        )
    if result.order_id is None and result.command_id is None:
        return _Outcome(AckStatus.UNKNOWN, AckReason.PLATFORM_ERROR, f"{endpoint} answered without an id: {text[:200]}")
    return _Outcome(AckStatus.ACCEPTED, order_id=result.order_id, command_id=result.command_id)
