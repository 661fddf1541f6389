"""docs/runbook.md lists every health reason OE can receive, each with its state, meaning and operator action."""

from __future__ import annotations

import re
from pathlib import Path

from platform_adapter.mic import HealthReason

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"


def test_every_health_reason_has_a_runbook_row_with_an_operator_action() -> None:
    rows = {
        match.group(1): [cell.strip() for cell in match.group(2).split("|")]
        for match in re.finditer(r"^\| `([a-z_]+)` \|(.+)\|$", RUNBOOK.read_text(), re.MULTILINE)
    }
    for reason in HealthReason:
        assert reason.value in rows, f"docs/runbook.md section 5 has no row for {reason.value}"
        state, meaning, action = rows[reason.value]
        assert state in {"DEGRADED", "DOWN"}
        assert meaning
        assert action
