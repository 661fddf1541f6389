"""The delivery invariant: what the simulator wrote on each socket either reached U, or lies in a reported gap.

Inputs are plain records, so the check runs on evidence from a live run or on evidence a test tampered with.

How a miss is attributed (precisely):

1. The simulator records every frame it actually wrote, per simulator connection, after the write
   succeeded (`sim.sent_frames`, `sim.sent_messages`). Each `a[...]` message must become one fact whose
   payload is the message text byte for byte; a frame that is not Tradovate framing (`malformed`) must
   become one `undecodable` fact whose payload is that text as a JSON string; a `c[code,"reason"]` frame
   must become one frame fact `{"c":[code,"reason"]}`. `o` and `h` frames carry nothing to forward.
2. Simulator connections of one kind are matched, in accept order, to the PA's connection epochs of that
   socket (`md-1`, `md-2`, ...). A simulator connection the PA never wrote a single frame to and that
   carries nothing to forward may be a "ghost" (accepted, but the PA's handshake failed); ghosts are
   dropped only as far as needed to make the counts equal, and any leftover mismatch is a violation.
3. Per matched pair, the facts U stored for that PA connection (gap facts aside), in delivery order,
   must equal a prefix of what the simulator wrote there. Anything out of order, altered, duplicated by the
   PA or invented is a violation.
4. A missing tail is allowed only if the PA lost that connection and said so: a gap fact with
   `connection` = the socket and `from_epoch` = that epoch, delivered after the last fact of the epoch,
   with `first_missing_recv_ts` no earlier than that fact's receive time. A missing tail on the
   connection that is still up is "not delivered" (the run did not drain, or the PA lost it silently).
5. Every epoch that ended has its connection gap fact; the live one has none.
6. `delivery_seq` of the facts U stored is 1..N with no hole and no restart, and N equals the number
   of facts the PA's outbox accepted (so nothing was lost between the PA and U either).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from platform_adapter.mic import GapDetail
from platform_adapter.mic.codec import decode_gap

ItemForm = Literal["message", "malformed", "close"]
SOCKET_KINDS = ("md", "trading")


@dataclass(frozen=True, slots=True)
class SentItem:
    """One thing the simulator wrote that the PA must turn into exactly one fact."""

    frame_index: int
    position: int
    form: ItemForm
    text: str


@dataclass(frozen=True, slots=True)
class SimConnectionRecord:
    """One simulator socket connection, as its recorder saw it."""

    conn_id: int
    kind: str  # "md" | "trading"
    items: tuple[SentItem, ...]
    inbound_frames: int  # frames the client wrote on it (0: the PA never spoke on it)
    largest_frame: int = 0  # most messages in one frame


@dataclass(frozen=True, slots=True)
class StoredFact:
    """One row of U's raw ingress log (`facts` table)."""

    fact_id: int
    delivery_seq: int
    redelivery: bool
    kind: str
    stream: str
    connection: str
    connection_id: str
    epoch: int
    recv_ts: int
    payload: str
    run_id: str = ""  # the PA run that delivered it (the crash soak checks several runs)
    fenced: bool = False  # U flagged it: written by a deposed PA tenure


@dataclass(frozen=True)
class DeliveryEvidence:
    """Everything the check needs, taken after the run drained."""

    connections: tuple[SimConnectionRecord, ...]
    facts: tuple[StoredFact, ...]
    pa_epochs: Mapping[str, int]  # socket -> the highest connection epoch the PA reached
    live_epochs: Mapping[str, int | None]  # socket -> the epoch that is up now (None: down)
    facts_accepted: int  # what the PA's outbox accepted (`counters.received`)
    run_ids: frozenset[str] = frozenset()  # run ids seen at U's ingress
    run_id: str = ""


@dataclass
class DeliveryReport:
    """The outcome of the check, with figures for the soak summary."""

    violations: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # tails not yet delivered on live connections
    sent: int = 0
    delivered: int = 0
    missed_in_gaps: int = 0
    gap_facts: int = 0
    connection_gaps: int = 0
    connections: int = 0
    ghosts: int = 0

    @property
    def ok(self) -> bool:
        """No violation and nothing pending."""
        return not self.violations and not self.pending


def connection_records(
    opened: Mapping[int, str],
    frames: Sequence[tuple[int | None, str, int, str, str]],
    messages: Sequence[tuple[int | None, str, int, int, str]],
    inbound: Mapping[int, int],
) -> tuple[SimConnectionRecord, ...]:
    """Build per-connection records from the simulator recorder.

    `opened` maps every socket connection the simulator accepted to its kind; `frames` are (conn_id, kind,
    index, frame_type, text); `messages` are (conn_id, kind, frame_index, position, text); `inbound` counts
    client frames per connection.
    """
    items: dict[int, list[SentItem]] = {c: [] for c, kind in opened.items() if kind in SOCKET_KINDS}
    per_frame: dict[tuple[int, int], int] = defaultdict(int)
    for conn_id, _, index, frame_type, text in frames:
        if conn_id not in items:
            continue
        if frame_type == "malformed":
            items[conn_id].append(SentItem(index, 0, "malformed", text))
        elif frame_type == "c":
            items[conn_id].append(SentItem(index, 0, "close", text))
    for conn_id, _, frame_index, position, text in messages:
        if conn_id not in items:
            continue
        items[conn_id].append(SentItem(frame_index, position, "message", text))
        per_frame[(conn_id, frame_index)] += 1
    largest: dict[int, int] = defaultdict(int)
    for (conn_id, _), count in per_frame.items():
        largest[conn_id] = max(largest[conn_id], count)
    return tuple(
        SimConnectionRecord(
            conn_id,
            opened[conn_id],
            tuple(sorted(sent, key=lambda i: (i.frame_index, i.position))),
            inbound.get(conn_id, 0),
            largest[conn_id],
        )
        for conn_id, sent in sorted(items.items())
    )


def _matches(item: SentItem, fact: StoredFact) -> str | None:
    """None when `fact` is what the PA must make of `item`; else what differs."""
    if item.form == "message":
        if fact.kind == "undecodable":
            return f"the message was forwarded as undecodable ({fact.payload[:80]!r})"
        if fact.payload != item.text:
            return f"payload differs: sent {item.text[:80]!r}, U stored {fact.payload[:80]!r}"
        return None
    try:
        decoded = json.loads(fact.payload)
    except ValueError:
        return f"unreadable payload {fact.payload[:80]!r} for a {item.form} frame"
    if item.form == "malformed":
        if fact.kind != "undecodable" or decoded != item.text:
            return f"malformed frame {item.text[:60]!r} became {fact.kind} {fact.payload[:80]!r}"
        return None
    try:
        expected = {"c": json.loads(item.text[1:])}
    except ValueError:
        expected = None
    if decoded != expected:
        return f"close frame {item.text!r} became {fact.kind} {fact.payload[:80]!r}"
    return None


def _gap_details(facts: Sequence[StoredFact]) -> list[tuple[StoredFact, GapDetail]]:
    gaps = []
    for fact in facts:
        if fact.kind == "gap" and not fact.redelivery:
            gaps.append((fact, decode_gap(fact.payload.encode())))
    return gaps


def pair_connections(
    records: Sequence[SimConnectionRecord], socket: str, epochs: int, report: DeliveryReport
) -> list[tuple[SimConnectionRecord, int]]:
    conns = [r for r in records if r.kind == socket]
    extra = len(conns) - epochs
    if extra < 0:
        report.violations.append(
            f"{socket}: the PA reached connection epoch {epochs} but the simulator accepted only {len(conns)} connections"
        )
        return []
    if extra > 0:
        # Ghosts: accepted by the simulator, never spoken on by the PA, nothing on them to forward.
        ghosts = [r for r in conns if r.inbound_frames == 0 and not r.items]
        if len(ghosts) < extra:
            report.violations.append(
                f"{socket}: {len(conns)} simulator connections for {epochs} PA epochs and only {len(ghosts)} "
                "of them can be unused handshakes: cannot attribute connections"
            )
            return []
        dropped = {g.conn_id for g in ghosts[:extra]} if len(ghosts) == extra else set()
        if not dropped:
            # More silent candidates than ghosts: drop the latest ones (a ghost is a failed retry, the later
            # attempt after it is the one that came up). Both choices carry nothing, so only pairing shifts.
            dropped = {g.conn_id for g in ghosts[-extra:]}
        report.ghosts += extra
        conns = [r for r in conns if r.conn_id not in dropped]
    return [(conn, epoch) for epoch, conn in enumerate(conns, start=1)]


def check_delivery(evidence: DeliveryEvidence) -> DeliveryReport:
    """Check the delivery invariant; see the module docstring for the rules."""
    report = DeliveryReport()
    facts = sorted(evidence.facts, key=lambda f: f.fact_id)
    first_rows = [f for f in facts if not f.redelivery]
    _check_delivery_seq(first_rows, evidence, report)
    gaps = _gap_details(first_rows)
    report.gap_facts = len(gaps)
    by_connection: dict[str, list[StoredFact]] = defaultdict(list)
    for fact in first_rows:
        if fact.kind != "gap":
            by_connection[fact.connection_id].append(fact)
    lost: dict[tuple[str, int], tuple[StoredFact, GapDetail]] = {}
    for fact, detail in gaps:
        if detail.streams == ("connection",):
            report.connection_gaps += 1
            key = (detail.connection, detail.from_epoch)
            if key in lost:
                report.violations.append(f"{key[0]}-{key[1]}: two connection gap facts for one epoch")
            lost[key] = (fact, detail)
    known_ids: set[str] = set()
    for socket in SOCKET_KINDS:
        epochs = evidence.pa_epochs.get(socket, 0)
        live = evidence.live_epochs.get(socket)
        for epoch in range(1, epochs + 1):
            ended = epoch != live
            if ended and (socket, epoch) not in lost:
                report.violations.append(f"{socket}-{epoch}: the connection ended but no gap fact reports it")
            if not ended and (socket, epoch) in lost:
                report.violations.append(f"{socket}-{epoch}: a gap fact reports the loss of the live connection")
        for conn, epoch in pair_connections(evidence.connections, socket, epochs, report):
            connection_id = f"{socket}-{epoch}"
            known_ids.add(connection_id)
            report.connections += 1
            check_connection(
                conn, connection_id, by_connection.get(connection_id, []), lost.get((socket, epoch)), report
            )
    for connection_id, rows in by_connection.items():
        if connection_id not in known_ids:
            report.violations.append(
                f"{connection_id}: {len(rows)} facts from a connection the simulator has no record of "
                f"(first: {rows[0].payload[:80]!r})"
            )
    return report


def check_connection(
    conn: SimConnectionRecord,
    connection_id: str,
    delivered: Sequence[StoredFact],
    loss: tuple[StoredFact, GapDetail] | None,
    report: DeliveryReport,
    *,
    same_run: bool = True,
) -> None:
    sent = conn.items
    report.sent += len(sent)
    where = f"{connection_id} (simulator connection {conn.conn_id})"
    for index, (item, fact) in enumerate(zip(sent, delivered, strict=False)):
        problem = _matches(item, fact)
        if problem is not None:
            report.violations.append(
                f"{where}: item {index} (frame {item.frame_index}, position {item.position}): {problem}; "
                "delivered facts are not the in-order prefix of what was sent"
            )
            return
    if len(delivered) > len(sent):
        extra = delivered[len(sent)]
        report.violations.append(
            f"{where}: U has {len(delivered)} facts but the simulator wrote {len(sent)} items "
            f"(first extra: {extra.kind} {extra.payload[:80]!r})"
        )
        return
    report.delivered += len(delivered)
    missing = len(sent) - len(delivered)
    if missing == 0:
        return
    if loss is None:
        message = (
            f"{where}: {missing} of {len(sent)} items never reached U and no gap fact reports this connection "
            f"(first missing: {sent[len(delivered)].text[:80]!r})"
        )
        report.pending.append(message)
        return
    gap_fact, detail = loss
    if delivered:
        last = delivered[-1]
        if same_run and gap_fact.delivery_seq < last.delivery_seq:
            report.violations.append(
                f"{where}: the gap fact (delivery_seq {gap_fact.delivery_seq}) precedes facts of the epoch it closes "
                f"(last at {last.delivery_seq})"
            )
        if detail.first_missing_recv_ts is None or detail.first_missing_recv_ts < last.recv_ts:
            report.violations.append(
                f"{where}: the gap starts at recv_ts {detail.first_missing_recv_ts}, before the last delivered fact "
                f"({last.recv_ts}): its bounds do not cover the miss"
            )
    report.missed_in_gaps += missing


def _check_delivery_seq(rows: Sequence[StoredFact], evidence: DeliveryEvidence, report: DeliveryReport) -> None:
    expected = 1
    for row in rows:
        if row.delivery_seq != expected:
            report.violations.append(
                f"delivery_seq hole or restart at U: expected {expected}, got {row.delivery_seq} (fact_id {row.fact_id})"
            )
            break
        expected += 1
    if len(rows) != evidence.facts_accepted:
        report.violations.append(
            f"the PA's outbox accepted {evidence.facts_accepted} facts but U stored {len(rows)}: facts lost between PA and U"
        )
    if evidence.run_id and evidence.run_ids - {evidence.run_id}:
        report.violations.append(f"facts with a foreign run_id at U: {sorted(evidence.run_ids - {evidence.run_id})}")


def evidence_without(evidence: DeliveryEvidence, drop: set[int]) -> DeliveryEvidence:
    """The same evidence with some facts (by fact_id) removed, as if U never got them (for checker tests)."""
    return dataclasses.replace(evidence, facts=tuple(f for f in evidence.facts if f.fact_id not in drop))


def verdict_line(title: str, ok: bool, violations: Sequence[str]) -> str:
    """One readable line for a soak seed: `title: ok`, or its first three violations."""
    if ok:
        return f"{title}: ok"
    more = f" (+{len(violations) - 3} more)" if len(violations) > 3 else ""
    return f"{title}: " + "; ".join(violations[:3]) + more


_FACTS_QUERY = (
    "SELECT fact_id, delivery_seq, redelivery, kind, stream, connection, connection_id, epoch, recv_ts, payload,"
    " run_id, fenced FROM facts ORDER BY fact_id"
)


def stored_facts(db: sqlite3.Connection) -> tuple[StoredFact, ...]:
    """U's raw ingress log (reference U's `facts` table), in the order U stored it."""
    return tuple(
        StoredFact(
            fact_id=row[0],
            delivery_seq=row[1],
            redelivery=bool(row[2]),
            kind=row[3],
            stream=row[4],
            connection=row[5],
            connection_id=row[6],
            epoch=row[7],
            recv_ts=row[8],
            payload=row[9],
            run_id=row[10] or "",
            fenced=bool(row[11]),
        )
        for row in db.execute(_FACTS_QUERY).fetchall()
    )
