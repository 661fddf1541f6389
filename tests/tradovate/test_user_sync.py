"""`user/syncrequest`: the body the PA sends, the answer part by part, and "not placed" only from a complete snapshot.

The answers are the shapes the simulator's variants give (docs/simulator.md "Variants": `sync_entity_types`,
`sync_split`): a full one-response snapshot; the user record and empty arrays only (the partner docs' "default is an
empty array" without `entityTypes`); three parts with the same request id, each holding its own arrays, with or
without the others as `null`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import msgspec
import pytest

from platform_adapter.core.clock import ManualClock
from platform_adapter.core.ports import IntentLedgerView
from platform_adapter.mic import FactMode, Stream
from platform_adapter.tradovate.auth import TokenManager
from platform_adapter.tradovate.connection import TradovateSocket
from platform_adapter.tradovate.correlation import RequestRoute
from platform_adapter.tradovate.facts import FactBuilder, SocketContext
from platform_adapter.tradovate.protocol import Response
from platform_adapter.tradovate.user_sync import ENTITY_TYPES, UserSync, sync_body

from ..core.fakes import ListWriter

ACCOUNT, USER = 701234, 5001
CTX = SocketContext("trading", "trading-2", 2)


class Ledger:
    """The ledger's view for the platform side: open intents, and what resolved them."""

    def __init__(self, *open_intents: str) -> None:
        self.open = dict.fromkeys(open_intents)
        self.resolutions: dict[str, str] = {}

    def resolve(self, intent_id: str, *, order_id: int | None = None, detail: str = "") -> bool:
        if intent_id not in self.open:
            return False
        del self.open[intent_id]
        self.resolutions[intent_id] = detail
        return True

    def unresolved(self) -> dict[str, int | None]:
        return dict(self.open)


class Tokens:
    user_id = USER


class Socket:
    """The trading socket as `UserSync.sync` uses it: the request registers its route, as the real one does."""

    def __init__(self, builder: FactBuilder) -> None:
        self.role = type("R", (), {"value": "trading"})()
        self.context = CTX
        self.builder = builder
        self.bodies: list[dict[str, Any]] = []
        self.answer: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

    async def request(self, endpoint: str, *, body: bytes, require_ready: bool, route: RequestRoute) -> Response:
        assert endpoint == "user/syncrequest"
        self.bodies.append(json.loads(body))
        self.builder.correlation.expect(CTX.connection_id, 9, route)
        return await self.answer


def _response(d: object, status: int = 200) -> Response:
    text = json.dumps(d).encode()
    return Response(9, status, msgspec.Raw(text), b'{"s":%d,"i":9,"d":%s}' % (status, text))


async def _sync(ledger: Ledger, parts: list[tuple[object, int]], **options: Any) -> tuple[UserSync, Socket]:
    """Run one sync on epoch 2 whose answer comes in `parts` (as frames, in order) and return it."""
    builder = FactBuilder(FactMode.LIVE, ListWriter(), run_id="sync")
    for intent_id in ledger.open:
        builder.correlation.intent_sent(intent_id, 1)  # sent on the connection before
    sync = UserSync(cast(TokenManager, Tokens()), builder, cast(IntentLedgerView, ledger), ManualClock(), **options)
    socket = Socket(builder)
    task = asyncio.create_task(sync.sync(cast(TradovateSocket, socket), 2))
    await asyncio.sleep(0)
    for index, (d, status) in enumerate(parts):
        response = _response(d, status)
        builder.messages(CTX, 1, [response])  # the reader: every part is a fact, correlated inline
        if index == 0:
            socket.answer.set_result(response)
    if status == 200 or len(parts) > 1:
        await task
    else:
        with pytest.raises(Exception, match="user/syncrequest failed"):
            await task
    return sync, socket


FULL = {
    "users": [{"id": USER}],
    "accounts": [{"id": ACCOUNT, "name": "DEMO701234"}],
    "positions": [],
    "orders": [{"id": 41000001, "accountId": ACCOUNT}],
    "commands": [{"id": 52000001, "orderId": 41000001, "clOrdId": "someone-else"}],
    "fills": [],
}
# Without entityTypes, under the partner docs' rule: the user and empty arrays.
EMPTY = {"users": [{"id": USER}], "accounts": [], "positions": [], "orders": [], "commands": [], "fills": []}
PART_1: dict[str, object] = {"users": [{"id": USER}], "accounts": [{"id": ACCOUNT}], "cashBalances": []}
PART_2: dict[str, object] = {"positions": [], "contracts": []}
PART_3: dict[str, object] = {
    "orders": [],
    "commands": [{"id": 52000009, "orderId": 41000009, "clOrdId": "other"}],
    "fills": [],
}


def _nulls(part: dict[str, object]) -> dict[str, object]:
    keys = set(PART_1) | set(PART_2) | set(PART_3)
    return {key: part.get(key) for key in sorted(keys)}


def test_the_body_names_the_accounts_and_the_entity_types_and_asks_for_a_split_only_when_configured() -> None:
    assert sync_body([ACCOUNT], USER, split_responses=False) == {"accounts": [ACCOUNT], "entityTypes": [*ENTITY_TYPES]}
    assert sync_body([ACCOUNT], USER, split_responses=True)["splitResponses"] is True
    assert sync_body([], USER, split_responses=False)["users"] == [USER]
    assert {"command", "order", "account", "position", "fill"} <= set(ENTITY_TYPES)


async def test_an_empty_snapshot_after_a_reconnect_resolves_no_intent_as_not_placed() -> None:
    # Before issue 18 any snapshot did: the intent's latch was released with nothing to show it was not placed.
    ledger = Ledger("intent-1")
    sync, _ = await _sync(ledger, [(EMPTY, 200)])

    assert ledger.open == {"intent-1": None}
    assert sync.snapshot is not None and not sync.snapshot.complete
    assert not sync.complete_for(ACCOUNT)


async def test_a_complete_snapshot_without_the_intent_resolves_it_as_not_placed() -> None:
    ledger = Ledger("intent-1")
    sync, socket = await _sync(ledger, [(FULL, 200)], accounts=[ACCOUNT])

    assert socket.bodies == [sync_body([ACCOUNT], USER, split_responses=False)]
    assert sync.complete_for(ACCOUNT)
    assert "not placed" in ledger.resolutions["intent-1"]


async def test_a_snapshot_that_does_not_list_the_account_is_not_complete_for_it() -> None:
    ledger = Ledger("intent-1")
    sync, _ = await _sync(ledger, [({**FULL, "accounts": [{"id": 99}]}, 200)], accounts=[ACCOUNT])

    assert not sync.complete_for(ACCOUNT)
    assert ledger.open == {"intent-1": None}


async def test_a_command_in_the_snapshot_resolves_its_intent_as_placed_complete_or_not() -> None:
    ledger = Ledger("intent-1")
    showing = {**EMPTY, "commands": [{"id": 52000001, "orderId": 41000001, "clOrdId": "intent-1"}]}
    await _sync(ledger, [(showing, 200)], accounts=[ACCOUNT])

    assert ledger.resolutions == {"intent-1": "command found in sync snapshot"}


async def test_a_snapshot_with_an_unreadable_command_is_not_complete() -> None:
    ledger = Ledger("intent-1")
    await _sync(ledger, [({**FULL, "commands": [{"id": "x", "clOrdId": "intent-1"}]}, 200)], accounts=[ACCOUNT])

    assert ledger.open == {"intent-1": None}


@pytest.mark.parametrize("layout", ["multi_same_id", "multi_null_lists"])
async def test_a_split_snapshot_is_complete_once_every_part_holding_a_needed_list_has_come(layout: str) -> None:
    parts = [PART_1, PART_2, PART_3] if layout == "multi_same_id" else [_nulls(p) for p in (PART_1, PART_2, PART_3)]
    for seen in (1, 2):  # the parts without orders and commands: nothing concluded yet
        ledger = Ledger("intent-1")
        sync, _ = await _sync(ledger, [(p, 200) for p in parts[:seen]], accounts=[ACCOUNT], split_responses=True)
        assert not sync.complete_for(ACCOUNT) and ledger.open == {"intent-1": None}, seen
    ledger = Ledger("intent-1")
    sync, socket = await _sync(ledger, [(p, 200) for p in parts], accounts=[ACCOUNT], split_responses=True)

    assert socket.bodies[0]["splitResponses"] is True
    assert sync.complete_for(ACCOUNT) and sync.snapshot is not None and sync.snapshot.parts == 3
    assert "not placed" in ledger.resolutions["intent-1"]


async def test_every_part_of_a_split_snapshot_is_a_sync_snapshot_fact() -> None:
    ledger = Ledger()
    sync, socket = await _sync(ledger, [(PART_1, 200), (PART_2, 200), (PART_3, 200)], split_responses=True)
    facts = cast(ListWriter, socket.builder.writer).facts

    assert [f.stream for f in facts] == [Stream.SYNC_SNAPSHOT] * 3
    assert sync.complete_for(ACCOUNT)  # no account named: the user's accounts the answer lists


async def test_a_refused_sync_concludes_nothing() -> None:
    ledger = Ledger("intent-1")
    sync, _ = await _sync(ledger, [("Access is denied", 403)], accounts=[ACCOUNT])

    assert not sync.complete_for(ACCOUNT)
    assert ledger.open == {"intent-1": None}
