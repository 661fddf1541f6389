"""The benchmark suite runs and reports figures with their same-run baselines (speed itself is not tested)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from platform_adapter.bench import run_bench
from platform_adapter.bench.corpus import build_corpus
from platform_adapter.bench.report import BEGIN, END, write_report
from platform_adapter.bench.results import percentile

_RATIO = re.compile(r"^\d+\.\d\dx$")


def _table_rows(text: str, bench: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith(f"| {bench} |")
    ]


def test_quick_decode_run_writes_figures_ratios_and_the_machine(tmp_path: Path) -> None:
    out = tmp_path / "perf.md"

    code = run_bench(quick=True, only=["decode"], out=out)

    assert code in (0, 1)  # 1 means a target was missed: judging speed is the benchmark's job, not this test's
    text = out.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    for label in ("**Command**: `pa bench --quick --only decode", "**CPU**", "**RAM**", "**Python**", "**Date**"):
        assert label in text
    rows = _table_rows(text, "decode")
    assert [row[1] for row in rows] == ["PA hot path vs msgspec ceiling", "PA hot path vs naive forwarder"]
    for _bench, _measure, value, baseline, ratio, target, result in rows:
        assert value.endswith("msg/s") and baseline.split(" (")[0].endswith("msg/s")
        assert _RATIO.match(ratio), ratio
        assert target.startswith("≥ ")
        assert result in ("✅ met", "❌ missed")


def test_a_rerun_keeps_what_people_wrote_outside_the_generated_block(tmp_path: Path) -> None:
    out = tmp_path / "perf.md"
    write_report(out, f"{BEGIN}\nold figures\n{END}\n")
    out.write_text("# Notes above\n\n" + out.read_text(encoding="utf-8") + "\n## Findings below\n", encoding="utf-8")

    write_report(out, f"{BEGIN}\nnew figures\n{END}\n")

    text = out.read_text(encoding="utf-8")
    assert "# Notes above" in text and "## Findings below" in text
    assert "new figures" in text and "old figures" not in text
    assert text.count(BEGIN) == 1


def test_an_unknown_benchmark_name_is_refused_without_running_anything(tmp_path: Path) -> None:
    out = tmp_path / "perf.md"

    assert run_bench(quick=True, only=["no-such-bench"], out=out) == 2
    assert not out.exists()


def test_the_corpus_is_the_same_for_the_same_seed_and_has_every_message_kind() -> None:
    first, second = build_corpus(seed=5, steps=200), build_corpus(seed=5, steps=200)

    assert first.frames == second.frames
    kinds = set(first.kinds)
    assert {"quote", "dom", "chart_bar", "chart_tick", "response", "sync_snapshot"} <= kinds
    assert {"props:order", "props:fill", "props:position", "props:executionReport"} <= kinds
    assert any(frame.startswith("a[") and frame.count('{"e":') >= 3 for frame in first.frames)  # co-batched


def test_percentile_interpolates_between_ranks() -> None:
    samples = [float(v) for v in range(1, 101)]

    assert percentile(samples, 50) == 50.5
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99.9) == 7.0
