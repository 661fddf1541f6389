"""Findings: one row per discovery question, rendered as the table `pa probe` prints and writes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from platform_adapter.probe.variants import QUESTIONS, VariantShown, variant_spec


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
    variants: list[VariantShown] = field(default_factory=list)  # per simulator switch: what the account showed

    def add(self, finding: Finding) -> None:
        """Append a finding."""
        self.findings.append(finding)

    def by_step(self, step: str) -> list[Finding]:
        """The findings of one step."""
        return [f for f in self.findings if f.step == step]

    def to_json(self) -> str:
        """findings.json: the report with every finding's machine-readable data."""
        report = asdict(self)
        report["variant_spec"] = self.variant_spec
        return json.dumps(report, indent=2, default=str)

    @property
    def variant_spec(self) -> str:
        """`pa sim --variant <this>` behaves as the account did on every switch it answered."""
        return variant_spec(self.variants)

    def _variant_caption(self) -> str:
        who = "the simulator" if self.target_kind == "simulator" else "the account"
        return f'which simulator variant {who} showed, per switch (docs/simulator.md "Variants")'

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
        if self.variants:
            lines += ["", f"## Variants: {self._variant_caption()}", "", "| switch | question | shown | step | why |"]
            lines.append("|---|---|---|---|---|")
            for v in self.variants:
                cells = [f"`{v.switch}`", QUESTIONS[v.switch], v.value or "not observed", v.step, v.observation]
                lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
            lines += ["", f"As a simulator: `pa sim --variant {self.variant_spec}`"]
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
        if self.variants:
            shown = Table(title="variants", caption=self._variant_caption(), show_lines=False, expand=True)
            for name in ("switch", "shown", "step"):
                shown.add_column(name, no_wrap=True)
            shown.add_column("why", ratio=5)
            for v in self.variants:
                shown.add_row(v.switch, v.value or "not observed", v.step, v.observation)
            console.print(shown)
            console.print(f"as a simulator: pa sim --variant {self.variant_spec}")
        if self.stopped_early:
            console.print(f"stopped early: {self.stopped_early}")
