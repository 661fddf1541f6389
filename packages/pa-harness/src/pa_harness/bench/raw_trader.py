"""The command-path baseline: a raw Tradovate trading socket in its own process, timing order round trips.

It gets a token over REST, authorizes, and sends `user/syncrequest` like the PA does (so the simulator
fans each order's `props` events out to both sockets, whichever placed it). Then, for each stdin line
`<count> <first index>`, it places `count` market orders (Buy/Sell alternating by index) as hand-written
request text, times each from send to its response, and prints the round trips (µs) as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Final

import aiohttp

from .decode import _HEAD, _ITEMS
from .loop import loop_factory

SYMBOL: Final = "ESZ6"


class RawTrader:
    """One raw trading socket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, account_id: int, account_spec: str) -> None:
        self._ws = ws
        self._account_id = account_id
        self._account_spec = account_spec
        self._next_id = 1

    async def _send(self, endpoint: str, body: str) -> int:
        self._next_id += 1
        await self._ws.send_str(f"{endpoint}\n{self._next_id}\n\n{body}")
        return self._next_id

    async def start(self, token: str, user_id: int | None) -> None:
        """Authorize and sync, as the PA does on its trading socket."""
        opened = await self._ws.receive(timeout=5)
        if opened.data != "o":
            raise RuntimeError(f"expected 'o', got {opened.data!r}")
        await self._ws.send_str(f"authorize\n1\n\n{token}")
        await self._response(1)
        sync_body = json.dumps({"users": [user_id]} if user_id is not None else {})
        await self._response(await self._send("user/syncrequest", sync_body))

    async def place(self, intent_id: str, action: str) -> float:
        """One market order; the round trip in µs."""
        body = {
            "accountId": self._account_id,
            "accountSpec": self._account_spec,
            "symbol": SYMBOL,
            "action": action,
            "orderQty": 1,
            "orderType": "Market",
            "isAutomated": True,
            "clOrdId": intent_id,
            "timeInForce": "Day",
        }
        text = json.dumps(body, separators=(",", ":"))
        began = time.perf_counter_ns()
        request_id = await self._send("order/placeorder", text)
        await self._response(request_id)
        return (time.perf_counter_ns() - began) / 1000

    async def drain(self, quiet_s: float) -> None:
        """Read (and drop) frames until the socket has been quiet for `quiet_s`."""
        with contextlib.suppress(TimeoutError):
            while True:
                await self._ws.receive(timeout=quiet_s)

    async def _response(self, request_id: int) -> None:
        while True:
            message = await self._ws.receive(timeout=5)
            if message.type is not aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"raw trading socket closed: {message.type!r}")
            data = message.data
            if data[:1] != "a":
                continue
            for item in _ITEMS.decode(data[1:]):
                if _HEAD.decode(item).i == request_id:
                    return


async def _main(rest_url: str, ws_url: str, account_id: int, account_spec: str, user: str, password: str) -> None:
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        login = {"name": user, "password": password, "appId": "bench-raw", "appVersion": "1"}
        async with http.post(f"{rest_url}/auth/accesstokenrequest", json=login) as response:
            answer = await response.json()
        async with http.ws_connect(ws_url, max_msg_size=0) as ws:
            trader = RawTrader(ws, account_id, account_spec)
            await trader.start(answer["accessToken"], answer.get("userId"))
            print("READY", flush=True)
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line.strip():
                    return
                count, first = (int(part) for part in line.split())
                await trader.drain(0.002)  # the PA's orders' props events, fanned out here too
                round_trips: list[float] = []
                for index in range(first, first + count):
                    action = "Buy" if index % 2 == 0 else "Sell"
                    round_trips.append(await trader.place(f"bench-raw-{index}", action))
                    await trader.drain(0.003)
                print(json.dumps(round_trips), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Serve order blocks from stdin until it closes."""
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("rest-url", "ws-url", "account-spec", "user", "password"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--account-id", type=int, required=True)
    args = parser.parse_args(argv)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(_main(args.rest_url, args.ws_url, args.account_id, args.account_spec, args.user, args.password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
