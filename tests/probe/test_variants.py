"""`pa probe` says which simulator variant the target showed, per switch: run against the simulator set to a variant,
it must report that variant (and never a wrong one: what it cannot see is "not observed")."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from platform_adapter.config import Settings
from platform_adapter.probe import ProbeReport, resolve_target, run_probe
from platform_adapter.probe.variants import SWITCHES as PROBE_SWITCHES
from tradovate_sim import TradovateSim, Variants
from tradovate_sim.variants import SWITCHES

from .harness import FAST, credentials, logging_restored, sim_config

# Every value of every switch in one of three sets (md_entitlement=none hides the market, so it gets its own).
EVERY_OTHER = (
    "chart_history_id=historical+chart_packing=merged+sync_entity_types=required+sync_split=multi_null_lists"
    "+md_entitlement=delayed+login_md_token=absent+renew_md_token=present+cancel_chart_id=realtime_only"
    "+expiration_format=seconds+token_lifetime=90min+props_order=fill_er_position+md_duplicates=resubscribe_doubles"
    "+server_heartbeat=always+error_d=quoted_string"
)
THE_REST = (
    "chart_packing=separate+sync_split=multi_same_id+md_entitlement=minimal+cancel_chart_id=historical_only"
    "+props_order=er_position_fill+md_duplicates=replay_on_reconnect+server_heartbeat=sockjs_25s"
)
NO_MARKET_DATA = "md_entitlement=none+props_order=shuffled"


def _probe(spec: str, out_dir: Path) -> ProbeReport:
    async def run() -> ProbeReport:
        async with TradovateSim(sim_config(variants=Variants.parse(spec))) as sim:
            target = resolve_target(rest_url=sim.rest_url, trading_ws_url=sim.trading_ws_url, md_ws_url=sim.md_ws_url)
            options = dataclasses.replace(FAST, allow_orders=True, allow_fill=True)
            return await run_probe(Settings(), credentials(), target, options, out_dir)

    with logging_restored():
        return asyncio.run(run())


def test_the_probe_knows_every_switch_of_the_simulator_with_its_values() -> None:
    assert dict(SWITCHES) == PROBE_SWITCHES


@pytest.mark.parametrize("spec", ["default", EVERY_OTHER, THE_REST], ids=["default", "every_other", "the_rest"])
def test_the_probe_reports_the_variant_the_simulator_was_set_to(spec: str, tmp_path: Path) -> None:
    report = _probe(spec, tmp_path)
    want = Variants.parse(spec).as_dict()

    assert {v.switch: v.value for v in report.variants} == want
    assert Variants.parse(report.variant_spec) == Variants.parse(spec)  # `pa sim --variant <spec>` repeats it
    findings = (tmp_path / "findings.md").read_text()
    assert f"`pa sim --variant {report.variant_spec}`" in findings


def test_what_the_probe_cannot_see_is_not_observed_never_guessed(tmp_path: Path) -> None:
    report = _probe(NO_MARKET_DATA, tmp_path)
    want = Variants.parse(NO_MARKET_DATA).as_dict()
    shown = {v.switch: v.value for v in report.variants}

    assert shown["md_entitlement"] == "none"
    assert all(value is None or value == want[switch] for switch, value in shown.items()), shown
    assert shown["chart_history_id"] is None and shown["props_order"] is None  # no chart, no bid to stay far from


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([b"a", b"b", b"c", b"c", b"d", b"d"], (2, 4)),  # two quotes before the second subscribe took effect
        ([b"a", b"a", b"b", b"b"], (2, 4)),
        ([b"a", b"b", b"c"], (0, 3)),
    ],
)
def test_doubling_is_judged_from_the_first_repeated_pair(messages: list[bytes], expected: tuple[int, int]) -> None:
    # Seen in CI: under md_duplicates=resubscribe_doubles the quotes that came before the second subscribe took
    # effect made the probe say `none`.
    from platform_adapter.probe.steps.reconnect import doubled_since_the_first_pair

    doubled, counted = doubled_since_the_first_pair(messages)
    assert (doubled, counted) == expected
    assert (doubled > 0 and doubled * 2 >= counted - 1) is (expected[0] > 0)
