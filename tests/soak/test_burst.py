"""Memory under a 10x burst with a stalled U is bounded by the outbox capacity, not by the burst."""

from __future__ import annotations

from pa_harness.soak.burst import measure_burst


def test_a_10x_burst_against_a_stalled_u_holds_no_more_than_the_outbox_bound() -> None:
    capacity = 200
    result = measure_burst(10, capacity)
    assert result.delivered_ok, result.violations  # after U resumes, every fact arrives
    assert result.messages_offered >= 10 * capacity
    assert result.reader_pauses >= 1  # the readers stopped at capacity: TCP pushed back on the platform
    assert result.escalated
    assert result.peak_depth <= result.depth_bound
    assert result.pa_held_mb * 1024 <= 4.0 * capacity  # under 4 KiB per fact the outbox may hold (measured ~0.8)
