"""Acceptance E: under a blocked U the PA sheds telemetry first, escalates to OE before any fact could be lost,
stops reading the platform at capacity, and after release every fact arrives, in order, nothing missing.

The channel to U fills on either transport. In process, U's queue is full and `deliver` waits. Over NATS, the
facts stream (interest retention: a fact leaves it once U acked it, so "full" means "U is behind") reaches
`max_msgs`, JetStream refuses the next publish (`discard=new`), the sink raises, and the outbox keeps the batch,
escalates at once and retries on its clock.
"""

from __future__ import annotations

from nats.js.api import RetentionPolicy

from platform_adapter.config import OutboxSettings
from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.transport.nats import FactStreamConfig

from .harness import Transport, running

CAPACITY = 400
# Small channels to U, so a stalled U backs up into the PA's outbox quickly.
SMALL_QUEUE = 50
SMALL_STREAM = FactStreamConfig(max_msgs=100, retention=RetentionPolicy.INTEREST)
MAX_STEPS = 200  # of 20 market events each: far more than it takes


async def test_acceptance_E_a_blocked_consumer_escalates_before_loss_and_loses_nothing(transport: Transport) -> None:
    outbox_settings = OutboxSettings(capacity=CAPACITY, high_watermark=0.5, low_watermark=0.2, telemetry_capacity=50)
    async with running(transport, outbox=outbox_settings, fact_queue_size=SMALL_QUEUE, fact_stream=SMALL_STREAM) as h:
        await h.up()
        await h.drained()
        outbox = h.stack.adapter.outbox
        assert outbox.put_telemetry({"event": "probe", "i": -1})  # telemetry flows while all is well
        h.system.u.stall()
        # Move the market until the channel to U is full and the outbox has crossed its high watermark.
        for _ in range(MAX_STEPS):
            if outbox.in_backpressure and await h.channel_to_u_full():
                break
            await h.sim.step_market(20)
        else:
            raise AssertionError(f"a stalled U never backed the PA up: outbox depth {outbox.depth}")
        assert outbox.counters.escalation_depth == CAPACITY // 2  # escalated at the high watermark, before capacity
        await h.until(lambda: h.oe.halted, what="OE to receive the halt")
        signal = h.oe.health
        assert signal is not None
        assert signal.state is HealthState.DEGRADED
        assert HealthReason.CONSUMER_BACKPRESSURE in signal.reasons
        if transport == "nats":
            # JetStream refused the publish that found the stream full: the sink raised, the outbox kept the
            # batch and escalated that too, and OE learned it through the health bucket.
            await h.until(
                lambda: h.oe.health is not None and "stream_full" in h.oe.health.detail,
                what="OE to learn that the facts stream refused a fact",
            )
            refused = outbox.counters.sink_failures
            await h.advance(0.5)  # the outbox retries after `retry_delay_s` of its clock: still full, still kept
            await h.until(lambda: outbox.counters.sink_failures > refused, what="the retry, refused again")
        shed = [outbox.put_telemetry({"event": "probe", "i": i}) for i in range(40)]
        assert not any(shed)
        assert outbox.counters.telemetry_shed >= 40  # optional telemetry goes first; facts are kept
        assert outbox.counters.received == outbox.counters.delivered + outbox.depth  # no fact dropped
        # Keep the platform talking: at capacity the PA stops reading its sockets (TCP pushes back).
        for _ in range(20):
            await h.sim.step_market(50)
        await h.until(lambda: not outbox.has_room, what="outbox at capacity")
        assert outbox.counters.reader_pauses >= 1
        assert outbox.depth <= CAPACITY + 200  # bounded: capacity plus at most one frame per socket
        h.system.u.resume()
        # The PA's clock moves so that a refused batch is retried (in process nothing waits on it).
        await h.until_advancing(lambda: h.read_everything_sent() and h.delivered_to_u(), what="every fact at U")
        await h.until(lambda: h.stack.adapter.health.state is HealthState.UP, what="recovery")
        await h.until(lambda: not h.oe.halted, what="OE to see the recovery")
        seqs = [f.delivery_seq for f in h.u_facts()]
        assert seqs == list(range(1, len(seqs) + 1))  # every fact, in order, nothing missing
        assert len(seqs) == outbox.counters.received
        assert h.system.u.counters.holes == 0
        md_sent = [m.text.encode() for m in h.sim.sent_messages(kind="md")]
        md_received = [bytes(f.payload) for f in h.u_facts() if f.connection == "md" and f.kind.value != "gap"]
        assert md_received == md_sent
        if h.nats is not None:
            assert (await h.nats.stream_state()).last_seq == outbox.counters.received  # each fact stored once
