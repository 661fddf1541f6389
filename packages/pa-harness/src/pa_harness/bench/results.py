"""What a benchmark reports: rows of figures, each with the baseline measured in the same run and a target."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    """How a row compares with its target."""

    MET = "met"
    MISSED = "missed"
    INFO = "info"  # no target on this row
    PENDING = "pending"  # the thing to measure does not exist yet
    ERROR = "error"  # the benchmark failed to run


@dataclass(frozen=True)
class Row:
    """One figure: the PA's value, the same-run baseline, their ratio, and the target it is held to."""

    bench: str
    measure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    verdict: Verdict = Verdict.INFO
    note: str = ""
    # Some ratios are not value/baseline (e.g. overhead = PA minus baseline): the bench then sets it.
    ratio_override: float | None = None

    @property
    def ratio(self) -> float | None:
        """value / baseline (or the ratio the bench computed), when both exist."""
        if self.ratio_override is not None:
            return self.ratio_override
        if self.value is None or self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


@dataclass
class BenchResult:
    """Everything one benchmark contributes to the report."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one markdown paragraph each
    details: list[str] = field(default_factory=list)  # markdown blocks (e.g. a profile table)
    seconds: float = 0.0


def verdict(ok: bool) -> Verdict:
    """MET or MISSED."""
    return Verdict.MET if ok else Verdict.MISSED


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def median(samples: Sequence[float]) -> float:
    """The median (NaN when empty)."""
    return float(statistics.median(samples)) if samples else math.nan


def format_value(value: float | None, unit: str) -> str:
    """A figure with its unit, at a precision that suits its size."""
    if value is None or math.isnan(value):
        return "—"
    if unit == "facts":
        return f"{value:,.0f} facts"
    if unit in ("msg/s", "facts/s", "frames/s", "msg"):
        if abs(value) >= 1_000_000:
            return f"{value / 1_000_000:.2f} M {unit}"
        if abs(value) >= 1000:
            return f"{value / 1000:.1f} k {unit}"
        return f"{value:.0f} {unit}"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    if abs(value) >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def format_ratio(ratio: float | None) -> str:
    """`0.42x`."""
    if ratio is None or math.isnan(ratio):
        return "—"
    return f"{ratio:.2f}x"
