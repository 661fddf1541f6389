"""The raw NATS baselines' far ends, each in its own process (as the PA is): `python -m pa_harness.bench.nats_peer`.

Roles (the NATS user comes from `PA_NATS_USER` / `PA_NATS_PASSWORD`, a mirror user of `nats_rig`):

* `echo`: answers every request on `pa.intents` (in account `RAW_PA`, queue group `pa`, as the PA subscribes) with
  a ready-made ReceiptAck of the PA's size: a request/reply through the same service import as OE's intent, and
  nothing else.
* `forward --ws URL`: the least forwarder onto the facts stream: reads the wire server's frames off a WebSocket,
  stamps `recv_ts` at the read as the PA does, and for each message `publish`es (core NATS, no ack awaited) the
  next of the PA's own envelopes for the corpus (relabelled with that `recv_ts`, its `delivery_seq` and the dedupe
  id the PA would give it) onto `RAW_PA`'s `PA_FACTS`, which U reads as `raw_u` through the same exported durable.

Each prints `READY` once serving and runs until terminated (stopped by pid).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from typing import Any

import aiohttp
import msgspec

from platform_adapter.mic import AckStatus, ReceiptAck
from platform_adapter.mic.codec import encode
from platform_adapter.transport.nats.connection import NatsAuth, connect, disconnect
from platform_adapter.transport.nats.subjects import (
    INTENT_QUEUE_GROUP,
    INTENT_SUBJECT,
    MSG_ID_HEADER,
    fact_subject,
)

from .corpus import build_corpus
from .decode import _ITEMS
from .jetstream import corpus_envelopes
from .loop import loop_factory

TEMPLATES = 20_000  # the PA's envelopes for the corpus, cycled by the forwarder


def _ack_bytes() -> bytes:
    now = time.time_ns()
    ack = ReceiptAck(
        intent_id="bench-raw-0000000",
        status=AckStatus.ACCEPTED,
        received_ts=now,
        acked_ts=now,
        detail="order/placeorder accepted",
        platform_order_id=41000001,
        lease_epoch=1,
    )
    return encode(ack)


async def _echo(nc: Any) -> None:
    reply = _ack_bytes()

    async def answer(msg: Any) -> None:
        await msg.respond(reply)

    await nc.subscribe(INTENT_SUBJECT, queue=INTENT_QUEUE_GROUP, cb=answer)
    await nc.flush()
    print("READY", flush=True)
    await asyncio.Event().wait()


async def _forward(nc: Any, ws_url: str) -> None:
    corpus = build_corpus()
    templates = corpus_envelopes(corpus, TEMPLATES)
    run_id = uuid.uuid4().hex[:16]
    subjects = [fact_subject(envelope) for envelope in templates]
    replace, publish, items = msgspec.structs.replace, nc.publish, _ITEMS.decode
    seq = 0
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
        opened = await ws.receive(timeout=10)
        if opened.data != "o":
            raise RuntimeError(f"forwarder expected 'o', got {opened.data!r}")
        await ws.send_str("authorize\n1\n\nbench-token")
        await ws.receive(timeout=10)
        print("READY", flush=True)
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            data = message.data
            recv_ts = time.time_ns()
            if data[:1] != "a":
                continue
            for _item in items(data[1:]):
                index = seq % TEMPLATES
                seq += 1
                envelope = replace(templates[index], recv_ts=recv_ts, delivery_seq=seq, run_id=run_id)
                await publish(subjects[index], encode(envelope), headers={MSG_ID_HEADER: f"{run_id}-{seq}"})


async def _main(role: str, nats_url: str, ws_url: str | None) -> None:
    nc = await connect(nats_url, NatsAuth.from_env(), name=f"bench-{role}")
    try:
        if role == "echo":
            await _echo(nc)
        else:
            if ws_url is None:
                raise SystemExit("forward needs --ws")
            await _forward(nc, ws_url)
    finally:
        await disconnect(nc)


def main(argv: list[str] | None = None) -> int:
    """Run one role until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=["echo", "forward"])
    parser.add_argument("--nats-url", required=True)
    parser.add_argument("--ws", help="the wire server's raw socket URL (forward)")
    args = parser.parse_args(argv)
    with asyncio.Runner(loop_factory=loop_factory()) as runner, contextlib.suppress(KeyboardInterrupt):
        runner.run(_main(args.role, args.nats_url, args.ws))
    return 0


if __name__ == "__main__":
    sys.exit(main())
