"""The acceptance report lists every §7.4 criterion A-E and bullet with its verdict, tests and evidence."""

from __future__ import annotations

import re
from pathlib import Path

from pa_harness.acceptance import CRITERIA, AcceptanceRun, judge, write_report
from pa_harness.acceptance.criteria import BACKPRESSURE_TEST
from pa_harness.acceptance.evidence import HealthChange, IntentEvidence, RunEvidence, Sample, TestEvidence
from pa_harness.acceptance.report import FAIL, INCOMPLETE, NOT_RUN, PASS, overall


def run_evidence(**fields: object) -> RunEvidence:
    values: dict[str, object] = {
        "health": [
            HealthChange(0.0, "PA_DEGRADED", ["connecting"], True, "the PA is starting"),
            HealthChange(0.1, "PA_UP", [], False, ""),
        ],
        "sockets": {
            "md": {"epoch": 2, "reconnects": 1, "frames": 300},
            "trading": {"epoch": 1, "reconnects": 0, "frames": 9},
        },
        "facts_received": 415,
        "facts_delivered": 415,
        "by_kind": {"market": 300, "platform_event": 100, "gap": 15},
        "gaps": 15,
        "capacity": 100_000,
        "intents": [IntentEvidence("i-1", "submit Market Buy 1 ESZ6", "accepted", "", "order 41000001", 2.5)],
    }
    values.update(fields)
    return RunEvidence(**values)  # type: ignore[arg-type]


def backpressure_run() -> RunEvidence:
    samples = [
        Sample(
            t_ms=i * 5.0,
            received=i * 40,
            delivered=min(i * 40, 50),
            depth=max(0, min(i * 40 - 50, 450)),
            state="PA_UP",
            halt=False,
        )
        for i in range(40)
    ]
    for sample in samples[6:30]:
        sample.halt, sample.state = True, "PA_DEGRADED"
    return run_evidence(
        samples=samples,
        capacity=400,
        low_watermark=80,
        high_watermark=200,
        peak_depth=450,
        escalation_depth=200,
        high_watermark_crossings=1,
        reader_pauses=1,
        telemetry_received=42,
        telemetry_shed=41,
    )


def every_test(outcome: str = "passed") -> list[TestEvidence]:
    names = sorted({pattern.replace("*", "x") for c in CRITERIA for b in c.bullets for pattern in b.tests})
    tests = []
    for name in names:
        runs = [backpressure_run()] if name == BACKPRESSURE_TEST else [run_evidence()]
        tests.append(
            TestEvidence(f"tests/integration/t.py::{name}", name, "t.py", outcome, 0.25, runs=runs, sim_seeds=[7])
        )
    return tests


def acceptance_run(tests: list[TestEvidence], exit_code: int = 0) -> AcceptanceRun:
    return AcceptanceRun(
        tests=tests,
        started_utc="2026-01-01T00:00:00Z",
        duration_s=9.5,
        exit_code=exit_code,
        versions={"PA (platform-adapter)": "0.1.0", "Python": "3.11.7", "aiohttp": "3.14.5"},
        source="abc1234",
    )


def test_the_report_lists_criteria_a_to_e_with_every_bullet_its_tests_and_evidence(tmp_path: Path) -> None:
    run = acceptance_run(every_test())
    md_path, html_path = write_report(run, tmp_path)
    md = md_path.read_text()
    assert "**Result: PASS**" in md
    for criterion in CRITERIA:
        assert f"## {criterion.letter}) {criterion.title} - PASS" in md
        for bullet in criterion.bullets:
            assert f"### {bullet.key}. {bullet.text} - PASS" in md
    assert md.count("health published to OE: PA_DEGRADED[connecting] halt @0.0s -> PA_UP @0.1s") >= len(run.tests)
    assert "intents: submit Market Buy 1 ESZ6 -> accepted [order 41000001] 2.5 ms" in md
    assert "escalated at depth 200 (1 crossing(s)); reader pauses 1; telemetry 42 queued, 41 shed" in md
    assert "| simulator seed(s) | 7 |" in md
    assert "| Python | 3.11.7 |" in md
    html = html_path.read_text()
    for criterion in CRITERIA:
        assert f'<h2 id="{criterion.letter}">' in html
    assert (tmp_path / "evidence.json").is_file()


def test_the_html_report_is_self_contained_with_an_inline_backpressure_plot(tmp_path: Path) -> None:
    _, html_path = write_report(acceptance_run(every_test()), tmp_path)
    html = html_path.read_text()
    assert html.count("<svg") == 1
    assert "outbox depth" in html and "high watermark 200" in html and "capacity 400" in html
    assert "<polyline" in html
    assert "<script" not in html.lower()
    external = [url for url in re.findall(r"https?://[^\"' <>]+", html) if url != "http://www.w3.org/2000/svg"]
    assert external == []  # nothing fetched: it opens offline
    assert not re.search(r"""(src|href)=["'](https?:|//)""", html)


def test_a_failed_test_fails_its_bullets_its_criterion_and_the_run(tmp_path: Path) -> None:
    tests = every_test()
    failed = next(t for t in tests if t.name == BACKPRESSURE_TEST)
    failed.outcome, failed.message = "failed", "AssertionError: a fact was dropped"
    run = acceptance_run(tests, exit_code=1)
    results = judge(run)
    e = next(r for r in results if r.criterion.letter == "E")
    assert e.status == FAIL and {b.status for b in e.bullets} == {FAIL}
    assert next(r for r in results if r.criterion.letter == "A").status == PASS
    assert overall(run, results) == FAIL
    md_path, _ = write_report(run, tmp_path)
    assert "failure: AssertionError: a fact was dropped" in md_path.read_text()


def test_a_renamed_or_deselected_test_is_never_a_pass(tmp_path: Path) -> None:
    tests = [t for t in every_test() if "penalty_ticket_on_login" not in t.name]  # as if renamed
    results = judge(acceptance_run(tests))
    a1 = next(b for r in results for b in r.bullets if b.bullet.key == "A1")
    assert a1.status == INCOMPLETE
    only_e = [t for t in every_test() if t.name == BACKPRESSURE_TEST]
    results = judge(acceptance_run(only_e))
    assert {r.criterion.letter: r.status for r in results} == {
        "A": NOT_RUN,
        "B": NOT_RUN,
        "C": NOT_RUN,
        "D": NOT_RUN,
        "E": PASS,
    }
    assert overall(acceptance_run(only_e), results) == INCOMPLETE
    md_path, _ = write_report(acceptance_run(only_e), tmp_path)
    assert "| not collected |" in md_path.read_text()


def test_a_green_pytest_exit_is_required_for_a_pass() -> None:
    run = acceptance_run(every_test(), exit_code=1)  # e.g. a test outside the criteria failed
    assert overall(run, judge(run)) == FAIL
