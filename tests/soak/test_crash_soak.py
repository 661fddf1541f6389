"""The crash soak (issue 17): real `pa run --transport nats` processes SIGKILLed at seeded points, and its checker.

CI runs two fixed seeds (printed), one per mode, which between them arm every kill point; `pa soak --crash --seeds
N` runs more (docs/reliability.md). The checker is then shown to fail on the evidence of that real run, tampered.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from pa_harness.nats_server import find_nats_server
from pa_harness.soak.crash import CrashConfig, CrashResult, run_crash_soak
from pa_harness.soak.crash_check import CrashEvidence, check_runs, compare_state, u_state
from pa_harness.soak.crash_plan import KILL_POINTS

CI_SEEDS = (
    1,
    2,
)  # seed 1: restart mode (order_request, anytime, order_answer); seed 2: fight (backfill, reconnect, ...)
CI_CONFIG = CrashConfig(steps=200, kills=3)
TAKEOVER_BOUND_S = 5.0


@pytest.fixture(scope="module")
def results() -> dict[int, CrashResult]:
    if find_nats_server() is None:
        pytest.skip("no nats-server binary")
    ran = {}
    for seed in CI_SEEDS:
        result = run_crash_soak(seed, CI_CONFIG)
        print(
            f"crash soak seed {seed} ({result.mode}): kills {result.kills}, takeovers {result.takeover_s} s, "
            f"{result.runs} runs, {result.orders} orders, {result.missed_in_gaps} missed inside gaps"
        )
        ran[seed] = result
    return ran


@pytest.mark.parametrize("seed", CI_SEEDS)
def test_crash_soak_seed_places_nothing_twice_resolves_every_unknown_and_loses_nothing_silently(
    results: dict[int, CrashResult], seed: int
) -> None:
    result = results[seed]
    assert result.ok, result.reason
    assert result.takeovers == sum(n for point, n in result.kills.items() if point != "unfired")
    assert max(result.takeover_s) < TAKEOVER_BOUND_S
    assert result.holes == 0
    assert result.restart_gaps > 0  # each new run reported where the one before it stopped


def test_the_ci_seeds_kill_at_every_point_in_both_modes(results: dict[int, CrashResult]) -> None:
    fired = {point for result in results.values() for point in result.kills}
    assert set(KILL_POINTS) <= fired
    assert {result.mode for result in results.values()} == {"restart", "fight"}


def _evidence(results: dict[int, CrashResult]) -> CrashEvidence:
    evidence = results[CI_SEEDS[0]].evidence
    assert evidence is not None
    assert check_runs(evidence).ok  # the untampered evidence passes
    return evidence


def _killed_run_facts(evidence: CrashEvidence) -> list[int]:
    killed = [run for run in evidence.runs if run != evidence.live_run]
    return [f.fact_id for f in evidence.facts if f.run_id in killed and f.kind != "gap" and not f.redelivery]


def test_the_checker_finds_a_fact_lost_between_a_killed_run_and_u(results: dict[int, CrashResult]) -> None:
    evidence = _evidence(results)
    facts = _killed_run_facts(evidence)
    dropped = facts[len(facts) // 2]

    report = check_runs(dataclasses.replace(evidence, facts=tuple(f for f in evidence.facts if f.fact_id != dropped)))

    assert any("delivery_seq at U is not" in v for v in report.violations), report.violations
    assert any("not the in-order prefix" in v for v in report.violations), report.violations


def test_the_checker_finds_a_killed_run_whose_end_no_later_run_reported(results: dict[int, CrashResult]) -> None:
    evidence = _evidence(results)
    restart_gaps = {
        f.fact_id
        for f in evidence.facts
        if f.kind == "gap"
        and json.loads(f.payload)["reason"] == "pa_restart"
        and json.loads(f.payload)["streams"] == ["connection"]
    }
    assert restart_gaps
    # Renumber nothing: only the gap facts' payloads say something else (a socket loss of another epoch).
    tampered = tuple(
        dataclasses.replace(
            f, payload=f.payload.replace('"pa_restart"', '"socket_closed"').replace('"from_epoch":', '"from_epoch":9')
        )
        if f.fact_id in restart_gaps
        else f
        for f in evidence.facts
    )

    report = check_runs(dataclasses.replace(evidence, facts=tampered))

    assert any("ended but no gap fact reports it" in v for v in report.violations), report.violations


def test_the_checker_finds_items_written_to_a_connection_no_pa_process_owned(results: dict[int, CrashResult]) -> None:
    evidence = _evidence(results)
    carrying = next(c.conn_id for c in evidence.connections if c.items)

    report = check_runs(dataclasses.replace(evidence, owners={**evidence.owners, carrying: None}))

    assert any("no PA process owned" in v for v in report.violations), report.violations


def test_u_s_orders_and_positions_are_compared_with_the_platform_s(results: dict[int, CrashResult]) -> None:
    evidence = _evidence(results)
    state = u_state(evidence.facts)
    assert state["order"], "the run placed orders: U must know them"
    order_id, order = next(iter(state["order"].items()))

    assert compare_state(state, state) == []
    changed = {**state, "order": {**state["order"], order_id: {**order, "ordStatus": "Rejected"}}}
    assert compare_state(state, changed) and "order" in compare_state(state, changed)[0]
