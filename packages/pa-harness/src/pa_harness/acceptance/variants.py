"""Which simulator variant sets an acceptance run covers: `--variants default,all,sample:N[@SEED],<spec>`.

The integration harness reads the variant set of a run from `PA_SIM_VARIANTS` (a spec, see
`tradovate_sim.variants.Variants.parse`); `pa acceptance --variants` runs the suite once per set with that variable
set. A sample without a seed rotates: its seed comes from the commit under test (or the date outside git), and the
rule and the seed are printed, so a red run can be repeated with `sample:N@SEED`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tradovate_sim.variants import VariantError, Variants, covering_sample, max_values, one_switch_at_a_time, uncovered

VARIANTS_ENV = "PA_SIM_VARIANTS"
"""The environment variable the integration harness reads its simulator variant set from."""


@dataclass(frozen=True)
class VariantPlan:
    """The variant sets to run, in order, and how they were chosen (printed before the run, kept in the report)."""

    sets: tuple[Variants, ...]
    notes: tuple[str, ...]

    @property
    def uncovered(self) -> list[str]:
        """Switch settings no set of the plan uses."""
        return uncovered(self.sets)


def from_environment() -> Variants:
    """The variant set `PA_SIM_VARIANTS` names (the defaults when it is unset or empty)."""
    spec = os.environ.get(VARIANTS_ENV, "").strip()
    return Variants.parse(spec) if spec else Variants()


def rotating_seed(tree: Path | None = None) -> tuple[int, str]:
    """A seed that changes with each commit (or each day outside git), and the rule that produced it."""
    git = shutil.which("git")
    if git is not None:
        try:
            commit = subprocess.run(  # noqa: S603 - a fixed git command on our own tree
                [git, "rev-parse", "HEAD"],
                cwd=tree or Path.cwd(),
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            commit = ""
        if len(commit) >= 8:
            return int(commit[:8], 16), f"the first 8 hex digits of commit {commit[:12]}"
    today = datetime.now(UTC).strftime("%Y%m%d")
    return int(today), f"the UTC date {today}"


def plan(spec: str, tree: Path | None = None) -> VariantPlan:
    """Expand `--variants`: comma-separated `default`, `evidence`, `all`, `sample:N[@SEED]` or a variant spec."""
    sets: list[Variants] = []
    notes: list[str] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        if item == "all":
            found = one_switch_at_a_time()
            notes.append(f"all: the default, then each other value of each switch alone ({len(found)} sets)")
        elif item.startswith("sample:"):
            found, note = _sample(item, tree)
            notes.append(note)
        else:
            found = [Variants.parse(item)]
        sets.extend(variants for variants in found if variants not in sets)
    if not sets:
        raise VariantError("--variants names no variant set")
    return VariantPlan(tuple(sets), tuple(notes))


def _sample(item: str, tree: Path | None) -> tuple[list[Variants], str]:
    count_text, _, seed_text = item.removeprefix("sample:").partition("@")
    try:
        count = int(count_text)
        seed, rule = (int(seed_text), "given") if seed_text else rotating_seed(tree)
    except ValueError:
        raise VariantError(f"{item!r}: expected sample:N or sample:N@SEED with whole numbers") from None
    found = covering_sample(count, seed)
    coverage = (
        "covers every switch setting"
        if count >= max_values()
        else f"a partial sample ({max_values()} sets cover every setting)"
    )
    note = f"{item}: seed {seed} ({rule}); {coverage}; repeat with --variants sample:{count}@{seed}"
    return found, note
