"""The soak's checker can fail: dropped, reordered, altered or invented facts and hidden gaps are violations."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest

from pa_harness.soak import DeliveryEvidence, SoakConfig, check_delivery, run_soak
from pa_harness.soak.delivery import StoredFact, evidence_without
from platform_adapter.mic import FactKind

SEED = 5


@pytest.fixture(scope="module")
def evidence() -> DeliveryEvidence:
    result = run_soak(SEED, steps=300, config=SoakConfig(keep_evidence=True))
    assert result.ok, result.reason
    assert result.evidence is not None
    assert result.connection_gaps >= 2  # the seed lost connections: there are gaps to hide
    return result.evidence


def renumbered(evidence: DeliveryEvidence, facts: Iterable[StoredFact]) -> DeliveryEvidence:
    """Facts as if the PA had never built the missing ones: delivery_seq 1..N again, nothing lost PA -> U."""
    kept = sorted(facts, key=lambda f: f.fact_id)
    fresh = tuple(dataclasses.replace(f, delivery_seq=i) for i, f in enumerate(kept, start=1))
    return dataclasses.replace(evidence, facts=fresh, facts_accepted=len(fresh))


def of_connection(evidence: DeliveryEvidence, connection_id: str) -> list[StoredFact]:
    return [f for f in evidence.facts if f.connection_id == connection_id and f.kind != FactKind.GAP.value]


def lost_epoch(evidence: DeliveryEvidence) -> tuple[str, StoredFact]:
    """An ended md epoch with facts, and its connection gap fact."""
    for fact in evidence.facts:
        if fact.kind == FactKind.GAP.value and '"streams":["connection"]' in fact.payload:
            connection_id = fact.connection_id
            if len(of_connection(evidence, connection_id)) >= 3:
                return connection_id, fact
    raise AssertionError("no ended epoch with facts in this seed")


def test_the_untouched_evidence_of_a_real_run_passes(evidence: DeliveryEvidence) -> None:
    report = check_delivery(evidence)
    assert report.ok, report.violations + report.pending
    assert report.delivered == report.sent - report.missed_in_gaps


def test_a_fact_dropped_between_pa_and_u_is_a_delivery_seq_hole(evidence: DeliveryEvidence) -> None:
    middle = of_connection(evidence, "md-1")[10]
    report = check_delivery(evidence_without(evidence, {middle.fact_id}))
    assert any("delivery_seq hole" in v for v in report.violations)
    assert any("accepted" in v and "U stored" in v for v in report.violations)


def test_a_message_the_pa_never_built_is_caught_even_with_delivery_seq_intact(evidence: DeliveryEvidence) -> None:
    facts = list(evidence.facts)
    middle = of_connection(evidence, "md-1")[10]
    report = check_delivery(renumbered(evidence, (f for f in facts if f.fact_id != middle.fact_id)))
    assert any("md-1" in v and "not the in-order prefix" in v for v in report.violations)


def test_a_hidden_gap_is_a_violation_and_the_same_miss_with_its_gap_fact_is_not(evidence: DeliveryEvidence) -> None:
    connection_id, gap = lost_epoch(evidence)
    tail = of_connection(evidence, connection_id)[-2:]
    without_tail = renumbered(evidence, (f for f in evidence.facts if f not in tail))
    attributed = check_delivery(without_tail)
    assert attributed.ok, attributed.violations  # the PA lost the connection and said so: allowed
    assert attributed.missed_in_gaps == check_delivery(evidence).missed_in_gaps + 2
    hidden = check_delivery(renumbered(evidence, (f for f in evidence.facts if f not in tail and f != gap)))
    assert any(connection_id in v and "no gap fact" in v for v in hidden.violations + hidden.pending)


def test_a_miss_on_the_live_connection_is_not_delivered(evidence: DeliveryEvidence) -> None:
    live = f"md-{evidence.live_epochs['md']}"
    last = of_connection(evidence, live)[-1]
    report = check_delivery(renumbered(evidence, (f for f in evidence.facts if f != last)))
    assert any(live in p and "never reached U" in p for p in report.pending)
    assert not report.ok


def test_reordered_facts_are_a_violation(evidence: DeliveryEvidence) -> None:
    rows = of_connection(evidence, "md-1")
    a, b = rows[5], rows[6]
    swapped = [
        dataclasses.replace(f, payload=b.payload)
        if f == a
        else dataclasses.replace(f, payload=a.payload)
        if f == b
        else f
        for f in evidence.facts
    ]
    report = check_delivery(dataclasses.replace(evidence, facts=tuple(swapped)))
    assert any("md-1" in v and "item 5" in v for v in report.violations)


def test_one_altered_byte_is_a_violation(evidence: DeliveryEvidence) -> None:
    target = of_connection(evidence, "trading-1")[0]
    altered = [
        dataclasses.replace(f, payload=f.payload.replace("200", "201")) if f == target else f for f in evidence.facts
    ]
    report = check_delivery(dataclasses.replace(evidence, facts=tuple(altered)))
    assert any("payload differs" in v for v in report.violations)


def test_a_fact_the_platform_never_sent_is_a_violation(evidence: DeliveryEvidence) -> None:
    last = max(evidence.facts, key=lambda f: f.fact_id)
    live = f"trading-{evidence.live_epochs['trading']}"
    invented = dataclasses.replace(
        last,
        fact_id=last.fact_id + 1,
        delivery_seq=last.delivery_seq + 1,
        connection_id=live,
        kind="platform_event",
        connection="trading",
        payload='{"e":"props","d":{"invented":true}}',
    )
    report = check_delivery(renumbered(evidence, (*evidence.facts, invented)))
    assert any(live in v and "U has" in v for v in report.violations)


def test_a_gap_fact_for_the_live_connection_or_a_missing_one_for_an_ended_epoch_is_a_violation(
    evidence: DeliveryEvidence,
) -> None:
    connection_id, gap = lost_epoch(evidence)
    report = check_delivery(renumbered(evidence, (f for f in evidence.facts if f != gap)))
    assert any(connection_id in v and "no gap fact reports it" in v for v in report.violations)
    socket, epoch = connection_id.split("-")
    still_up = dataclasses.replace(evidence, live_epochs={**evidence.live_epochs, socket: int(epoch)})
    report = check_delivery(still_up)
    assert any("loss of the live connection" in v for v in report.violations)


def test_a_seed_s_verdict_line_names_its_first_three_violations_and_counts_the_rest() -> None:
    from pa_harness.soak.delivery import verdict_line

    assert verdict_line("seed 7", True, []) == "seed 7: ok"
    line = verdict_line("seed 8 (fight)", False, ["a", "b", "c", "d", "e"])
    assert line == "seed 8 (fight): a; b; c (+2 more)"
