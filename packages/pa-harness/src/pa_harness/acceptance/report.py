"""The acceptance report: each §7.4 criterion and bullet, pass/fail, the tests behind it and their evidence.

Written twice from the same judgement: `report.md` (for a diff or a PR) and `report.html` (self-contained:
inline CSS and SVG, no script, nothing fetched), plus `evidence.json` with every recorded number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from html import escape
from pathlib import Path

from pa_harness.acceptance.criteria import BACKPRESSURE_TEST, CRITERIA, Bullet, Criterion
from pa_harness.acceptance.evidence import HealthChange, RunEvidence, TestEvidence
from pa_harness.acceptance.plot import backpressure_svg

PASS, FAIL, INCOMPLETE, NOT_RUN = "PASS", "FAIL", "INCOMPLETE", "NOT RUN"
_HEALTH_SHOWN = 10
_INTENTS_SHOWN = 6


@dataclass
class AcceptanceRun:
    """One `pa acceptance` run: every test's evidence and the run's context."""

    tests: list[TestEvidence]
    started_utc: str
    duration_s: float
    exit_code: int
    versions: dict[str, str] = field(default_factory=dict)
    select: str | None = None
    command: str = "pa acceptance"
    source: str = ""  # git commit of the tree that was tested, when known
    variants: str = "default"  # the simulator variant set (tradovate_sim.variants label)

    @property
    def seeds(self) -> list[int]:
        """Every simulator seed the tests used."""
        return sorted({seed for test in self.tests for seed in test.sim_seeds})


@dataclass(frozen=True)
class BulletResult:
    """A bullet and the verdict of its tests."""

    bullet: Bullet
    status: str
    tests: tuple[TestEvidence, ...]


@dataclass(frozen=True)
class CriterionResult:
    """A criterion and the verdict of its bullets."""

    criterion: Criterion
    status: str
    bullets: tuple[BulletResult, ...]


def judge(run: AcceptanceRun) -> list[CriterionResult]:
    """Each criterion's and bullet's verdict from the tests' outcomes."""
    results = []
    for criterion in CRITERIA:
        bullets = tuple(_judge_bullet(bullet, run.tests) for bullet in criterion.bullets)
        results.append(CriterionResult(criterion, _combine([b.status for b in bullets]), bullets))
    return results


def _judge_bullet(bullet: Bullet, tests: Sequence[TestEvidence]) -> BulletResult:
    mine = tuple(t for t in tests if bullet.covers(t.name))
    ran = [t for t in mine if t.outcome not in ("not run", "skipped")]
    if any(t.outcome in ("failed", "error") for t in mine):
        status = FAIL
    elif not ran:
        status = NOT_RUN
    elif missing_patterns(bullet, ran) or len(ran) != len(mine):
        status = INCOMPLETE
    else:
        status = PASS
    return BulletResult(bullet, status, mine)


def missing_patterns(bullet: Bullet, tests: Sequence[TestEvidence]) -> list[str]:
    """The bullet's test patterns that match none of `tests`."""
    return [p for p in bullet.tests if not any(fnmatchcase(t.name, p) for t in tests)]


def _combine(statuses: Sequence[str]) -> str:
    if FAIL in statuses:
        return FAIL
    if all(s == PASS for s in statuses):
        return PASS
    if all(s == NOT_RUN for s in statuses):
        return NOT_RUN
    return INCOMPLETE


def overall(run: AcceptanceRun, results: Sequence[CriterionResult]) -> str:
    """PASS only when every criterion passed and pytest itself exited cleanly."""
    status = _combine([r.status for r in results])
    if status == PASS and run.exit_code != 0:
        return FAIL
    return status


def unmapped_tests(run: AcceptanceRun) -> list[TestEvidence]:
    """Tests that ran but prove no bullet (they still count towards pytest's exit code)."""
    bullets = [bullet for criterion in CRITERIA for bullet in criterion.bullets]
    return [t for t in run.tests if not any(bullet.covers(t.name) for bullet in bullets)]


# -- evidence in words ----------------------------------------------------------------------------------


def health_line(changes: Sequence[HealthChange], limit: int = _HEALTH_SHOWN, *, timed: bool | None = None) -> str:
    """The health signals OE received, as a chain of transitions (with PA-clock times when the clock moved)."""
    if timed is None:
        timed = any(change.t_s for change in changes)
    items = []
    for change in changes[:limit]:
        reasons = f"[{', '.join(change.reasons)}]" if change.reasons else ""
        halt = " halt" if change.halt else ""
        items.append(f"{change.state}{reasons}{halt}{f' @{change.t_s:.1f}s' if timed else ''}")
    more = f" ... (+{len(changes) - limit} more)" if len(changes) > limit else ""
    return " -> ".join(items) + more


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value:,}" for key, value in sorted(counts.items()))


def run_lines(run: RunEvidence) -> list[str]:
    """What one PA run did, in a few lines of numbers."""
    lines = []
    if run.health:
        truncated = " (oldest signals beyond the PA's history not shown)" if run.health_truncated else ""
        lines.append(f"health published to OE: {health_line(run.health)}{truncated}")
    if run.sockets:
        lines.append(
            "sockets: "
            + "; ".join(
                f"{role} epoch {s['epoch']} ({s['reconnects']} reconnects, {s['frames']:,} frames)"
                for role, s in sorted(run.sockets.items())
            )
        )
    lines.append(
        f"facts: {run.facts_received:,} built, {run.facts_delivered:,} delivered to U"
        + (f" ({_counts(run.by_kind)})" if run.by_kind else "")
    )
    if run.by_stream:
        lines.append(f"by stream: {_counts(run.by_stream)}")
    if run.gaps or run.backfill_by_stream:
        backfill = f"; facts marked backfill: {_counts(run.backfill_by_stream)}" if run.backfill_by_stream else ""
        lines.append(f"gap facts: {run.gaps}{backfill}")
    if run.undecodable:
        lines.append(f"undecodable messages forwarded raw: {run.undecodable}")
    if run.high_watermark_crossings or run.telemetry_shed or run.reader_pauses:
        lines.append(
            f"outbox: capacity {run.capacity:,}, watermarks low {run.low_watermark:,} / high {run.high_watermark:,}; "
            f"peak depth {run.peak_depth:,}; escalated at depth {run.escalation_depth} "
            f"({run.high_watermark_crossings} crossing(s)); reader pauses {run.reader_pauses}; telemetry "
            f"{run.telemetry_received:,} queued, {run.telemetry_shed:,} shed, {run.telemetry_delivered:,} emitted"
        )
    else:
        lines.append(f"outbox: peak depth {run.peak_depth:,} of capacity {run.capacity:,}")
    if run.penalties or run.lockouts:
        lines.append(f"penalty tickets {run.penalties}; lock-outs {run.lockouts}")
    if run.intents:
        shown = [
            f"{i.what} -> {i.status}{f' ({i.reason})' if i.reason else ''}"
            f"{f' [{i.platform_ids}]' if i.platform_ids else ''} {i.latency_ms:.1f} ms"
            for i in run.intents[:_INTENTS_SHOWN]
        ]
        more = f"; ... (+{len(run.intents) - _INTENTS_SHOWN} more)" if len(run.intents) > _INTENTS_SHOWN else ""
        lines.append("intents: " + "; ".join(shown) + more)
    for intent_id, detail in run.resolved:
        lines.append(f"unknown outcome of {intent_id} resolved by platform facts: {detail}")
    return lines


def test_lines(test: TestEvidence) -> list[str]:
    """A test's evidence: one block per PA run it made."""
    lines: list[str] = []
    for index, run in enumerate(test.runs, start=1):
        prefix = f"PA run {index}: " if len(test.runs) > 1 else ""
        lines.extend(prefix + line for line in run_lines(run))
    if not test.runs and test.outcome == "passed":
        lines.append("no PA run: a static check of the code")
    if test.message:
        lines.append(f"failure: {test.message}")
    return lines


def backpressure_evidence(run: AcceptanceRun) -> tuple[TestEvidence, RunEvidence] | None:
    """The backpressure test's PA run, for the plot."""
    for test in run.tests:
        if test.name == BACKPRESSURE_TEST and test.runs:
            return test, max(test.runs, key=lambda r: len(r.samples))
    return None


# -- writers ----------------------------------------------------------------------------------------------


def write_report(run: AcceptanceRun, out_dir: Path, *, docs_root: Path | None = None) -> tuple[Path, Path]:
    """Write report.md, report.html and evidence.json into `out_dir`; returns (md, html)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = judge(run)
    md_path = out_dir / "report.md"
    html_path = out_dir / "report.html"
    md_path.write_text(render_markdown(run, results), encoding="utf-8")
    html_path.write_text(render_html(run, results, docs_root=docs_root, out_dir=out_dir), encoding="utf-8")
    (out_dir / "evidence.json").write_text(
        json.dumps(
            {
                "started_utc": run.started_utc,
                "duration_s": run.duration_s,
                "exit_code": run.exit_code,
                "select": run.select,
                "source": run.source,
                "variants": run.variants,
                "seeds": run.seeds,
                "versions": run.versions,
                "verdict": overall(run, results),
                "criteria": {
                    r.criterion.letter: {b.bullet.key: b.status for b in r.bullets} | {"status": r.status}
                    for r in results
                },
                "tests": [asdict(t) for t in run.tests],
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return md_path, html_path


def _summary(run: AcceptanceRun, results: Sequence[CriterionResult]) -> str:
    passed = sum(1 for t in run.tests if t.outcome == "passed")
    bullets = [b for r in results for b in r.bullets]
    bullets_passed = sum(1 for b in bullets if b.status == PASS)
    return (
        f"{passed} of {len(run.tests)} tests passed in {run.duration_s:.1f} s; "
        f"{bullets_passed} of {len(bullets)} criteria bullets pass"
    )


def _context_rows(run: AcceptanceRun) -> list[tuple[str, str]]:
    rows = [
        ("started (UTC)", run.started_utc),
        ("command", run.command),
        ("selection", run.select or "all acceptance tests"),
        ("simulator seed(s)", ", ".join(str(s) for s in run.seeds) or "-"),
        ("simulator variants", run.variants),
        ("pytest exit code", str(run.exit_code)),
    ]
    if run.source:
        rows.append(("source", run.source))
    rows.extend(run.versions.items())
    return rows


def render_markdown(run: AcceptanceRun, results: Sequence[CriterionResult]) -> str:
    """The report as Markdown."""
    out = [
        "# PA acceptance report (spec §7.4 A-E)",
        "",
        f"**Result: {overall(run, results)}** - {_summary(run, results)}.",
        "",
        "Every test ran against the built-in Tradovate simulator over real sockets on 127.0.0.1, with the PA on a "
        "manual clock (no sleeps); the evidence below is read from the PA's own counters and the health signals "
        "it published to OE.",
        "",
        "| criterion | bullets passed | status |",
        "|---|---|---|",
    ]
    for result in results:
        passed = sum(1 for b in result.bullets if b.status == PASS)
        out.append(
            f"| {result.criterion.letter}) {result.criterion.title} | {passed}/{len(result.bullets)} | **{result.status}** |"
        )
    shown: dict[str, str] = {}  # nodeid -> the bullet whose evidence list already shows it
    for result in results:
        out += ["", f"## {result.criterion.letter}) {result.criterion.title} - {result.status}"]
        for bullet in result.bullets:
            out += ["", f"### {bullet.bullet.key}. {bullet.bullet.text} - {bullet.status}", "", bullet.bullet.shows]
            if bullet.bullet.docs:
                out += ["", "Documented in: " + ", ".join(f"`{d}`" for d in bullet.bullet.docs)]
            out += ["", "| test | outcome | time |", "|---|---|---|"]
            for test in bullet.tests:
                out.append(f"| `{_test_label(test)}` | {test.outcome} | {test.duration_s:.2f} s |")
            missing = missing_patterns(bullet.bullet, bullet.tests)
            out.extend(f"| `{name}` | not collected | - |" for name in missing)
            out += ["", "Evidence:", ""]
            for test in bullet.tests:
                if test.nodeid in shown:
                    out.append(f"- `{_test_label(test)}`: see {shown[test.nodeid]} above")
                    continue
                shown[test.nodeid] = bullet.bullet.key
                out.append(f"- `{_test_label(test)}`")
                out.extend(f"  - {line}" for line in test_lines(test))
        if result.criterion.letter == "E":
            found = backpressure_evidence(run)
            if found is not None:
                out += ["", f"The HTML report plots outbox depth and fact rate across `{found[0].name}`."]
    extra = unmapped_tests(run)
    if extra:
        out += ["", "## Other tests in the acceptance files", "", "| test | outcome | time |", "|---|---|---|"]
        out.extend(f"| `{_test_label(t)}` | {t.outcome} | {t.duration_s:.2f} s |" for t in extra)
    out += ["", "## Run", "", "| | |", "|---|---|"]
    out.extend(f"| {key} | {value} |" for key, value in _context_rows(run))
    return "\n".join(out) + "\n"


def _test_label(test: TestEvidence) -> str:
    suffix = test.nodeid.partition("[")[2]
    return f"{test.name}[{suffix}" if suffix else test.name


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;color:#1d1d1f;
line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #ddd;padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.4rem 0 .3rem}
.badge{display:inline-block;padding:.05rem .55rem;border-radius:.8rem;font-weight:700;font-size:.85em;color:#fff}
.PASS{background:#2e7d32}.FAIL{background:#c62828}.INCOMPLETE{background:#ef6c00}.NOT-RUN{background:#757575}
table{border-collapse:collapse;margin:.4rem 0 .8rem;font-size:.9rem}
td,th{border:1px solid #ddd;padding:.25rem .55rem;text-align:left;vertical-align:top}th{background:#f4f4f6}
code{font-family:SFMono-Regular,Consolas,Menlo,monospace;font-size:.85em;background:#f4f4f6;padding:0 .2rem;
border-radius:3px}
ul.evidence{margin:.2rem 0 .6rem;padding-left:1.2rem;font-size:.88rem}ul.evidence li{margin:.1rem 0}
.shows{margin:.2rem 0 .4rem}.docs{font-size:.88rem;color:#555}
details{margin:.3rem 0 .8rem}summary{cursor:pointer;color:#1f5fa8}
.passed{color:#2e7d32;font-weight:600}.failed,.error{color:#c62828;font-weight:600}
.skipped,.not-run{color:#757575}.figure{border:1px solid #ddd;padding:.5rem;margin:.6rem 0}
.lead{color:#444}
"""


def _badge(status: str) -> str:
    return f'<span class="badge {status.replace(" ", "-")}">{escape(status)}</span>'


def _doc_link(doc: str, docs_root: Path | None, out_dir: Path) -> str:
    if docs_root is not None and (docs_root / doc).is_file():
        target = (docs_root / doc).resolve()
        try:
            href = Path(*[".."] * len(out_dir.resolve().relative_to(docs_root.resolve()).parts), doc).as_posix()
        except ValueError:
            href = target.as_uri()
        return f'<a href="{escape(href)}"><code>{escape(doc)}</code></a>'
    return f"<code>{escape(doc)}</code>"


def _inline_code(text: str) -> str:
    """Escape `text` and turn its `backticked` spans into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _ul(lines: Iterable[str]) -> str:
    return '<ul class="evidence">' + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"


def render_html(
    run: AcceptanceRun, results: Sequence[CriterionResult], *, docs_root: Path | None = None, out_dir: Path
) -> str:
    """The report as one self-contained HTML page."""
    verdict = overall(run, results)
    h: list[str] = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>PA acceptance report - {escape(verdict)}</title><style>{_CSS}</style></head><body>",
        "<h1>PA acceptance report <small>(spec §7.4 A-E)</small></h1>",
        f"<p>{_badge(verdict)} {escape(_summary(run, results))}.</p>",
        '<p class="lead">Every test ran against the built-in Tradovate simulator over real sockets on 127.0.0.1, '
        "with the PA on a manual clock (no sleeps). The evidence is read from the PA's own counters and from the "
        "health signals it published to OE.</p>",
        "<table><tr><th>criterion</th><th>bullets passed</th><th>status</th></tr>",
    ]
    for result in results:
        passed = sum(1 for b in result.bullets if b.status == PASS)
        h.append(
            f'<tr><td><a href="#{result.criterion.letter}">{result.criterion.letter}) '
            f"{escape(result.criterion.title)}</a></td><td>{passed}/{len(result.bullets)}</td>"
            f"<td>{_badge(result.status)}</td></tr>"
        )
    h.append("</table>")
    shown: dict[str, str] = {}  # nodeid -> the bullet whose evidence list already shows it
    for result in results:
        letter = result.criterion.letter
        h.append(f'<h2 id="{letter}">{letter}) {escape(result.criterion.title)} {_badge(result.status)}</h2>')
        for bullet in result.bullets:
            h.append(
                f'<h3 id="{bullet.bullet.key}">{bullet.bullet.key}. {escape(bullet.bullet.text)} {_badge(bullet.status)}</h3>'
            )
            h.append(f'<p class="shows">{_inline_code(bullet.bullet.shows)}</p>')
            if bullet.bullet.docs:
                links = ", ".join(_doc_link(d, docs_root, out_dir) for d in bullet.bullet.docs)
                h.append(f'<p class="docs">Documented in: {links}</p>')
            h.append("<table><tr><th>test</th><th>outcome</th><th>time</th></tr>")
            for test in bullet.tests:
                h.append(
                    f"<tr><td><code>{escape(_test_label(test))}</code></td>"
                    f'<td class="{test.outcome.replace(" ", "-")}">{escape(test.outcome)}</td>'
                    f"<td>{test.duration_s:.2f} s</td></tr>"
                )
            for name in missing_patterns(bullet.bullet, bullet.tests):
                h.append(
                    f'<tr><td><code>{escape(name)}</code></td><td class="not-run">not collected</td><td>-</td></tr>'
                )
            h.append("</table>")
            for test in bullet.tests:
                if test.nodeid in shown:
                    key = shown[test.nodeid]
                    h.append(
                        f'<p class="docs">evidence: <code>{escape(_test_label(test))}</code> - see '
                        f'<a href="#{key}">{key}</a> above</p>'
                    )
                    continue
                shown[test.nodeid] = bullet.bullet.key
                lines = test_lines(test)
                h.append(
                    f"<details open><summary>evidence: <code>{escape(_test_label(test))}</code></summary>{_ul(lines)}"
                )
                for index, pa_run in enumerate(test.runs, start=1):
                    if len(pa_run.health) > _HEALTH_SHOWN:
                        h.append(
                            f"<details><summary>all {len(pa_run.health)} health transitions"
                            f"{f' of PA run {index}' if len(test.runs) > 1 else ''}</summary>"
                            + _ul(
                                health_line([c], 1, timed=True) + (f" - {c.detail}" if c.detail else "")
                                for c in pa_run.health
                            )
                            + "</details>"
                        )
                h.append("</details>")
        if letter == "E":
            h.append(_backpressure_figure(run))
    extra = unmapped_tests(run)
    if extra:
        h.append(
            "<h2>Other tests in the acceptance files</h2><table><tr><th>test</th><th>outcome</th><th>time</th></tr>"
        )
        h.extend(
            f'<tr><td><code>{escape(_test_label(t))}</code></td><td class="{t.outcome.replace(" ", "-")}">'
            f"{escape(t.outcome)}</td><td>{t.duration_s:.2f} s</td></tr>"
            for t in extra
        )
        h.append("</table>")
    h.append("<h2>Run</h2><table>")
    h.extend(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in _context_rows(run))
    h.append("</table>")
    h.append(
        '<p class="docs">Also written: <code>report.md</code>, <code>evidence.json</code> (every recorded number), '
        "<code>junit.xml</code> and <code>pytest.log</code> next to this file.</p></body></html>"
    )
    return "\n".join(h)


def _backpressure_figure(run: AcceptanceRun) -> str:
    found = backpressure_evidence(run)
    if found is None:
        return '<p class="docs">The backpressure test did not run: no plot.</p>'
    test, pa_run = found
    svg = backpressure_svg(
        pa_run.samples,
        capacity=pa_run.capacity,
        high=pa_run.high_watermark,
        low=pa_run.low_watermark,
        title=f"{test.name}: outbox depth and fact rate",
    )
    return (
        f'<div class="figure">{svg}<p class="docs">{len(pa_run.samples)} samples of the outbox (every few ms of '
        "wall time). U is stalled, the market keeps moving: depth climbs, the PA escalates at the high watermark "
        "(red band: halt_required published to OE), readers pause at capacity (depth flat while the platform "
        "keeps sending), then U resumes, every fact is delivered and health returns to PA_UP. A band at the very "
        "start is the PA connecting (also a halt until it is up).</p></div>"
    )
