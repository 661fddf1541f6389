"""The pytest plugin `pa acceptance` runs the acceptance tests with: outcome, duration and evidence per test."""

from __future__ import annotations

from typing import Any

import pytest

from pa_harness.acceptance.evidence import EvidenceRecorder, ProgressCallback, TestEvidence


class AcceptancePlugin:
    """Records each collected test's outcome and duration, and points the recorder at the running test."""

    def __init__(self, recorder: EvidenceRecorder, on_test_done: ProgressCallback | None = None) -> None:
        self.recorder = recorder
        self.tests: dict[str, TestEvidence] = {}
        self.total = 0
        self.done = 0
        self._on_test_done = on_test_done

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Note every test that will run, in order."""
        for item in session.items:
            name = getattr(item, "originalname", None) or item.name
            self.tests[item.nodeid] = TestEvidence(nodeid=item.nodeid, name=name, file=item.path.name)
        self.total = len(session.items)

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        """A test starts: its PA runs are recorded against it."""
        self.recorder.current = self.tests.get(nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold the setup / call / teardown reports into one outcome."""
        evidence = self.tests.get(report.nodeid)
        if evidence is None:
            return
        evidence.duration_s += report.duration
        if report.when == "call":
            evidence.outcome = "passed" if report.passed else ("skipped" if report.skipped else "failed")
        elif report.failed:
            evidence.outcome = "error"
        elif report.skipped:
            evidence.outcome = "skipped"
        if report.failed and not evidence.message:
            evidence.message = _failure_message(report)

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        """A test is over (teardown included)."""
        self.recorder.current = None
        evidence = self.tests.get(nodeid)
        self.done += 1
        if evidence is not None and self._on_test_done is not None:
            self._on_test_done(evidence, self.done, self.total)


def _failure_message(report: pytest.TestReport) -> str:
    crash: Any = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message)[:2000]
    return report.longreprtext[-2000:]
