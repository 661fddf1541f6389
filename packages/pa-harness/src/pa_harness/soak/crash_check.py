"""The crash soak's invariants, checked from the simulator's own records and U's store, over several PA runs.

Delivery (the fault soak's rules, `delivery.py`, applied per PA run): each simulator connection belongs to the PA
process on its other end (`failover.owners`), i.e. to one run. Per run and socket, simulator connections pair in
accept order with the run's connection epochs; what the simulator wrote there must reach U as an in-order,
byte-exact prefix, and a missing tail must lie inside a reported gap: the run's own connection gap fact, or —
for the last connection of a run that was killed — the `pa_restart` connection gap a later run wrote for it
(`previous_run_id` = that run, or an earlier one when it delivered nothing at all). Every run's `delivery_seq`
is 1..N at U with no hole. A connection nobody owns (its process died before the simulator looked) must have
carried nothing.

State: U's last word on every order and position (the last sync snapshot, then the `props` events after it, from
U's raw log) equals the simulator's own entities at the end.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pa_harness.soak.delivery import (
    SOCKET_KINDS,
    DeliveryReport,
    SimConnectionRecord,
    StoredFact,
    check_connection,
    pair_connections,
)
from platform_adapter.mic import GapDetail
from platform_adapter.mic.codec import decode_gap
from platform_adapter.tradovate.resume import RESTART


@dataclass(frozen=True)
class CrashEvidence:
    """Everything the multi-run check needs, taken after the run drained."""

    connections: tuple[SimConnectionRecord, ...]
    owners: Mapping[int, str | None]  # simulator connection id -> the PA run on its other end (None: unknown)
    open_connections: frozenset[int]  # simulator connections still open at the end
    facts: tuple[StoredFact, ...]  # U's raw log, with run ids
    runs: tuple[str, ...]  # PA runs in the order their tenures began
    live_run: str | None  # the run holding the lease at the end


def check_runs(evidence: CrashEvidence) -> DeliveryReport:
    """Delivery across PA runs; see the module docstring."""
    report = DeliveryReport()
    rows = sorted((f for f in evidence.facts if not f.redelivery and not f.fenced), key=lambda f: f.fact_id)
    _check_sequences(rows, evidence.runs, report)
    own: dict[tuple[str, str, int], tuple[StoredFact, GapDetail]] = {}
    resumes: dict[str, list[tuple[StoredFact, GapDetail]]] = defaultdict(list)  # by the run that wrote them
    by_connection: dict[tuple[str, str], list[StoredFact]] = defaultdict(list)
    for fact in rows:
        if fact.kind != "gap":
            by_connection[(fact.run_id, fact.connection_id)].append(fact)
            continue
        detail = decode_gap(fact.payload.encode())
        report.gap_facts += 1
        if detail.streams != ("connection",):
            continue
        report.connection_gaps += 1
        if detail.reason == RESTART:
            resumes[fact.run_id].append((fact, detail))
        else:
            key = (fact.run_id, detail.connection, detail.from_epoch)
            if key in own:
                report.violations.append(f"{key}: two connection gap facts for one epoch")
            own[key] = (fact, detail)
    delivered_any = {fact.run_id for fact in rows}
    paired: set[tuple[str, str]] = set()
    for index, run in enumerate(evidence.runs):
        ended = run != evidence.live_run
        for socket in SOCKET_KINDS:
            conns = [c for c in evidence.connections if c.kind == socket and evidence.owners.get(c.conn_id) == run]
            visible = [int(cid.split("-", 1)[1]) for (r, cid) in by_connection if r == run and cid.startswith(socket)]
            visible += [epoch for (r, s, epoch) in own if r == run and s == socket]
            epochs = max([*visible, sum(1 for c in conns if c.inbound_frames or c.items)], default=0)
            resume = _resume_for(evidence.runs, index, socket, resumes, run in delivered_any)
            for conn, epoch in pair_connections(conns, socket, epochs, report):
                connection_id = f"{socket}-{epoch}"
                paired.add((run, connection_id))
                report.connections += 1
                live = not ended and conn.conn_id in evidence.open_connections
                loss = own.get((run, socket, epoch))
                where = f"run {run} {connection_id} (simulator connection {conn.conn_id})"
                if live and loss is not None:
                    report.violations.append(f"{where}: a gap fact reports the loss of the live connection")
                same_run = True
                if not live and loss is None:
                    if ended and epoch == epochs and resume is not None:
                        loss, same_run = resume, False
                    else:
                        report.violations.append(f"{where}: the connection ended but no gap fact reports it")
                check_connection(
                    conn, f"run {run} {connection_id}", by_connection.get((run, connection_id), []), loss, report,
                    same_run=same_run,
                )  # fmt: skip
    for conn in evidence.connections:
        if evidence.owners.get(conn.conn_id) is None and conn.items:
            report.violations.append(
                f"simulator connection {conn.conn_id} ({conn.kind}): {len(conn.items)} items written to a connection "
                "no PA process owned"
            )
    for (run, connection_id), facts in by_connection.items():
        if (run, connection_id) not in paired:
            report.violations.append(
                f"run {run} {connection_id}: {len(facts)} facts from a connection the simulator has no record of "
                f"(first: {facts[0].payload[:80]!r})"
            )
    return report


def _resume_for(
    runs: Sequence[str],
    index: int,
    socket: str,
    resumes: Mapping[str, list[tuple[StoredFact, GapDetail]]],
    delivered: bool,
) -> tuple[StoredFact, GapDetail] | None:
    """The `pa_restart` gap the next run that reported one wrote for `runs[index]`'s end on `socket`."""
    earlier = set(runs[:index])
    for later in runs[index + 1 :]:
        for fact, detail in resumes.get(later, []):
            if detail.connection != socket:
                continue
            named = detail.previous_run_id
            if named == runs[index] or (not delivered and (named is None or named in earlier)):
                return fact, detail
            return None  # the next report names another run: this one's end went unreported
    return None


def _check_sequences(rows: Sequence[StoredFact], runs: Sequence[str], report: DeliveryReport) -> None:
    seqs: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        seqs[row.run_id].append(row.delivery_seq)
    for run, numbers in seqs.items():
        if run not in runs:
            report.violations.append(f"{len(numbers)} facts at U from run {run!r}, which never held the lease")
        if numbers != list(range(1, len(numbers) + 1)):
            first = next(i for i, n in enumerate(numbers, start=1) if n != i)
            report.violations.append(
                f"run {run}: delivery_seq at U is not 1..{len(numbers)} (first break at position {first}: "
                f"{numbers[first - 1]})"
            )


# -- what U knows of orders and positions ----------------------------------------------------------------------


def u_state(facts: Sequence[StoredFact]) -> dict[str, dict[int, Any]]:
    """Orders and positions as U's raw log last stated them: the latest sync snapshot, then the props after it."""
    state: dict[str, dict[int, Any]] = {"order": {}, "position": {}}
    arrays = {"orders": "order", "positions": "position"}
    for fact in sorted(facts, key=lambda f: f.fact_id):
        if fact.redelivery or fact.kind != "platform_event" or fact.stream not in ("sync_snapshot", "props"):
            continue
        try:
            message = json.loads(fact.payload)
        except ValueError:
            continue
        body = message.get("d") if isinstance(message, dict) else None
        if not isinstance(body, dict):
            continue
        if fact.stream == "sync_snapshot":
            for array, entity_type in arrays.items():
                if isinstance(body.get(array), list):
                    state[entity_type] = {e["id"]: e for e in body[array] if isinstance(e, dict) and "id" in e}
            continue
        kind, entity = body.get("entityType"), body.get("entity")
        if isinstance(kind, str) and kind in state and isinstance(entity, dict) and "id" in entity:
            if body.get("eventType") == "Deleted":
                state[kind].pop(entity["id"], None)
            else:
                state[kind][entity["id"]] = entity
    return state


def compare_state(u: Mapping[str, Mapping[int, Any]], platform: Mapping[str, Mapping[int, Any]]) -> list[str]:
    """Where U's view of orders and positions differs from the platform's own."""
    problems = []
    for entity_type, entities in platform.items():
        known = u.get(entity_type, {})
        for entity_id in sorted(set(entities) | set(known)):
            if known.get(entity_id) != entities.get(entity_id):
                problems.append(
                    f"U's {entity_type} {entity_id} is {json.dumps(known.get(entity_id))[:160]}, the platform's "
                    f"{json.dumps(entities.get(entity_id))[:160]}"
                )
    return problems
