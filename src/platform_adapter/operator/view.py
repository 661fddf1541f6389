"""The live status view: a pure function from a `StatusSnapshot` to a rich renderable.

Nothing here reads the PA; `render_status(snapshot)` can be printed to a recording console in a test,
or handed to `rich.live.Live` by `LiveStatus`.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from platform_adapter.operator.snapshot import (
    ContractStatus,
    GapStatus,
    HealthStatus,
    IntentStatus,
    OutboxStatus,
    SocketStatus,
    StatusSnapshot,
    StreamRate,
)

_STATE_STYLE = {"PA_UP": "bold green", "PA_DEGRADED": "bold yellow", "PA_DOWN": "bold red"}
_SOCKET_STYLE = {"up": "green", "connecting": "yellow", "reconnecting": "yellow", "not started": "dim"}
_ACK_STYLE = {"accepted": "green", "failed": "red", "unknown": "yellow"}


def render_status(snapshot: StatusSnapshot) -> RenderableType:
    """The whole status view for one snapshot."""
    header = Text.assemble(
        (snapshot.title, "bold"),
        f"  mode {snapshot.mode}  run {snapshot.run_id or '-'}  {snapshot.at} UTC",
        style="",
    )
    parts: list[RenderableType] = [
        header,
        render_health(snapshot.health),
        _side_by_side(
            Group(render_sockets(snapshot.sockets, snapshot), Text(""), render_outbox(snapshot.outbox)),
            render_streams(snapshot.streams),
        ),
        render_contracts(snapshot.contracts),
        render_intents(snapshot.intents, snapshot.unresolved_intents),
        render_gaps(snapshot.gaps),
    ]
    if snapshot.footer:
        parts.append(Text(snapshot.footer, style="dim"))
    return Group(*parts)


def _side_by_side(left: RenderableType, right: RenderableType) -> Table:
    grid = Table.grid(expand=True, padding=(0, 2))
    grid.add_column(ratio=3)
    grid.add_column(ratio=2)
    grid.add_row(left, right)
    return grid


def render_health(health: HealthStatus) -> Panel:
    """State, halt flag, reasons, and each raised condition with what to do."""
    style = _STATE_STYLE.get(health.state, "bold")
    lines = Text()
    lines.append(health.state, style=style)
    lines.append(f" for {_duration(health.since_s)}   halt_required: ")
    lines.append("YES" if health.halt_required else "no", style="bold red" if health.halt_required else "green")
    if health.reasons:
        lines.append("   reasons: " + ", ".join(health.reasons))
    for condition in health.conditions:
        lines.append("\n")
        lines.append(f"  {condition.state:<11} ", style=_STATE_STYLE.get(condition.state, ""))
        lines.append(f"{condition.reason}", style="bold")
        lines.append(f" [{condition.key}]{' halt' if condition.halt else ''}: {condition.detail}")
    return Panel(lines, title="health (as OE sees it)", title_align="left", border_style=style.split()[-1])


def render_sockets(sockets: tuple[SocketStatus, ...], snapshot: StatusSnapshot) -> Table:
    """Per socket: state, reconnect epoch, frames, frames/s, reconnects, the last loss."""
    table = Table(title="Tradovate sockets", title_justify="left", expand=True, show_edge=False)
    table.add_column("socket")
    table.add_column("state")
    table.add_column("epoch", justify="right")
    table.add_column("frames", justify="right")
    table.add_column("frames/s", justify="right")
    table.add_column("reconnects", justify="right")
    for socket in sockets:
        table.add_row(
            socket.role,
            Text(socket.state, style=_SOCKET_STYLE.get(socket.state, "")),
            str(socket.epoch),
            f"{socket.frames:,}",
            f"{socket.frames_per_s:,.1f}",
            str(socket.reconnects),
        )
    caption = [f"last loss {s.role}: {s.last_loss}" for s in sockets if s.last_loss]
    caption.append(f"requests in the last hour: {snapshot.requests_last_hour:,}")
    if snapshot.penalties or snapshot.lockouts:
        caption.append(f"penalty tickets {snapshot.penalties}, rate-limit lockouts {snapshot.lockouts}")
    if snapshot.undecodable:
        caption.append(f"undecodable messages forwarded raw: {snapshot.undecodable}")
    if caption:
        table.caption = "\n".join(caption)
        table.caption_justify = "left"
    return table


def depth_bar(outbox: OutboxStatus, width: int = 40) -> Text:
    """The outbox depth as a bar against its capacity, with the low (l) and high (H) watermarks marked."""
    capacity = max(1, outbox.capacity)
    filled = min(width, round(width * outbox.depth / capacity))
    low = min(width - 1, int(width * outbox.low_watermark / capacity))
    high = min(width - 1, int(width * outbox.high_watermark / capacity))
    style = "red" if outbox.in_backpressure else ("yellow" if outbox.depth > outbox.low_watermark else "green")
    bar = Text("[")
    for i in range(width):
        mark = "H" if i == high else ("l" if i == low else None)
        if i < filled:
            bar.append(mark or "#", style=style)
        else:
            bar.append(mark or ".", style="dim" if mark is None else "")
    bar.append("]")
    return bar


def render_outbox(outbox: OutboxStatus) -> Table:
    """Depth against watermarks and capacity, and the fact accounting (received = delivered + depth)."""
    table = Table(title="fact outbox -> U", title_justify="left", expand=True, show_edge=False, show_header=False)
    table.add_column("what")
    table.add_column("value")
    state = Text("BACKPRESSURE: halt requested", style="bold red") if outbox.in_backpressure else Text("flowing")
    table.add_row("depth", Text.assemble(depth_bar(outbox), f" {outbox.depth:,}"))
    table.add_row(
        "limits",
        f"low {outbox.low_watermark:,}  high {outbox.high_watermark:,}  capacity {outbox.capacity:,}  "
        f"peak {outbox.peak_depth:,}",
    )
    table.add_row("state", state)
    table.add_row(
        "facts",
        f"{outbox.received:,} received = {outbox.delivered:,} delivered + {outbox.depth:,} queued   "
        f"{outbox.facts_per_s:,.1f}/s",
    )
    table.add_row(
        "shed",
        f"telemetry shed {outbox.telemetry_shed:,}  reader pauses {outbox.reader_pauses}  "
        f"transport refusals {outbox.sink_failures}",
    )
    return table


def render_streams(streams: tuple[StreamRate, ...]) -> Table:
    """Facts built per platform stream: total and per second."""
    table = Table(title="streams", title_justify="left", expand=True, show_edge=False)
    table.add_column("stream")
    table.add_column("facts", justify="right")
    table.add_column("/s", justify="right")
    for stream in streams:
        table.add_row(stream.stream, f"{stream.total:,}", f"{stream.per_s:,.1f}")
    if not streams:
        table.add_row(Text("no facts yet", style="dim"), "", "")
    return table


def render_contracts(contracts: tuple[ContractStatus, ...]) -> Table:
    """Per configured contract: subscriptions and the last forwarded quote / bar / tick packet, as sent."""
    table = Table(
        title="contracts: last market facts forwarded (values and platform timestamps exactly as sent)",
        title_justify="left",
        expand=True,
        show_edge=False,
    )
    table.add_column("symbol", style="bold")
    table.add_column("subscribed")
    table.add_column("fact")
    table.add_column("last value")
    table.add_column("platform ts / recv", style="dim")
    for contract in contracts:
        rows = [
            ("quote", contract.quote, contract.quote_ts),
            ("bar", contract.bar, contract.bar_ts),
            ("ticks", contract.tick, f"recv {contract.tick_ts}" if contract.tick_ts else ""),
        ]
        shown = [row for row in rows if row[1]] or [("-", "", "")]
        for index, (label, value, ts) in enumerate(shown):
            first = index == 0
            table.add_row(
                contract.symbol if first else "",
                (", ".join(contract.subscriptions) or "-") if first else "",
                label,
                value,
                ts,
                end_section=index == len(shown) - 1,
            )
    return table


def render_intents(intents: tuple[IntentStatus, ...], unresolved: int) -> Table:
    """Recent intents: what OE asked, the receipt-ack, and what platform facts said since."""
    title = "recent intents (OE -> PA) and their receipt-acks"
    if unresolved:
        title += f"  - {unresolved} unknown outcome(s) awaiting platform facts"
    table = Table(title=title, title_justify="left", expand=True, show_edge=False)
    table.add_column("intent_id", overflow="fold", max_width=34)
    table.add_column("intent")
    table.add_column("ack")
    table.add_column("platform ids")
    table.add_column("ms", justify="right")
    table.add_column("facts", justify="right")
    table.add_column("outcome / detail", overflow="fold")
    for intent in intents:
        ack = Text(intent.status, style=_ACK_STYLE.get(intent.status, ""))
        if intent.reason:
            ack.append(f" ({intent.reason})")
        if intent.duplicate:
            ack.append(" dup", style="dim")
        note = intent.resolution or (intent.detail if intent.status != "accepted" else "")
        table.add_row(
            intent.intent_id,
            intent.what,
            ack,
            intent.platform_ids or "-",
            f"{intent.latency_ms:.1f}",
            str(intent.facts),
            note,
        )
    if not intents:
        table.add_row(Text("no intents yet", style="dim"), "", "", "", "", "", "")
    return table


def render_gaps(gaps: tuple[GapStatus, ...]) -> Table:
    """Recent gap facts sent to U: when, which socket, why, epochs, streams, backfill."""
    table = Table(title="recent gaps reported to U", title_justify="left", expand=True, show_edge=False)
    for name in ("recv", "socket", "reason", "epochs", "streams", "symbol", "backfill"):
        table.add_column(name)
    for gap in gaps:
        table.add_row(gap.at, gap.connection, gap.reason, gap.epochs, gap.streams, gap.symbol or "-", gap.backfill)
    if not gaps:
        table.add_row(Text("none", style="dim"), "", "", "", "", "", "")
    return table


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
