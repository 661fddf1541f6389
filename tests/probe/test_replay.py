"""`pa sim --replay`: a recorded session served back - the same server messages, in order, with each
response's request id rewritten to the live request's id."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from platform_adapter.config import Settings
from platform_adapter.probe import CaptureRecord, Verdict, read_capture, resolve_target, run_probe
from tradovate_sim.replay import ReplayServer, serve_replay
from tradovate_sim.replay_script import load_session

from .conftest import DirectRun
from .harness import FAST, credentials, logging_restored

ID_SHIFT = 100  # the raw client numbers its requests differently from the recording


async def test_a_probe_capture_replays_the_same_server_messages_in_order(direct_run: DirectRun) -> None:
    path = direct_run.out_dir / "capture.jsonl"
    records = list(read_capture(path))
    conns = [(r.socket, r.conn) for r in records if r.kind == "open"]
    compared = 0
    async with ReplayServer(load_session(path), speed=0) as server, aiohttp.ClientSession() as http:
        for socket, conn in conns:
            url = server.md_ws_url if socket == "md" else server.trading_ws_url
            ws = await http.ws_connect(url)
            async with asyncio.timeout(10):
                compared += await _act_out(ws, [r for r in records if r.conn == conn])
            await ws.close()

    assert len(conns) >= 5  # trading-1, md-1, the two P2 sockets, md-2 after the forced reconnect
    assert compared == sum(1 for r in records if r.kind == "frame" and r.dir == "recv")


async def _act_out(ws: aiohttp.ClientWebSocketResponse, records: list[CaptureRecord]) -> int:
    """Send what the probe sent (ids shifted), read what it read, and compare; returns frames compared."""
    compared = 0
    for record in records:
        if record.kind == "frame" and record.dir == "send" and record.text != "[]":
            endpoint, request_id, rest = record.text.split("\n", 2)
            await ws.send_str(f"{endpoint}\n{int(request_id) + ID_SHIFT}\n{rest}")
        elif record.kind == "frame" and record.dir == "recv":
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.TEXT, (record.conn, record.text[:80], message)
            _assert_same_frame(message.data, record.text)
            compared += 1
        elif record.kind == "close" and record.dir == "recv":
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.CLOSE and message.data == record.code
        elif record.kind == "close":
            break
    return compared


def _assert_same_frame(got: str, recorded: str) -> None:
    if not recorded.startswith("a["):
        assert got == recorded
        return
    messages = json.loads(recorded[1:])
    responses = [m for m in messages if "e" not in m and "i" in m]
    for m in responses:
        m["i"] += ID_SHIFT
    if responses:
        assert json.loads(got[1:]) == messages
    else:
        assert got == recorded  # events: byte for byte


def _capture(path: Path, lines: list[dict[str, Any]]) -> Path:
    header = {"kind": "header", "mono_ns": 0, "wall_ns": 0, "text": json.dumps({"restUrl": "http://x/v1"})}
    path.write_text("\n".join(json.dumps(line) for line in [header, *lines]) + "\n")
    return path


def _frame(direction: str, at_s: float, text: str, conn: str = "md-1") -> dict[str, Any]:
    return {
        "kind": "frame",
        "dir": direction,
        "socket": "md",
        "conn": conn,
        "mono_ns": int(at_s * 1e9),
        "wall_ns": 0,
        "text": text,
    }


def _open(conn: str = "md-1") -> dict[str, Any]:
    return {"kind": "open", "dir": "send", "socket": "md", "conn": conn, "mono_ns": 0, "wall_ns": 0}


async def test_requests_without_a_recorded_answer_get_404_and_any_token_authorizes(tmp_path: Path) -> None:
    path = _capture(tmp_path / "c.jsonl", [_open(), _frame("recv", 0.0, "o")])
    async with ReplayServer.from_file(path, speed=0) as server, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.md_ws_url)
        assert (await ws.receive()).data == "o"
        await ws.send_str("authorize\n1\n\nanything")
        authorized = json.loads((await ws.receive()).data[1:])
        await ws.send_str('md/getChart\n2\n\n{"symbol":"ESZ6"}')
        missing = json.loads((await ws.receive()).data[1:])
        await ws.close()

    assert authorized == [{"s": 200, "i": 1}]
    assert missing == [{"s": 404, "i": 2, "d": "Not in capture: md/getChart"}]


async def test_recorded_spacing_is_kept_divided_by_the_speed(tmp_path: Path) -> None:
    lines = [
        _open(),
        _frame("recv", 0.0, "o"),
        _frame("send", 0.1, "authorize\n1\n\n[REDACTED]"),
        _frame("recv", 0.1, 'a[{"s":200,"i":1}]'),
        _frame("recv", 0.7, 'a[{"e":"md","d":{"quotes":[]}}]'),
    ]
    path = _capture(tmp_path / "c.jsonl", lines)
    async with ReplayServer.from_file(path, speed=2.0) as server, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.md_ws_url)
        await ws.receive()
        asked = time.monotonic()  # the ack cannot leave before this, and the event leaves 0.3 s after the ack
        await ws.send_str("authorize\n9\n\n[REDACTED]")
        assert (await ws.receive()).data == 'a[{"s":200,"i":9}]'
        event = (await ws.receive()).data
        gap = time.monotonic() - asked
        await ws.close()

    assert event == 'a[{"e":"md","d":{"quotes":[]}}]'
    assert gap >= 0.29  # 0.6 s recorded at speed 2


async def test_rest_answers_come_from_the_capture_with_a_fresh_token_expiry(direct_run: DirectRun) -> None:
    path = direct_run.out_dir / "capture.jsonl"
    async with ReplayServer.from_file(path, speed=0) as server, aiohttp.ClientSession() as http:
        async with http.post(server.rest_url + "/auth/accesstokenrequest", data="{}") as response:
            login = await response.json()
        async with http.get(server.rest_url + "/contract/find", params={"name": "ESZ6"}) as response:
            contract = await response.json()
        async with http.get(server.rest_url + "/order/list") as response:
            missing = (response.status, await response.text())

    assert login["accessToken"] == "[REDACTED]"  # the capture never held the real token
    expires = login["expirationTime"]
    assert expires > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 80 * 60))
    assert contract["name"] == "ESZ6"
    assert missing == (404, "Not in capture: order/list")


async def test_serve_replay_prints_where_to_connect_and_reports_progress(direct_run: DirectRun) -> None:
    lines: list[str] = []
    ready: asyncio.Future[ReplayServer] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    path = direct_run.out_dir / "capture.jsonl"
    serving = asyncio.create_task(serve_replay(path, 0, 0, 0, stop=stop, ready=ready.set_result, echo=lines.append))
    server = await asyncio.wait_for(ready, 5)
    async with aiohttp.ClientSession() as http, http.get(server.base_url + "/sim/status") as response:
        status = await response.json()
    stop.set()
    await asyncio.wait_for(serving, 5)

    assert lines[0] == f"REST            {server.rest_url}"
    assert "replay" in lines[-1] and "as fast as possible" in lines[-1]
    assert status["replay"] == str(path)
    assert {c["kind"] for c in status["recorded"]} == {"md", "trading"}


async def test_the_probe_run_against_a_replay_of_its_own_capture_receives_every_recorded_frame(
    direct_run: DirectRun, tmp_path: Path
) -> None:
    recorded = list(read_capture(direct_run.out_dir / "capture.jsonl"))
    async with ReplayServer.from_file(direct_run.out_dir / "capture.jsonl", speed=0) as server:
        target = resolve_target(
            rest_url=server.rest_url, trading_ws_url=server.trading_ws_url, md_ws_url=server.md_ws_url
        )
        with logging_restored():
            report = await run_probe(
                Settings(), credentials(), target, dataclasses.replace(FAST, allow_orders=True), tmp_path
            )
    replayed = list(read_capture(tmp_path / "capture.jsonl"))

    assert not [f for f in report.findings if f.verdict is Verdict.FAILED], [f.observation for f in report.findings]
    for conn in dict.fromkeys(r.conn for r in recorded if r.kind == "open"):
        before = [r.text for r in recorded if r.kind == "frame" and r.dir == "recv" and r.conn == conn]
        after = [r.text for r in replayed if r.kind == "frame" and r.dir == "recv" and r.conn == conn]
        assert after[: len(before)] == before, conn
        assert set(after[len(before) :]) <= {"h"}, conn  # the replay keeps an idle socket alive afterwards
