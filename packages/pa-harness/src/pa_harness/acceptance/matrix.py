"""`pa acceptance --variants`: the acceptance suite once per simulator variant set, and the variant x test matrix.

Each variant set runs in its own process (`python -m pa_harness.acceptance` with `PA_SIM_VARIANTS` set), so one
set that hangs or crashes the interpreter cannot take the others with it, and each leaves its full single-run
report in `<out>/vNN/`. The matrix (`matrix.md`, `matrix.html`, `matrix.json` in `<out>`) shows every test's
outcome under every set, the failures per set (for a set that changes one switch, the PA's work list for that
switch), and which switch settings the run covered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pa_harness.acceptance.report import _CSS, _badge
from pa_harness.acceptance.runner import find_tests_dir, source_revision
from pa_harness.acceptance.variants import VARIANTS_ENV, VariantPlan, plan
from tradovate_sim.variants import SWITCHES, Variants

_CELL = {"passed": "✓", "failed": "✗", "error": "E", "skipped": "s", "not run": "·"}
_LEGEND = "✓ passed, ✗ failed, E error, s skipped, · not run (or not collected under that set)"


@dataclass
class VariantRun:
    """One variant set's acceptance run, as its report recorded it."""

    key: str  # v00, v01, ...
    label: str
    settings: dict[str, str]  # switch -> value, every switch
    exit_code: int  # the child process's
    pytest_exit_code: int | None  # pytest's, from the set's report (None: no report)
    verdict: str  # the criteria verdict of the set's report
    duration_s: float
    report: str  # the set's own report.html, relative to the matrix
    outcomes: dict[str, str] = field(default_factory=dict)  # test label -> outcome
    failures: dict[str, str] = field(default_factory=dict)  # test label -> first line of the failure

    @property
    def passed(self) -> bool:
        """Every test that ran under this set passed (with `-k`, the criteria verdict may still be incomplete)."""
        return self.pytest_exit_code == 0 and not self.failures


@dataclass
class VariantMatrix:
    """A `pa acceptance --variants` run."""

    spec: str
    notes: list[str]
    started_utc: str
    duration_s: float
    source: str
    select: str | None
    runs: list[VariantRun]
    uncovered: list[str]

    def tests(self) -> list[str]:
        """Every test label seen under any set, in order of first appearance."""
        seen: dict[str, None] = {}
        for run in self.runs:
            seen.update(dict.fromkeys(run.outcomes))
        return list(seen)


def run_matrix(
    *, spec: str, out_dir: Path, console: Console, tests_dir: Path | None = None, select: str | None = None
) -> int:
    """Run the acceptance suite once per variant set of `spec`; write the matrix; 0 when every set passed."""
    tests_dir = tests_dir or find_tests_dir()
    chosen = plan(spec, tree=tests_dir)
    _announce(chosen, console)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    runs = []
    for index, variants in enumerate(chosen.sets):
        key = f"v{index:02d}"
        console.rule(f"[bold]{key}[/bold] ({index + 1} of {len(chosen.sets)}): {variants.label}")
        runs.append(_run_one(key, variants, out_dir, tests_dir, select))
    matrix = VariantMatrix(
        spec=spec,
        notes=list(chosen.notes),
        started_utc=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration_s=time.monotonic() - t0,
        source=source_revision(tests_dir),
        select=select,
        runs=runs,
        uncovered=chosen.uncovered,
    )
    write_matrix(matrix, out_dir)
    _summarise(matrix, out_dir, console)
    return 0 if all(run.passed for run in runs) else 1


def _announce(chosen: VariantPlan, console: Console) -> None:
    console.print(f"[bold]acceptance under {len(chosen.sets)} simulator variant set(s)[/bold]")
    for note in chosen.notes:
        console.print(f"  {note}")
    for index, variants in enumerate(chosen.sets):
        console.print(f"  v{index:02d}  {variants.label}")
    if chosen.uncovered:
        console.print(f"  not covered by this run: {', '.join(chosen.uncovered)}")


def _run_one(key: str, variants: Variants, out_dir: Path, tests_dir: Path, select: str | None) -> VariantRun:
    child_dir = out_dir / key
    command = [sys.executable, "-m", "pa_harness.acceptance", "--out", str(child_dir), "--tests", str(tests_dir)]
    if select:
        command += ["--select", select]
    started = time.monotonic()
    # The child's own progress goes straight to this terminal.
    exit_code = subprocess.run(  # noqa: S603 - our own interpreter running our own module
        command, env={**os.environ, VARIANTS_ENV: variants.label}, check=False
    ).returncode
    run = VariantRun(
        key=key,
        label=variants.label,
        settings=variants.as_dict(),
        exit_code=exit_code,
        pytest_exit_code=None,
        verdict="NO REPORT",
        duration_s=time.monotonic() - started,
        report=f"{key}/report.html",
    )
    evidence = child_dir / "evidence.json"
    if evidence.is_file():
        data = json.loads(evidence.read_text(encoding="utf-8"))
        run.verdict = str(data.get("verdict", "NO REPORT"))
        run.pytest_exit_code = int(data["exit_code"]) if isinstance(data.get("exit_code"), int) else None
        for test in data.get("tests", []):
            label = _label(str(test["nodeid"]), str(test["name"]))
            run.outcomes[label] = str(test["outcome"])
            if test["outcome"] in ("failed", "error"):
                run.failures[label] = _first_line(str(test.get("message", "")))
    return run


def _label(nodeid: str, name: str) -> str:
    suffix = nodeid.partition("[")[2]
    return f"{name}[{suffix}" if suffix else name


def _first_line(message: str) -> str:
    line = next((part.strip() for part in message.splitlines() if part.strip()), "")
    return line if len(line) <= 240 else line[:237] + "..."


def coverage(matrix: VariantMatrix) -> list[tuple[str, list[str], list[str]]]:
    """Per switch setting: the sets that used it, and those of them that failed."""
    rows = []
    for name, values in SWITCHES.items():
        for value in values:
            used = [run for run in matrix.runs if run.settings.get(name) == value]
            rows.append((f"{name}={value}", [run.key for run in used], [run.key for run in used if not run.passed]))
    return rows


def write_matrix(matrix: VariantMatrix, out_dir: Path) -> tuple[Path, Path, Path]:
    """Write matrix.md, matrix.html and matrix.json into `out_dir`."""
    paths = (out_dir / "matrix.md", out_dir / "matrix.html", out_dir / "matrix.json")
    paths[0].write_text(render_markdown(matrix), encoding="utf-8")
    paths[1].write_text(render_html(matrix), encoding="utf-8")
    paths[2].write_text(json.dumps(asdict(matrix), indent=1), encoding="utf-8")
    return paths


def _headline(matrix: VariantMatrix) -> str:
    passed = sum(run.passed for run in matrix.runs)
    return f"{passed} of {len(matrix.runs)} variant sets passed every test in {matrix.duration_s:.0f} s"


def render_markdown(matrix: VariantMatrix) -> str:
    """The matrix as Markdown."""
    out = [
        "# PA acceptance under simulator variants",
        "",
        f"**{_headline(matrix)}.** `pa acceptance --variants {matrix.spec}`"
        + (f" -k {matrix.select!r}" if matrix.select else ""),
        "",
        *(f"- {note}" for note in matrix.notes),
        "",
        "## Variant sets",
        "",
        "| set | switches changed from the default | criteria verdict | failed tests | time | report |",
        "|---|---|---|---|---|---|",
    ]
    for run in matrix.runs:
        out.append(
            f"| {run.key} | `{run.label}` | **{run.verdict}** | {len(run.failures)} | {run.duration_s:.0f} s "
            f"| [{run.report}]({run.report}) |"
        )
    out += ["", "## Outcome matrix", "", _LEGEND, ""]
    out.append("| test | " + " | ".join(run.key for run in matrix.runs) + " |")
    out.append("|---|" + "---|" * len(matrix.runs))
    for test in matrix.tests():
        cells = [_CELL.get(run.outcomes.get(test, "not run"), "?") for run in matrix.runs]
        out.append(f"| `{test}` | " + " | ".join(cells) + " |")
    out += ["", "## Failures by variant set", ""]
    failing = [run for run in matrix.runs if run.failures or not run.passed]
    if not failing:
        out.append("None.")
    for run in failing:
        out += [f"### {run.key} `{run.label}`: {len(run.failures)} failed", ""]
        out.extend(f"- `{test}`: {message}" for test, message in run.failures.items())
        if not run.failures:
            out.append(f"- no test failed, but pytest exited with {run.pytest_exit_code} (see {run.key}/pytest.log)")
        out.append("")
    out += ["## Coverage of switch settings", "", "| setting | used by | failed under |", "|---|---|---|"]
    for setting, used, failed in coverage(matrix):
        out.append(f"| `{setting}` | {', '.join(used) or 'not covered'} | {', '.join(failed) or '-'} |")
    out += [
        "",
        "## Run",
        "",
        f"- started (UTC): {matrix.started_utc}",
        f"- source: {matrix.source or '-'}",
        f"- each set's own report: `vNN/report.html` (`{VARIANTS_ENV}` was set to the set's label)",
    ]
    return "\n".join(out) + "\n"


def render_html(matrix: VariantMatrix) -> str:
    """The matrix as one self-contained HTML page."""
    h = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>PA acceptance under simulator variants</title><style>{_CSS}"
        "td.c{text-align:center}td.passed{background:#e8f5e9}td.failed,td.error{background:#ffebee}"
        "</style></head><body>",
        "<h1>PA acceptance under simulator variants</h1>",
        f"<p>{escape(_headline(matrix))}. <code>pa acceptance --variants {escape(matrix.spec)}</code></p>",
        "<ul>" + "".join(f"<li>{escape(note)}</li>" for note in matrix.notes) + "</ul>",
        "<h2>Variant sets</h2><table><tr><th>set</th><th>switches changed from the default</th><th>verdict</th>"
        "<th>failed tests</th><th>time</th></tr>",
    ]
    for run in matrix.runs:
        h.append(
            f'<tr><td><a href="{escape(run.report)}">{run.key}</a></td><td><code>{escape(run.label)}</code></td>'
            f"<td>{_badge(run.verdict)}</td><td>{len(run.failures)}</td><td>{run.duration_s:.0f} s</td></tr>"
        )
    h.append(f"</table><h2>Outcome matrix</h2><p>{escape(_LEGEND)}</p><table><tr><th>test</th>")
    h.extend(f'<th title="{escape(run.label)}">{run.key}</th>' for run in matrix.runs)
    h.append("</tr>")
    for test in matrix.tests():
        h.append(f"<tr><td><code>{escape(test)}</code></td>")
        for run in matrix.runs:
            outcome = run.outcomes.get(test, "not run")
            tip = escape(run.failures.get(test, outcome))
            h.append(f'<td class="c {outcome.replace(" ", "-")}" title="{tip}">{_CELL.get(outcome, "?")}</td>')
        h.append("</tr>")
    h.append("</table><h2>Failures by variant set</h2>")
    for run in matrix.runs:
        if run.failures:
            h.append(f"<h3>{run.key} <code>{escape(run.label)}</code></h3><ul>")
            h.extend(
                f"<li><code>{escape(test)}</code>: {escape(message)}</li>" for test, message in run.failures.items()
            )
            h.append("</ul>")
    h.append(
        "<h2>Coverage of switch settings</h2><table><tr><th>setting</th><th>used by</th><th>failed under</th></tr>"
    )
    for setting, used, failed in coverage(matrix):
        h.append(
            f"<tr><td><code>{escape(setting)}</code></td><td>{escape(', '.join(used) or 'not covered')}</td>"
            f"<td>{escape(', '.join(failed) or '-')}</td></tr>"
        )
    h.append(f'</table><p class="docs">started {escape(matrix.started_utc)}; source {escape(matrix.source or "-")}</p>')
    h.append("</body></html>")
    return "\n".join(h)


def _summarise(matrix: VariantMatrix, out_dir: Path, console: Console) -> None:
    table = Table(title=f"acceptance under variants: {_headline(matrix)}", title_justify="left")
    table.add_column("set")
    table.add_column("variants")
    table.add_column("verdict")
    table.add_column("failed")
    for run in matrix.runs:
        colour = "green" if run.passed else "red"
        table.add_row(run.key, run.label, f"[{colour}]{run.verdict}[/{colour}]", str(len(run.failures)))
    console.print(table)
    for note in matrix.notes:
        console.print(note)
    console.print(f"matrix: {out_dir / 'matrix.html'}  (and matrix.md, matrix.json; each set's report in vNN/)")
