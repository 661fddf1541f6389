"""Variant switches: each value of each switch does what docs/simulator.md ("Variants") says, and sets of them
can be given as a spec, a file, a command-line option or through the control endpoint."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradovate_sim import ManualClock, SimConfig, TradovateSim
from tradovate_sim.command import build_variants, switch_table
from tradovate_sim.variants import (
    DEFAULT,
    EVIDENCE_DEFAULT,
    KEPT_UNTIL_THE_PA_HANDLES_IT,
    SWITCHES,
    VariantError,
    Variants,
    covering_sample,
    max_values,
    one_switch_at_a_time,
    uncovered,
)

from .conftest import SocketFactory, fast_config, login
from .rawclient import RawSocket
from .test_market_data import chart_body, history, is_chart
from .test_orders import is_props, order, props

BARS = chart_body("ESZ6", "MinuteBar", 1, '{"asMuchAsElements":3}')


@pytest.fixture
def config() -> SimConfig:
    """Two bars or ticks a packet, so three make two packets and packing has something to pack."""
    return fast_config(bars_per_packet=2, ticks_per_packet=2)


def manual_clock(sim: TradovateSim) -> ManualClock:
    clock = sim.config.clock
    assert isinstance(clock, ManualClock)
    return clock


async def chart_events_until_eoh(socket: RawSocket) -> list[list[dict[str, Any]]]:
    """The `charts` arrays of chart events, up to the one holding eoh."""
    events = []
    while True:
        charts = (await socket.until(is_chart))["d"]["charts"]
        events.append(charts)
        if charts[-1].get("eoh"):
            return events


# -- the defaults ---------------------------------------------------------------------------------------------


def test_the_default_is_the_evidence_except_where_the_pa_still_needs_the_old_behaviour() -> None:
    assert set(EVIDENCE_DEFAULT) == set(SWITCHES)
    assert Variants().as_dict() == {**EVIDENCE_DEFAULT, **KEPT_UNTIL_THE_PA_HANDLES_IT}
    assert all(KEPT_UNTIL_THE_PA_HANDLES_IT[name] != EVIDENCE_DEFAULT[name] for name in KEPT_UNTIL_THE_PA_HANDLES_IT)
    assert Variants.evidence().as_dict() == dict(EVIDENCE_DEFAULT)
    assert all(value in SWITCHES[name] for name, value in EVIDENCE_DEFAULT.items())


# -- chart_history_id, chart_packing, cancel_chart_id -----------------------------------------------------------


async def test_history_under_realtime_id_puts_history_and_eoh_under_the_id_live_updates_use(
    sim: TradovateSim, md: RawSocket
) -> None:
    sim.variants.update({"chart_history_id": "realtime"})

    ids, packets = await history(md, 1, BARS)
    await sim.market.step(1)
    live = (await md.until(is_chart))["d"]["charts"]

    assert {packet["id"] for packet in packets} == {ids["realtimeId"]}
    assert packets[-1] == {"id": ids["realtimeId"], "eoh": True}
    assert [packet["id"] for packet in live] == [ids["realtimeId"]]


async def test_history_under_historical_id_keeps_history_apart_from_live(sim: TradovateSim, md: RawSocket) -> None:
    sim.variants.update({"chart_history_id": "historical"})

    ids, packets = await history(md, 1, BARS)

    assert {packet["id"] for packet in packets} == {ids["historicalId"]}


@pytest.mark.parametrize(
    ("packing", "layout"),
    [
        ("separate", [["bars"], ["bars"], ["eoh"]]),
        ("same_array", [["bars"], ["bars", "eoh"]]),
        ("merged", [["bars", "bars", "eoh"]]),
    ],
)
async def test_chart_packing_decides_which_packets_share_a_chart_event(
    sim: TradovateSim, md: RawSocket, packing: str, layout: list[list[str]]
) -> None:
    sim.variants.update({"chart_packing": packing})

    await md.request("md/getChart", 1, body=BARS)
    events = await chart_events_until_eoh(md)

    assert [["eoh" if packet.get("eoh") else "bars" for packet in charts] for charts in events] == layout


async def test_merged_packing_puts_live_packets_of_several_subscriptions_in_one_event(
    sim: TradovateSim, md: RawSocket
) -> None:
    sim.variants.update({"chart_packing": "merged"})
    first, _ = await history(md, 1, BARS)
    second, _ = await history(md, 2, chart_body("ESZ6", "Tick", 1, '{"asMuchAsElements":3}'))

    await sim.market.step(1)
    live = (await md.until(is_chart))["d"]["charts"]

    assert [packet["id"] for packet in live] == [first["realtimeId"], second["realtimeId"]]


@pytest.mark.parametrize(
    ("rule", "stops_realtime", "stops_historical"),
    [("either", True, True), ("historical_only", False, True), ("realtime_only", True, False)],
)
async def test_cancel_chart_id_decides_which_id_stops_the_stream(
    sim: TradovateSim, md: RawSocket, rule: str, stops_realtime: bool, stops_historical: bool
) -> None:
    sim.variants.update({"cancel_chart_id": rule})
    by_realtime, _ = await history(md, 1, BARS)
    by_historical, _ = await history(md, 2, BARS)

    first = await md.request("md/cancelChart", 3, body=f'{{"subscriptionId":{by_realtime["realtimeId"]}}}')
    second = await md.request("md/cancelChart", 4, body=f'{{"subscriptionId":{by_historical["historicalId"]}}}')
    before = len(sim.sent_messages(kind="md", event="chart"))
    await sim.market.step(1)
    live = [m.data["d"]["charts"][0]["id"] for m in sim.sent_messages(kind="md", event="chart")[before:]]

    assert (first["s"], second["s"]) == (200, 200)
    assert (by_realtime["realtimeId"] not in live) is stops_realtime
    assert (by_historical["realtimeId"] not in live) is stops_historical


# -- md_entitlement, md_duplicates -------------------------------------------------------------------------------


async def test_no_entitlement_is_a_200_refusal_with_error_text_and_no_data(sim: TradovateSim, md: RawSocket) -> None:
    sim.variants.update({"md_entitlement": "none"})

    quote = await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    chart = await md.request("md/getChart", 2, body=BARS)
    await sim.market.step(3)
    await md.request("md/unsubscribeQuote", 3, body='{"symbol":"ESZ6"}')

    for refused in (quote, chart):
        assert refused["s"] == 200
        assert refused["d"]["errorCode"] == "NoServicePlan"
        assert refused["d"]["mode"] == "None"
        assert refused["d"]["errorText"]
    assert sim.sent_messages(kind="md", event="md") == []
    assert sim.sent_messages(kind="md", event="chart") == []


@pytest.mark.parametrize(("entitlement", "body"), [("delayed", {"mode": "Delayed"}), ("minimal", {})])
async def test_entitlement_shapes_the_success_body(
    sim: TradovateSim, md: RawSocket, entitlement: str, body: dict[str, str]
) -> None:
    sim.variants.update({"md_entitlement": entitlement})

    response = await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    chart = await md.request("md/getChart", 2, body=BARS)

    assert response["d"] == body
    assert chart["d"] == {**body, "historicalId": 2, "realtimeId": 1}


async def test_minimal_entitlement_keeps_the_old_unknown_symbol_text(sim: TradovateSim, md: RawSocket) -> None:
    sim.variants.update({"md_entitlement": "minimal"})

    unknown = await md.request("md/subscribeQuote", 1, body='{"symbol":"ZZZ9"}')

    assert unknown["d"] == {"errorText": "Symbol not found: ZZZ9", "errorCode": "UnknownSymbol"}


@pytest.mark.parametrize(("duplicates", "per_step"), [("none", 1), ("resubscribe_doubles", 2)])
async def test_a_second_subscribe_to_the_same_quote_doubles_the_stream_only_when_asked(
    sim: TradovateSim, md: RawSocket, duplicates: str, per_step: int
) -> None:
    sim.variants.update({"md_duplicates": duplicates})
    await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    await md.request("md/subscribeQuote", 2, body='{"symbol":"ESZ6"}')
    before = len(sim.sent_messages(kind="md", event="md"))

    await sim.market.step(3)

    assert len(sim.sent_messages(kind="md", event="md")) - before == 3 * per_step


async def test_replay_on_reconnect_resends_the_last_quotes_of_the_old_socket_first(
    sim: TradovateSim, md: RawSocket, connect: SocketFactory, tokens: dict[str, Any]
) -> None:
    sim.variants.update({"md_duplicates": "replay_on_reconnect"})
    await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    await sim.market.step(5)
    old = [m.text for m in sim.sent_messages(kind="md", event="md")]
    await md.ws.close()

    again = await connect(sim.md_ws_url)
    await again.authorize(tokens["mdAccessToken"])
    await again.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    new_conn = sim.connections("md")[-1].id
    first_four = [m.text for m in sim.sent_messages(kind="md", conn_id=new_conn, event="md")][:4]

    assert first_four[:3] == old[-3:]  # already delivered on the old socket: duplicates
    assert json.loads(first_four[3])["d"]["quotes"][0]["entries"].keys() >= {"OpenInterest", "SettlementPrice"}


async def test_without_replay_a_new_socket_starts_with_a_fresh_full_quote(
    sim: TradovateSim, md: RawSocket, connect: SocketFactory, tokens: dict[str, Any]
) -> None:
    await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    await sim.market.step(5)
    await md.ws.close()

    again = await connect(sim.md_ws_url)
    await again.authorize(tokens["mdAccessToken"])
    await again.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
    new_conn = sim.connections("md")[-1].id

    assert len(sim.sent_messages(kind="md", conn_id=new_conn, event="md")) == 1


# -- user sync: sync_entity_types, sync_split ---------------------------------------------------------------------


async def test_required_entity_types_without_a_list_gives_the_user_and_nothing_else(
    sim: TradovateSim, trading: RawSocket
) -> None:
    sim.variants.update({"sync_entity_types": "required"})

    snapshot = (await trading.request("user/syncrequest", 1, body='{"users":[5001]}'))["d"]
    await trading.request("order/placeorder", 2, body=order("Buy", "ESZ6", 1, "Market"))
    await trading.request("account/list", 3)  # the socket's writer is FIFO: any props would be out by now

    assert [user["id"] for user in snapshot["users"]] == [5001]
    assert all(value == [] for key, value in snapshot.items() if key != "users")
    assert sim.sent_messages(kind="trading", event="props") == []


@pytest.mark.parametrize("rule", ["optional", "required"])
async def test_an_entity_types_list_filters_the_snapshot_and_the_props(
    sim: TradovateSim, trading: RawSocket, rule: str
) -> None:
    sim.variants.update({"sync_entity_types": rule})
    await trading.request("order/placeorder", 1, body=order("Buy", "ESZ6", 1, "Market"))

    snapshot = (await trading.request("user/syncrequest", 2, body='{"accounts":[701234],"entityTypes":["Order"]}'))["d"]
    await trading.request("order/placeorder", 3, body=order("Sell", "ESZ6", 1, "Market"))
    await trading.until(lambda m: is_props(m) and m["d"]["entity"].get("ordStatus") == "Filled")

    assert len(snapshot["orders"]) == 1
    assert snapshot["accounts"] == snapshot["positions"] == snapshot["fills"] == []
    assert {m.entity_type for m in sim.sent_messages(kind="trading", event="props")} == {"order"}


async def test_optional_entity_types_without_a_list_gives_everything(sim: TradovateSim, synced: RawSocket) -> None:
    await synced.request("order/placeorder", 2, body=order("Buy", "ESZ6", 1, "Market"))

    events = await props(synced, 11)

    assert {kind for kind, _, _ in events} >= {"order", "fill", "position", "executionReport"}


@pytest.mark.parametrize(("layout", "count"), [("single", 1), ("multi_same_id", 3), ("multi_null_lists", 3)])
async def test_split_responses_layout(sim: TradovateSim, trading: RawSocket, layout: str, count: int) -> None:
    sim.variants.update({"sync_split": layout})
    whole = (await trading.request("user/syncrequest", 1, body='{"users":[5001]}'))["d"]

    await trading.send('user/syncrequest\n3\n\n{"users":[5001],"splitResponses":true}')
    parts = [(await trading.response(3))["d"] for _ in range(count)]
    await trading.request("account/list", 4)  # a later request's answer: nothing else came for id 3 before it
    extra = [m for m in sim.sent_messages(kind="trading", request_id=3)][count:]

    assert extra == []
    assert "users" in parts[0]
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update({key: value for key, value in part.items() if value})
    assert merged == {key: value for key, value in whole.items() if value}
    if layout == "multi_same_id":
        assert all(set(part) < set(whole) for part in parts)
        assert [("positions" in part, "orders" in part) for part in parts] == [
            (False, False),
            (True, False),
            (False, True),
        ]
    if layout == "multi_null_lists":
        assert all(set(part) == set(whole) for part in parts)
        assert parts[1]["orders"] is None
        assert parts[1]["users"] == []


# -- tokens: login_md_token, renew_md_token, expiration_format, token_lifetime -----------------------------------


async def test_login_without_md_token_leaves_the_access_token_for_the_md_socket(
    sim: TradovateSim, http: aiohttp.ClientSession, connect: SocketFactory
) -> None:
    sim.variants.update({"login_md_token": "absent"})

    body = await login(http, sim)
    md = await connect(sim.md_ws_url)

    assert "mdAccessToken" not in body
    assert await md.authorize(body["accessToken"]) == {"s": 200, "i": 0}


@pytest.mark.parametrize("renewal", ["present", "absent"])
async def test_renewal_with_or_without_md_token(
    sim: TradovateSim, http: aiohttp.ClientSession, connect: SocketFactory, renewal: str
) -> None:
    sim.variants.update({"renew_md_token": renewal})
    first = await login(http, sim)
    headers = {"Authorization": f"Bearer {first['accessToken']}"}
    manual_clock(sim).advance(3600)
    async with http.get(sim.rest_url + "/auth/renewaccesstoken", headers=headers) as response:
        renewed = json.loads(await response.text())
    manual_clock(sim).advance(sim.variants.current.token_lifetime_s - 3600 + 1)

    stale = await connect(sim.md_ws_url)
    fresh = await connect(sim.md_ws_url)
    stale_ack = await stale.authorize(first["mdAccessToken"])
    fresh_ack = await fresh.authorize(renewed.get("mdAccessToken", renewed["accessToken"]))

    assert ("mdAccessToken" in renewed) is (renewal == "present")
    assert stale_ack["s"] == 401  # the md token of the login expired with it
    assert fresh_ack == {"s": 200, "i": 0}  # the renewal's md token, or else its access token


@pytest.mark.parametrize(
    ("form", "pattern"),
    [("millis", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"), ("seconds", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")],
)
async def test_expiration_time_with_or_without_milliseconds(
    sim: TradovateSim, http: aiohttp.ClientSession, form: str, pattern: str
) -> None:
    sim.variants.update({"expiration_format": form})

    body = await login(http, sim)

    assert re.fullmatch(pattern, body["expirationTime"])
    assert re.fullmatch(pattern, body["passwordExpirationTime"])


@pytest.mark.parametrize(("lifetime", "minutes"), [("80min", 80), ("90min", 90)])
async def test_token_lifetime(sim: TradovateSim, http: aiohttp.ClientSession, lifetime: str, minutes: int) -> None:
    sim.variants.update({"token_lifetime": lifetime})
    now = sim.config.clock.wall()

    body = await login(http, sim)

    stamp = datetime.fromisoformat(body["expirationTime"].replace("Z", "+00:00")).timestamp()
    assert round((stamp - now) / 60) == minutes


# -- props_order ---------------------------------------------------------------------------------------------------


def fill_burst(events: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    kinds = [kind for kind, _, _ in events]
    trade = next(
        i for i, (kind, _, entity) in enumerate(events) if kind == "executionReport" and entity["execType"] == "Trade"
    )
    start = min(trade, kinds.index("fill"), kinds.index("position"))
    return [kind for kind in kinds[start : start + 3]]


@pytest.mark.parametrize(
    ("rule", "burst"),
    [
        ("er_fill_position", ["executionReport", "fill", "position"]),
        ("fill_er_position", ["fill", "executionReport", "position"]),
        ("er_position_fill", ["executionReport", "position", "fill"]),
    ],
)
async def test_props_order_of_one_fill(sim: TradovateSim, synced: RawSocket, rule: str, burst: list[str]) -> None:
    sim.variants.update({"props_order": rule})

    await synced.request("order/placeorder", 2, body=order("Buy", "ESZ6", 1, "Market"))
    events = await props(synced, 11)

    assert fill_burst(events) == burst
    assert [kind for kind, _, _ in events][-2:] == ["order", "cashBalance"]


async def test_shuffled_props_order_varies_between_fills_and_repeats_with_the_seed() -> None:
    async def bursts() -> list[list[str]]:
        async with TradovateSim(fast_config()) as sim:
            sim.variants.update({"props_order": "shuffled"})
            kinds: list[str] = []
            sim.store.add_listener(lambda _account, message: kinds.append(message["d"]["entityType"]))
            found: list[list[str]] = []
            for n in range(8):
                kinds.clear()
                placed = sim.orders.place(json.loads(order("Buy" if n % 2 == 0 else "Sell", "ESZ6", 1, "Market")), 5001)
                assert "orderId" in placed
                found.append([kind for kind in kinds if kind in ("executionReport", "fill", "position")][-3:])
            return found

    first, second = await bursts(), await bursts()

    assert first == second
    assert len({tuple(burst) for burst in first}) > 1


# -- server_heartbeat, error_d ------------------------------------------------------------------------------------


async def test_always_heartbeat_sends_h_while_data_streams(connect: SocketFactory) -> None:
    config = fast_config(heartbeat_interval_s=0.05, tick_interval_s=0.005)
    async with TradovateSim(config) as sim, aiohttp.ClientSession() as http:
        sim.variants.update({"server_heartbeat": "always"})
        tokens = await login(http, sim)
        md = await connect(sim.md_ws_url)
        await md.authorize(tokens["mdAccessToken"])
        await md.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')

        frames: list[str] = []
        while frames.count("h") < 2:
            frames.append(await md.frame())

    data_after_first_h = frames[frames.index("h") :]
    assert any(frame.startswith("a") for frame in data_after_first_h)


async def test_sockjs_heartbeat_waits_25_seconds_where_the_default_waits_the_configured_interval(
    connect: SocketFactory,
) -> None:
    config = fast_config(heartbeat_interval_s=0.02)
    async with TradovateSim(config) as sim, aiohttp.ClientSession() as http:
        tokens = await login(http, sim)
        md = await connect(sim.md_ws_url)
        await md.authorize(tokens["mdAccessToken"])
        idle_default = [await md.frame(within=1.0) for _ in range(3)]
        sim.variants.update({"server_heartbeat": "sockjs_25s"})
        await md.frame(within=1.0)  # the `h` the old interval had already scheduled

        with pytest.raises(TimeoutError):
            await md.frame(within=0.5)  # 25 idle `h` at the default interval

    assert idle_default == ["h", "h", "h"]


@pytest.mark.parametrize(
    ("form", "d"), [("string", "Not found: md/getChart"), ("quoted_string", '"Not found: md/getChart"')]
)
async def test_error_d_as_a_string_or_a_quoted_string(sim: TradovateSim, synced: RawSocket, form: str, d: str) -> None:
    sim.variants.update({"error_d": form})

    response = await synced.request("md/getChart", 5, body=BARS)
    ok = await synced.request("account/list", 6)

    assert response == {"s": 404, "i": 5, "d": d}
    assert isinstance(ok["d"], list)


# -- specs, files, command line, control endpoint, samples --------------------------------------------------------


def test_a_spec_applies_left_to_right_and_its_label_parses_back() -> None:
    variants = Variants.parse("evidence+props_order=shuffled+error_d=quoted_string")

    assert variants.props_order == "shuffled"
    assert variants.chart_history_id == EVIDENCE_DEFAULT["chart_history_id"]
    assert Variants.parse(variants.label) == variants
    assert Variants.parse("default") == Variants() == Variants.parse("")
    assert Variants().label == "default"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("chart_history_id=sideways", "chart_history_id must be one of realtime, historical"),
        ("no_such_switch=1", "unknown switch 'no_such_switch'"),
        ("realtime", "is not `default`, `evidence` or `switch=value`"),
    ],
)
def test_a_bad_spec_is_a_clear_error(spec: str, message: str) -> None:
    with pytest.raises(VariantError, match=re.escape(message)):
        Variants.parse(spec)


def test_variants_files_in_json_and_toml(tmp_path: Path) -> None:
    as_json = tmp_path / "v.json"
    as_json.write_text('{"variants": {"base": "evidence", "sync_split": "multi_same_id"}}')
    as_toml = tmp_path / "v.toml"
    as_toml.write_text('chart_packing = "merged"\nerror_d = "quoted_string"\n')
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]")

    assert Variants.load(as_json) == Variants.evidence().with_changes({"sync_split": "multi_same_id"})
    assert Variants.load(as_toml).differences() == {"chart_packing": "merged", "error_d": "quoted_string"}
    with pytest.raises(VariantError, match="switch = value"):
        Variants.load(broken)
    with pytest.raises(VariantError, match="cannot read"):
        Variants.load(tmp_path / "missing.toml")


def test_command_line_options_build_the_variants(tmp_path: Path) -> None:
    file = tmp_path / "v.toml"
    file.write_text('token_lifetime = "90min"\n')

    variants = build_variants(["error_d=quoted_string", "props_order=shuffled+md_entitlement=none"], str(file))

    assert variants.differences() == {
        "token_lifetime": "90min",
        "error_d": "quoted_string",
        "props_order": "shuffled",
        "md_entitlement": "none",
    }
    assert switch_table()[0].split() == ["switch", "values", "default", "evidence"]
    assert len(switch_table()) == 1 + len(SWITCHES)


async def test_control_endpoint_reads_changes_and_resets_variants(
    sim: TradovateSim, http: aiohttp.ClientSession
) -> None:
    url = sim.base_url + "/sim/variants"

    async with http.post(url, data='{"error_d":"quoted_string"}') as changed:
        after_change = await changed.json()
    async with http.post(url, data='{"error_d":"loud"}') as refused:
        refusal = await refused.json()
    async with http.delete(url) as reset:
        after_reset = await reset.json()
    async with http.get(sim.base_url + "/sim/status") as status:
        summary = await status.json()

    assert after_change["current"]["error_d"] == "quoted_string"
    assert after_change["label"] == "error_d=quoted_string"
    assert refused.status == 400
    assert "error_d must be one of" in refusal["error"]
    assert after_reset["label"] == "default"
    assert {s["name"] for s in after_reset["switches"]} == set(SWITCHES)
    assert summary["variants"] == "default"


def test_one_switch_at_a_time_changes_exactly_one_switch_per_set() -> None:
    sets = one_switch_at_a_time()

    assert sets[0] == Variants()
    assert all(len(variants.differences()) == 1 for variants in sets[1:])
    assert len(sets) == 1 + sum(len(values) - 1 for values in SWITCHES.values())
    assert uncovered(sets) == []


@pytest.mark.parametrize("seed", [0, 1, 20261204])
def test_a_sample_of_max_values_sets_covers_every_setting(seed: int) -> None:
    sample = covering_sample(max_values(), seed)

    assert uncovered(sample) == []
    assert covering_sample(max_values(), seed) == sample
    assert uncovered(covering_sample(1, seed)) != []


def test_python_m_tradovate_sim_lists_the_switches(capsys: pytest.CaptureFixture[str]) -> None:
    from tradovate_sim.__main__ import main

    main(["--list-variants"])

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["switch", "values", "default", "evidence"]
    assert [line.split()[0] for line in lines[1:]] == list(SWITCHES)


def test_a_bad_variant_option_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    from tradovate_sim.command import sim_command

    with pytest.raises(SystemExit) as exited:
        sim_command(variant=["error_d=loud"])

    assert exited.value.code == 2
    assert "error_d must be one of string, quoted_string" in capsys.readouterr().err


def test_the_docs_table_has_every_switch_with_its_values_and_both_defaults() -> None:
    # docs/simulator.md must agree with the code: flipping a default in variants.py without the docs fails here.
    docs = (Path(__file__).parents[2] / "docs" / "simulator.md").read_text(encoding="utf-8")
    rows = {}
    for line in docs.splitlines():
        match = re.match(r"\| `(\w+)`[^|]*\|([^|]*)\|([^|]*)\|([^|]*)\|", line)
        if match and match.group(1) in SWITCHES:
            values, default, evidence = (cell.strip() for cell in match.groups()[1:])
            rows[match.group(1)] = (values, default.strip("*`"), evidence.split()[0].strip("`"))

    assert set(rows) == set(SWITCHES)
    for name, (values, default, evidence) in rows.items():
        assert all(f"`{value}`" in values for value in SWITCHES[name]), name
        assert default == DEFAULT[name], name
        assert evidence == EVIDENCE_DEFAULT[name], name
