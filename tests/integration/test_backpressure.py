"""Acceptance E: under a blocked U the PA sheds telemetry first, escalates to OE before any fact could be lost,
stops reading the platform at capacity, and after release every fact arrives, in order, nothing missing."""

from __future__ import annotations

from platform_adapter.config import OutboxSettings
from platform_adapter.mic import HealthReason, HealthState

from .harness import running

CAPACITY = 400


async def test_acceptance_E_a_blocked_consumer_escalates_before_loss_and_loses_nothing() -> None:
    outbox_settings = OutboxSettings(capacity=CAPACITY, high_watermark=0.5, low_watermark=0.2, telemetry_capacity=50)
    # A small in-process queue to U, so a stalled U backs up into the PA's outbox quickly.
    async with running(outbox=outbox_settings, fact_queue_size=50) as h:
        await h.up()
        await h.drained()
        outbox = h.stack.adapter.outbox
        assert outbox.put_telemetry({"event": "probe", "i": -1})  # telemetry flows while all is well
        h.system.u.stall()
        # Move the market until U's queue is full and the outbox has crossed its high watermark.
        while not (outbox.in_backpressure and h.stack.facts.queue.full()):
            await h.sim.step_market(20)
        assert outbox.counters.escalation_depth == CAPACITY // 2  # escalated at the high watermark, before capacity
        await h.until(lambda: h.oe.halted, what="OE to receive the halt")
        signal = h.oe.health
        assert signal is not None
        assert signal.state is HealthState.DEGRADED
        assert HealthReason.CONSUMER_BACKPRESSURE in signal.reasons
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
        await h.drained(timeout=30)
        await h.until(lambda: h.stack.adapter.health.state is HealthState.UP, what="recovery")
        await h.until(lambda: not h.oe.halted, what="OE to see the recovery")
        seqs = [f.delivery_seq for f in h.u_facts()]
        assert seqs == list(range(1, len(seqs) + 1))  # every fact, in order, nothing missing
        assert h.system.u.counters.holes == 0
        md_sent = [m.text.encode() for m in h.sim.sent_messages(kind="md")]
        md_received = [bytes(f.payload) for f in h.u_facts() if f.connection == "md" and f.kind.value != "gap"]
        assert md_received == md_sent
