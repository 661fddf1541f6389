"""`pa acceptance --variants`: which variant sets a spec names, how the harness follows them, and the matrix."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from pa_harness.acceptance.criteria import TEST_FILES
from pa_harness.acceptance.matrix import VariantMatrix, VariantRun, coverage, run_matrix, write_matrix
from pa_harness.acceptance.variants import VARIANTS_ENV, from_environment, plan, rotating_seed
from tests.integration.harness import sim_config
from tradovate_sim.variants import SWITCHES, VariantError, Variants, max_values


def test_all_names_the_default_and_every_other_value_of_every_switch_alone() -> None:
    chosen = plan("all")

    assert chosen.sets[0] == Variants()
    assert len(chosen.sets) == 1 + sum(len(values) - 1 for values in SWITCHES.values())
    assert chosen.uncovered == []


def test_a_seeded_sample_is_repeatable_says_how_and_covers_every_setting_from_max_values_sets() -> None:
    first, again = plan(f"sample:{max_values()}@7"), plan(f"sample:{max_values()}@7")

    assert first.sets == again.sets
    assert first.uncovered == []
    assert first.notes == (
        f"sample:{max_values()}@7: seed 7 (given); covers every switch setting; repeat with --variants sample:{max_values()}@7",
    )
    assert plan("sample:1@7").uncovered != []
    assert "a partial sample" in plan("sample:1@7").notes[0]


def test_an_unseeded_sample_takes_its_seed_from_the_commit_and_prints_it(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    git = shutil.which("git")
    if git is None:
        pytest.skip("no git")
    commit = subprocess.run(  # noqa: S603 - a fixed git command on this repository
        [git, "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout

    seed, rule = rotating_seed(repo)
    note = plan("sample:2", tree=repo).notes[0]
    outside_git = rotating_seed(tmp_path)

    assert seed == int(commit[:8], 16)
    assert commit[:12] in rule
    assert f"seed {seed}" in note
    assert f"--variants sample:2@{seed}" in note
    assert outside_git[1].startswith("the UTC date ")


def test_a_list_of_specs_is_run_in_order_once_each() -> None:
    chosen = plan("default, error_d=quoted_string ,default,evidence,chart_packing=merged")

    # `evidence` is the default now (issue 18 phase 2): one set, run once.
    assert [v.label for v in chosen.sets] == ["default", "error_d=quoted_string", "chart_packing=merged"]


@pytest.mark.parametrize("spec", ["", "sample:x", "sample:0@1", "chart_history_id=sideways", "nonsense"])
def test_a_bad_variants_option_is_a_clear_error(spec: str) -> None:
    with pytest.raises(VariantError):
        plan(spec)


def test_the_integration_harness_follows_pa_sim_variants_unless_a_test_overrides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VARIANTS_ENV, "chart_history_id=historical+error_d=quoted_string")

    from_env = sim_config()
    overridden = sim_config(variants=Variants())
    monkeypatch.delenv(VARIANTS_ENV)

    assert from_env.variants.differences() == {"chart_history_id": "historical", "error_d": "quoted_string"}
    assert overridden.variants == Variants()
    assert sim_config().variants == Variants() == from_environment()


def _run(key: str, label: str, outcomes: dict[str, str], failures: dict[str, str]) -> VariantRun:
    variants = Variants.parse(label)
    return VariantRun(
        key=key,
        label=label,
        settings=variants.as_dict(),
        exit_code=0 if not failures else 1,
        pytest_exit_code=0 if not failures else 1,
        verdict="PASS" if not failures else "FAIL",
        duration_s=12.0,
        report=f"{key}/report.html",
        outcomes=outcomes,
        failures=failures,
    )


def test_the_matrix_shows_every_test_under_every_set_the_failures_and_the_coverage(tmp_path: Path) -> None:
    matrix = VariantMatrix(
        spec="default,chart_history_id=historical",
        notes=["a note"],
        started_utc="2026-12-04T00:00:00Z",
        duration_s=24.0,
        source="abc1234",
        select=None,
        runs=[
            _run("v00", "default", {"test_a[inproc]": "passed", "test_b[inproc]": "passed"}, {}),
            _run(
                "v01",
                "chart_history_id=historical",
                {"test_a[inproc]": "failed", "test_b[inproc]": "passed"},
                {"test_a[inproc]": "assert {False} == {False, True}"},
            ),
        ],
        uncovered=[],
    )

    md_path, html_path, json_path = write_matrix(matrix, tmp_path)
    md = md_path.read_text()
    html = html_path.read_text()

    assert "**1 of 2 variant sets passed every test" in md
    assert "| `test_a[inproc]` | ✓ | ✗ |" in md
    assert "| `test_b[inproc]` | ✓ | ✓ |" in md
    assert "### v01 `chart_history_id=historical`: 1 failed" in md
    assert "- `test_a[inproc]`: assert {False} == {False, True}" in md
    assert "| `chart_history_id=historical` | v01 | v01 |" in md
    assert "| `chart_packing=merged` | not covered | - |" in md
    assert not re.search(r"<(script|link)\b", html)
    assert json.loads(json_path.read_text())["runs"][1]["failures"] == matrix.runs[1].failures
    assert ("chart_history_id=realtime", ["v00"], []) in coverage(matrix)


def test_run_matrix_runs_each_set_in_its_own_process_with_pa_sim_variants_set(tmp_path: Path) -> None:
    # A stand-in for tests/integration: one test that passes only under the default variants.
    tests = tmp_path / "tests" / "integration"
    tests.mkdir(parents=True)
    for name in TEST_FILES:
        (tests / name).write_text('"""placeholder"""\n')
    (tests / "test_connectivity.py").write_text(
        "import os\n\n\ndef test_acceptance_A_connects_authorizes_both_sockets_and_reports_pa_up():\n"
        f"    assert os.environ.get({VARIANTS_ENV!r}) == 'default'\n"
    )
    out = tmp_path / "out"

    code = run_matrix(
        spec="default,error_d=quoted_string",
        out_dir=out,
        console=Console(file=io.StringIO()),
        tests_dir=tests,
    )
    written = json.loads((out / "matrix.json").read_text())

    assert code == 1
    assert [run["label"] for run in written["runs"]] == ["default", "error_d=quoted_string"]
    assert [run["outcomes"] for run in written["runs"]] == [
        {"test_acceptance_A_connects_authorizes_both_sockets_and_reports_pa_up": "passed"},
        {"test_acceptance_A_connects_authorizes_both_sockets_and_reports_pa_up": "failed"},
    ]
    assert json.loads((out / "v01" / "evidence.json").read_text())["variants"] == "error_d=quoted_string"
    assert (out / "v00" / "report.html").is_file()
