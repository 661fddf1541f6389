"""Findings: one row per discovery question, rendered as the table `pa probe` prints and writes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


class Verdict(StrEnum):
    """How an observation compares with what the desk research expected (discovery report §15)."""

    AS_EXPECTED = "as expected"
    DIFFERS = "differs"  # the research (or the PA's default) must be revisited
    INCONCLUSIVE = "inconclusive"  # seen, but not enough to decide (e.g. a quiet market)
    NOT_RUN = "not run"
    FAILED = "failed"  # the step could not complete; the observation says why


@dataclass(frozen=True)
class Finding:
    """The answer to one question of one probe step."""

    step: str
    question: str
    observation: str
    verdict: Verdict
    confidence: str  # "high" (seen directly), "medium" (seen, small sample), "low" (inferred), "-"
    expected: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProbeReport:
    """Everything a probe run produced."""

    target: str
    target_kind: str
    capture_path: str
    findings: list[Finding] = field(default_factory=list)
    started_wall_ns: int = 0
    finished_wall_ns: int = 0
    stopped_early: str | None = None  # why the run ended before every step ran

    def add(self, finding: Finding) -> None:
        """Append a finding."""
        self.findings.append(finding)

    def by_step(self, step: str) -> list[Finding]:
        """The findings of one step."""
        return [f for f in self.findings if f.step == step]

    def to_json(self) -> str:
        """findings.json: the report with every finding's machine-readable data."""
        return json.dumps(asdict(self), indent=2, default=str)

    def caption(self) -> str:
        """What the table describes (a simulator run describes the simulator, not Tradovate)."""
        if self.target_kind == "simulator":
            return (
                f"target {self.target} - SIMULATOR behaviour (loopback), not Tradovate's: "
                "only a run on a Tradovate demo account settles the open items"
            )
        return f"target {self.target}"

    def to_markdown(self) -> str:
        """findings.md: the table as Markdown."""
        lines = [
            "# pa probe findings",
            "",
            self.caption(),
            "",
            f"Capture: `{self.capture_path}`"
            + (f" - stopped early: {self.stopped_early}" if self.stopped_early else ""),
            "",
            "| step | question | observation | verdict | confidence |",
            "|---|---|---|---|---|",
        ]
        for f in self.findings:
            cells = [f.step, f.question, f.observation, f.verdict.value, f.confidence]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        return "\n".join(lines) + "\n"

    def render(self, console: Console) -> None:
        """Print the table."""
        table = Table(title="pa probe findings", caption=self.caption(), show_lines=True, expand=True)
        table.add_column("step", no_wrap=True)
        table.add_column("question", ratio=2)
        table.add_column("observation", ratio=5)
        table.add_column("verdict", no_wrap=True)
        table.add_column("conf.", no_wrap=True)
        for f in self.findings:
            table.add_row(f.step, f.question, f.observation, f.verdict.value, f.confidence)
        console.print(table)
        if self.stopped_early:
            console.print(f"stopped early: {self.stopped_early}")
