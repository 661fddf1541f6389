"""Prometheus metrics for one PA run, on a registry of its own.

Almost every series is read at scrape time from counters the PA keeps anyway (`PACollector`), so the
hot path pays nothing for them. Two histograms need individual observations: receipt-ack latency is
fed by `AckObserver.poll` from `IntentService.recent` (polled at each scrape and by the operator loop;
more than 100 intents between two polls would be under-counted, which the `pa_intent_ack_observations_missed`
counter shows), and fact delivery lag is observed once per delivered batch by the `FactTap`.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from platform_adapter import __version__
from platform_adapter.core.adapter import PlatformAdapter
from platform_adapter.core.intents import IntentService
from platform_adapter.mic import HealthReason, HealthState, Intent, ReceiptAck
from platform_adapter.operator.tap import FactTap
from platform_adapter.tradovate.platform import TradovatePlatform

_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)


class PACollector:
    """Reads the PA's own counters into metric families at scrape time."""

    def __init__(self, adapter: PlatformAdapter, platform: TradovatePlatform) -> None:
        self._adapter = adapter
        self._platform = platform

    def collect(self) -> Iterable[Metric]:
        """Yield every scrape-time family."""
        adapter, platform = self._adapter, self._platform
        info = GaugeMetricFamily(
            "pa_info", "The PA run: version, mode and run id.", labels=["version", "mode", "run_id"]
        )
        info.add_metric([__version__, adapter.settings.mode.value, platform.run_id], 1)
        yield info
        yield from self._sockets()
        yield from self._facts()
        yield from self._outbox()
        yield from self._health()
        budget = platform.budget
        yield CounterMetricFamily("pa_penalty_tickets", "Tradovate penalty tickets received.", value=budget.penalties)
        yield CounterMetricFamily(
            "pa_rate_limit_lockouts", "429 / captcha lock-outs of every request.", value=budget.lockouts
        )
        yield GaugeMetricFamily(
            "pa_requests_last_hour", "Requests sent to Tradovate in the rolling hour (ADR 0016).", budget.sent_last_hour
        )
        yield CounterMetricFamily(
            "pa_request_budget_holds", "Times requests began to wait for room in the rolling hour.", value=budget.holds
        )
        yield CounterMetricFamily(
            "pa_request_budget_refusals", "Orders refused for want of room in the rolling hour.", value=budget.refused
        )
        yield GaugeMetricFamily(
            "pa_intents_unresolved",
            "Intents whose outcome is unknown until platform facts resolve them.",
            value=len(adapter.intents.ledger.unresolved()),
        )

    def _sockets(self) -> Iterable[Metric]:
        frames = CounterMetricFamily("pa_frames", "WebSocket frames read, per socket.", labels=["socket"])
        reconnects = CounterMetricFamily("pa_reconnects", "Reconnect attempts, per socket.", labels=["socket"])
        epoch = GaugeMetricFamily("pa_socket_epoch", "Connection epoch (1 = first connection).", labels=["socket"])
        up = GaugeMetricFamily("pa_socket_up", "1 while the socket is connected and synced.", labels=["socket"])
        for link in self._platform.links.values():
            socket = link.socket
            role = [socket.role.value]
            frames.add_metric(role, socket.frames)
            reconnects.add_metric(role, link.reconnects)
            epoch.add_metric(role, socket.epoch)
            up.add_metric(role, 1 if socket.ready.is_set() else 0)
        return (frames, reconnects, epoch, up)

    def _facts(self) -> Iterable[Metric]:
        counters = self._adapter.outbox.counters
        by_kind = CounterMetricFamily("pa_facts", "Facts built from platform messages, by kind.", labels=["kind"])
        for kind, count in sorted(counters.by_kind.items()):
            by_kind.add_metric([kind], count)
        yield by_kind
        yield CounterMetricFamily("pa_facts_delivered", "Facts the transport accepted for U.", value=counters.delivered)
        builder = self._platform.builder
        by_stream = CounterMetricFamily("pa_facts_by_stream", "Facts built, by platform stream.", labels=["stream"])
        messages = CounterMetricFamily("pa_platform_messages", "Platform messages read, per socket.", labels=["socket"])
        if builder is not None:
            for stream, count in sorted(builder.counters.by_stream.items()):
                by_stream.add_metric([str(stream)], count)
            for socket, count in sorted(builder.counters.messages.items()):
                messages.add_metric([socket], count)
        yield from (by_stream, messages)
        yield CounterMetricFamily("pa_gaps", "Gap facts reported to U.", value=builder.counters.gaps if builder else 0)
        yield CounterMetricFamily(
            "pa_undecodable",
            "Messages forwarded raw because they could not be decoded.",
            value=builder.counters.undecodable if builder else 0,
        )

    def _outbox(self) -> Iterable[Metric]:
        outbox = self._adapter.outbox
        counters = outbox.counters
        low, high = outbox.watermarks
        yield GaugeMetricFamily("pa_outbox_depth", "Facts waiting for delivery to U.", value=outbox.depth)
        yield GaugeMetricFamily("pa_outbox_capacity", "Outbox capacity (readers pause here).", value=outbox.capacity)
        marks = GaugeMetricFamily("pa_outbox_watermark", "Outbox watermarks, in facts.", labels=["level"])
        marks.add_metric(["low"], low)
        marks.add_metric(["high"], high)
        yield marks
        yield GaugeMetricFamily("pa_outbox_peak_depth", "Deepest the outbox has been.", value=counters.peak_depth)
        yield GaugeMetricFamily(
            "pa_outbox_backpressure",
            "1 above the high watermark (PA_DEGRADED, halt).",
            value=int(outbox.in_backpressure),
        )
        yield CounterMetricFamily(
            "pa_outbox_high_watermark_crossings",
            "Escalations at the high watermark.",
            value=counters.high_watermark_crossings,
        )
        yield CounterMetricFamily(
            "pa_outbox_reader_pauses", "Times the socket readers paused at capacity.", value=counters.reader_pauses
        )
        yield CounterMetricFamily(
            "pa_fact_sink_failures", "Batches the fact transport refused.", value=counters.sink_failures
        )
        yield CounterMetricFamily(
            "pa_telemetry", "Optional telemetry records queued.", value=counters.telemetry_received
        )
        yield CounterMetricFamily(
            "pa_telemetry_shed", "Optional telemetry records shed.", value=counters.telemetry_shed
        )
        yield CounterMetricFamily(
            "pa_telemetry_delivered", "Optional telemetry records emitted.", value=counters.telemetry_delivered
        )

    def _health(self) -> Iterable[Metric]:
        signal = self._adapter.health.current
        state = GaugeMetricFamily("pa_health_state", "1 for the current health state.", labels=["state"])
        for candidate in HealthState:
            state.add_metric([candidate.value], 1 if signal.state is candidate else 0)
        yield state
        numeric = {HealthState.UP: 0, HealthState.DEGRADED: 1, HealthState.DOWN: 2}[signal.state]
        yield GaugeMetricFamily("pa_health_severity", "0 = PA_UP, 1 = PA_DEGRADED, 2 = PA_DOWN.", value=numeric)
        yield GaugeMetricFamily(
            "pa_health_halt_required", "1 while OE must halt trading.", value=int(signal.halt_required)
        )
        reasons = GaugeMetricFamily("pa_health_reason", "1 for each reason currently raised.", labels=["reason"])
        for reason in HealthReason:
            reasons.add_metric([reason.value], 1 if reason in signal.reasons else 0)
        yield reasons


class AckObserver:
    """Feeds the receipt-ack histogram and counter from `IntentService.recent`, each ack once."""

    def __init__(self, service: IntentService, latency: Histogram, acks: Counter, missed: Counter) -> None:
        self._service = service
        self._latency = latency
        self._acks = acks
        self._missed = missed
        self._last: tuple[Intent, ReceiptAck] | None = None

    def poll(self) -> int:
        """Observe the acks made since the last poll; returns how many."""
        recent = self._service.recent
        fresh: list[tuple[Intent, ReceiptAck]] = []
        for pair in reversed(recent):
            if pair is self._last:
                break
            fresh.append(pair)
        else:
            if self._last is not None and len(recent) >= 100:
                self._missed.inc()  # the last seen ack was trimmed away: some acks went unobserved
        if not fresh:
            return 0
        self._last = recent[-1]
        for _, ack in reversed(fresh):
            self._latency.observe(max(0, ack.acked_ts - ack.received_ts) / 1e9)
            self._acks.labels(status=ack.status.value).inc()
        return len(fresh)


class OperatorMetrics:
    """The registry `/metrics` serves, with the collectors and observers behind it."""

    def __init__(self, adapter: PlatformAdapter, platform: TradovatePlatform, tap: FactTap | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(PACollector(adapter, platform))
        latency = Histogram(
            "pa_intent_ack_latency_seconds",
            "Time from taking an intent to answering it with a receipt-ack.",
            buckets=_ACK_BUCKETS,
            registry=self.registry,
        )
        acks = Counter("pa_intent_acks", "Receipt-acks, by status.", ["status"], registry=self.registry)
        missed = Counter(
            "pa_intent_ack_observations_missed",
            "Polls that found acks trimmed before they were observed.",
            registry=self.registry,
        )
        self.acks = AckObserver(adapter.intents, latency, acks, missed)
        self.delivery_lag = Histogram(
            "pa_fact_delivery_lag_seconds",
            "Time from reading a frame off the socket to the transport accepting its fact (first fact of each batch).",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        if tap is not None:
            tap.observe_lag = self.delivery_lag.observe

    def poll(self) -> None:
        """Take the observations that are polled rather than pushed."""
        self.acks.poll()
