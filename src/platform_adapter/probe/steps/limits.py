"""P9 (passive, read-only): what the whole run saw of rate limiting - headers, penalty tickets, 423/429 -
and how many requests it sent per endpoint. Nothing is sent to provoke a limit (discovery report §10.1)."""

from __future__ import annotations

import re
from collections import Counter

from platform_adapter.probe.findings import Verdict
from platform_adapter.probe.steps.context import ProbeContext

_LIMIT_HEADER = re.compile(r"rate|limit|retry|quota|penalt|throttl", re.IGNORECASE)


def p9_limits(ctx: ProbeContext) -> None:
    """Read the capture: limit headers, penalties, lock-outs, request counts."""
    records = ctx.session.capture.records
    header_names: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    sent: Counter[str] = Counter()
    penalties = 0
    for record in records:
        if record.kind == "http" and record.dir == "recv":
            statuses[record.status or 0] += 1
            for name in record.headers or {}:
                if _LIMIT_HEADER.search(name):
                    header_names[name] += 1
            penalties += "p-ticket" in record.text
        elif record.kind == "http" and record.dir == "send":
            sent[f"REST {record.endpoint}"] += 1
        elif record.kind == "frame" and record.dir == "send" and record.text != "[]":
            sent[f"WS {record.text.partition(chr(10))[0]}"] += 1
        elif record.kind == "frame" and record.dir == "recv":
            penalties += "p-ticket" in record.text
            statuses[429] += record.text.count('"s":429')
    budget = ctx.session.budget
    seen_limits = statuses[423] + statuses[429] + penalties + budget.lockouts
    ctx.add(
        "P9",
        "Rate-limit headers on REST responses",
        ", ".join(f"{name} ({n}x)" for name, n in header_names.items()) or "none seen",
        Verdict.AS_EXPECTED if not header_names else Verdict.DIFFERS,
        expected="none documented",
        headers=dict(header_names),
    )
    ctx.add(
        "P9",
        "Penalty tickets, 423, 429 during the run",
        f"{penalties} p-ticket(s), {statuses[423]} x 423, {statuses[429]} x 429; budget: {budget.penalties} "
        f"penalty wait(s), {budget.lockouts} lock-out(s)",
        Verdict.AS_EXPECTED if not seen_limits else Verdict.DIFFERS,
        expected="none at the probe's request rate",
    )
    total = sum(sent.values())
    ctx.add(
        "P9",
        "Requests the probe sent (no retry storm)",
        f"{total} requests: " + ", ".join(f"{name} {n}" for name, n in sorted(sent.items())),
        Verdict.AS_EXPECTED,
        requests=dict(sent),
    )
