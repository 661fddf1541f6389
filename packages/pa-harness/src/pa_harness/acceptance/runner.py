"""`pa acceptance`: run the spec's acceptance tests (A-E) against the simulator and write the report.

The tests are the project's own acceptance tests (tests/integration), run by pytest in this process with
`AcceptancePlugin` (outcome and duration per test) and `EvidenceRecorder` (what each PA run did). Running
the real tests rather than a second copy of their scenarios means the report can never drift from what
`pytest` proves. pytest's own output goes to `pytest.log`; the terminal shows a progress bar.
"""

from __future__ import annotations

import contextlib
import platform as host
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pa_harness.acceptance.criteria import TEST_FILES
from pa_harness.acceptance.evidence import EvidenceRecorder, TestEvidence
from pa_harness.acceptance.report import PASS, AcceptanceRun, judge, overall, write_report
from pa_harness.acceptance.variants import from_environment
from platform_adapter import __version__

_LIBRARIES = (
    "aiohttp",
    "msgspec",
    "pydantic",
    "pydantic-settings",
    "structlog",
    "prometheus-client",
    "rich",
    "typer",
    "pytest",
    "pytest-asyncio",
)
_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}


class AcceptanceSetupError(RuntimeError):
    """The acceptance tests cannot be run from here (no test files, no pytest)."""


def find_tests_dir(start: Path | None = None) -> Path:
    """tests/integration of the source tree: from the working directory upwards, else next to the package."""
    candidates: list[Path] = []
    here = (start or Path.cwd()).resolve()
    candidates.extend(parent / "tests" / "integration" for parent in (here, *here.parents))
    candidates.append(Path(__file__).resolve().parents[5] / "tests" / "integration")
    for candidate in candidates:
        if all((candidate / name).is_file() for name in TEST_FILES):
            return candidate
    raise AcceptanceSetupError(
        "cannot find the acceptance tests (tests/integration/test_*.py): run from the source tree, or pass --tests"
    )


def versions() -> dict[str, str]:
    """The versions the report names: the PA, Python, the platform, and the key libraries."""
    found = {"PA (platform-adapter)": __version__, "Python": sys.version.split()[0], "platform": host.platform()}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def source_revision(tree: Path) -> str:
    """`<commit> (+N uncommitted changes)` of the git tree holding the tests, or '' outside git."""
    git = shutil.which("git")
    if git is None:
        return ""
    try:
        commit = subprocess.run(  # noqa: S603 - a fixed git command on our own tree
            [git, "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(  # noqa: S603 - as above
            [git, "status", "--porcelain", "--untracked-files=no"],
            cwd=tree,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    changed = len(status.splitlines())
    return f"{commit} (+{changed} uncommitted changes)" if changed else commit


def run_acceptance(*, out_dir: Path, console: Console, tests_dir: Path | None = None, select: str | None = None) -> int:
    """Run the acceptance tests, write the report into `out_dir`; 0 when every criterion passed."""
    try:
        import pytest

        from pa_harness.acceptance.plugin import AcceptancePlugin
    except ImportError as exc:  # pytest is a dev dependency
        raise AcceptanceSetupError(
            f"pytest is needed to run the acceptance tests ({exc}); install the dev extra"
        ) from exc
    tests_dir = tests_dir or find_tests_dir()
    variants = from_environment().label  # what the harness's simulators will follow (PA_SIM_VARIANTS)
    files = [tests_dir / name for name in TEST_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise AcceptanceSetupError(f"missing acceptance test files: {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        *(str(f) for f in files),
        "-p",
        "no:cacheprovider",
        "--capture=sys",  # the progress bar writes to the real terminal while tests run
        f"--junitxml={out_dir / 'junit.xml'}",
    ]
    if select:
        args += ["-k", select]
    started = datetime.now(UTC)
    t0 = time.monotonic()
    recorder = EvidenceRecorder()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]acceptance[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as progress:
        task = progress.add_task("collecting", total=None)

        def done(test: TestEvidence, count: int, total: int) -> None:
            progress.update(task, completed=count, total=total, description=test.name[:60])
            style = _STYLE.get(test.outcome, "")
            label = test.nodeid.rpartition("::")[2]
            progress.console.print(
                f"  [{style}]{test.outcome:<7}[/{style}] {escape(label)}  [dim]{test.duration_s:.2f} s[/dim]",
                overflow="fold",
            )

        plugin = AcceptancePlugin(recorder, on_test_done=done)
        with (
            open(out_dir / "pytest.log", "w", encoding="utf-8") as log,
            contextlib.redirect_stdout(log),
            contextlib.redirect_stderr(log),
            recorder.instrument(),
        ):
            exit_code = int(pytest.main(args, plugins=[plugin]))
    run = AcceptanceRun(
        tests=list(plugin.tests.values()),
        started_utc=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration_s=time.monotonic() - t0,
        exit_code=exit_code,
        versions=versions(),
        select=select,
        command="pa acceptance" + (f" -k {select!r}" if select else ""),
        source=source_revision(tests_dir),
        variants=variants,
    )
    md_path, html_path = write_report(run, out_dir, docs_root=tests_dir.parent.parent)
    results = judge(run)
    verdict = overall(run, results)
    table = Table(title=f"acceptance (spec §7.4): {verdict}", title_justify="left")
    table.add_column("criterion")
    table.add_column("bullets")
    table.add_column("status")
    for result in results:
        colour = "green" if result.status == PASS else ("red" if result.status == "FAIL" else "yellow")
        table.add_row(
            f"{result.criterion.letter}) {result.criterion.title}",
            " ".join(f"{b.bullet.key}:{b.status}" for b in result.bullets),
            f"[{colour}]{result.status}[/{colour}]",
        )
    console.print(table)
    console.print(f"report: {html_path}  (and {md_path.name}, evidence.json, junit.xml, pytest.log)")
    return 0 if verdict == PASS else 1
