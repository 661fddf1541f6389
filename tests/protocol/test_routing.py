"""Routing heads read from documented events; odd shapes give empty heads, never exceptions."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_adapter.tradovate.protocol import (
    ChartHead,
    ChartPacket,
    CommandRef,
    Event,
    FillRef,
    MdHead,
    MessagesFrame,
    OrderRef,
    PositionRef,
    PropsHead,
    Response,
    ShutdownNotice,
    SyncSnapshotRefs,
    chart_head,
    decode_frame,
    md_head,
    props_head,
    shutdown_head,
    sync_snapshot_head,
    sync_snapshot_refs,
)

from . import samples
from .strategies import json_values


def payload(item: str) -> msgspec.Raw:
    frame = decode_frame("a[" + item + "]")
    assert isinstance(frame, MessagesFrame)
    (message,) = frame.messages
    assert isinstance(message, Event | Response)
    assert message.d is not None
    return message.d


def test_quote_event_head() -> None:
    # JS:EX-08 quote event
    assert md_head(payload(samples.QUOTE_EVENT)) == MdHead("quote", (123456,), ("2017-04-13T04:59:06.588Z",))


def test_quote_event_with_fractional_sizes_and_partial_entries() -> None:
    # DOCS wss-guide/message-protocol md event
    assert md_head(payload(samples.QUOTE_EVENT_DOCS)) == MdHead("quote", (123456,), ("2021-04-13T04:59:06.588Z",))


def test_dom_event_head() -> None:
    # JS:EX-09 DOM event
    assert md_head(payload(samples.DOM_EVENT)) == MdHead("dom", (123456,), ("2017-04-13T11:33:57.488Z",))


def test_histogram_event_head() -> None:
    # JS:EX-09 histogram event
    head = md_head(payload(samples.HISTOGRAM_EVENT))
    assert head == MdHead("histogram", (123456,), ("2017-04-13T11:33:57.412Z",))


def test_throttled_quote_message_with_several_contracts() -> None:
    # COMM:2124: throttling may merge several symbols in one message
    d = b'{"quotes":[{"timestamp":"T1","contractId":1,"entries":{}},{"timestamp":"T2","contractId":2,"entries":{}}]}'
    assert md_head(d) == MdHead("quote", (1, 2), ("T1", "T2"))


def test_mixed_or_unknown_md_payloads_are_labelled_md() -> None:
    mixed = b'{"quotes":[{"contractId":1,"timestamp":"T1"}],"doms":[{"contractId":2,"timestamp":"T2"}]}'
    assert md_head(mixed) == MdHead("md", (1, 2), ("T1", "T2"))
    assert md_head(b'{"somethingNew":[]}') == MdHead("md", (), ())
    assert md_head(None) == MdHead("md", (), ())


def test_md_item_with_odd_values_keeps_the_good_ones() -> None:
    d = b'{"quotes":[{"contractId":"x","timestamp":"T1"},7,{"contractId":3,"timestamp":null}]}'
    assert md_head(d) == MdHead("quote", (3,), ("T1",))


def test_chart_bars_head() -> None:
    # JS:EX-10 bar inside an MDDOC packet
    head = chart_head(payload(samples.CHART_BARS_EVENT))
    assert head == ChartHead(
        subscription_ids=(32,),
        eoh=False,
        has_bars=True,
        has_ticks=False,
        first_bar_timestamp="2017-04-13T11:00:00.000Z",
        last_bar_timestamp="2017-04-13T11:00:00.000Z",
        first_tick_id=None,
        last_tick_id=None,
    )


def test_first_and_last_bar_are_taken_as_sent_across_packets() -> None:
    d = (
        b'{"charts":[{"id":31,"td":20170413,"bars":[{"timestamp":"B1"},{"timestamp":"B2"}]},'
        b'{"id":32,"td":20170413,"bars":[{"timestamp":"B0"}]},{"id":32,"eoh":true}]}'
    )
    head = chart_head(d)
    assert (head.subscription_ids, head.eoh) == ((31, 32), True)
    assert (head.first_bar_timestamp, head.last_bar_timestamp) == ("B1", "B0")
    # Packets of two subscriptions in one message (COMM:2124): each keeps its own id and last bar.
    assert head.packets == (
        ChartPacket(31, False, True, False, "B2", None, None),
        ChartPacket(32, False, True, False, "B0", None, None),
        ChartPacket(32, True, False, False, None, None, None),
    )


def test_end_of_history_packet() -> None:
    # MDDOC; FAQ:HowToHandleDataSizeLimits: {"id":<id>,"eoh":true}
    head = chart_head(payload(samples.EOH_EVENT))
    assert head == ChartHead((32,), True, False, False, None, None, None, None)


def test_tick_packet_head() -> None:
    # JS:EX-11 tick chart packet followed by its eoh packet
    head = chart_head(payload(samples.TICK_CHART_EVENT))
    assert head == ChartHead(
        subscription_ids=(16335,),
        eoh=True,
        has_bars=False,
        has_ticks=True,
        first_bar_timestamp=None,
        last_bar_timestamp=None,
        first_tick_id=11768401,
        last_tick_id=11768401,
        last_tick_base_ms=1563421179735,  # the packet's `bt`, as sent
        packets=(  # a tick packet and `eoh` share the array: each is labelled on its own
            ChartPacket(16335, False, False, True, None, 11768401, 1563421179735),
            ChartPacket(16335, True, False, False, None, None, None),
        ),
    )


def test_ticks_out_of_order_report_first_and_last_as_sent() -> None:
    # MDDOC / JS:EX-11: ticks can arrive out of chronological order; the head does not sort
    d = b'{"charts":[{"id":5,"bt":0,"bp":0,"ts":0.25,"tks":[{"t":9,"p":0,"s":1,"id":30},{"t":1,"p":0,"s":1,"id":10}]}]}'
    head = chart_head(d)
    assert (head.first_tick_id, head.last_tick_id) == (30, 10)


def test_chart_packet_with_odd_bars_still_reports_its_subscription() -> None:
    d = b'{"charts":[{"id":7,"bars":"oops"},{"id":8,"eoh":true,"tks":[{"id":"x"}]}]}'
    head = chart_head(d)
    assert head.subscription_ids == (7, 8)
    assert head.eoh is True
    assert head.has_ticks is True
    assert head.last_tick_id is None


def test_props_head_with_an_object_entity() -> None:
    # DOCS wss-guide/message-protocol props sample
    head = props_head(payload(samples.PROPS_ORDER_FRAME[2:-1]))
    assert head == PropsHead(
        entity_type="order",
        event_type="Created",
        entity_ids=(210518,),
        order_ids=(210518,),
        command_ids=(),
        cl_ord_ids=(),
        account_ids=(25,),
        contract_ids=(560901,),
        timestamp="2016-11-04T00:02:36.626Z",
    )


def test_props_head_with_an_array_entity() -> None:
    # WSMD / CSWS: entity may be an array
    head = props_head(samples.PROPS_ARRAY_D.encode())
    assert head.entity_type == "order"
    assert head.event_type == "Updated"
    assert head.entity_ids == head.order_ids == (210518, 210519)
    assert head.account_ids == (25, 26)
    assert head.contract_ids == (560901,)  # no repeats
    assert head.timestamp == "2016-11-04T00:02:36.626Z"


def test_command_and_fill_entities_link_to_their_order() -> None:
    # SWAG Command {id, orderId, clOrdId}; Fill {id, orderId, contractId}
    command = props_head(
        b'{"entityType":"command","eventType":"Created","entity":{"id":900,"orderId":210518,"clOrdId":"intent-1"}}'
    )
    assert (command.command_ids, command.order_ids, command.cl_ord_ids) == ((900,), (210518,), ("intent-1",))
    report = props_head(
        b'{"entityType":"executionReport","eventType":"Created","entity":{"id":1,"commandId":900,"orderId":210518}}'
    )
    assert (report.entity_ids, report.command_ids, report.order_ids) == ((1,), (900,), (210518,))


def test_props_head_with_odd_entities_keeps_what_it_can() -> None:
    d = b'{"entityType":"fill","eventType":"Created","entity":[{"id":1,"orderId":2},"x",{"id":"3"}]}'
    head = props_head(d)
    assert (head.entity_type, head.entity_ids, head.order_ids) == ("fill", (1,), (2,))
    assert props_head(b'{"entityType":5,"entity":null}') == PropsHead(None, None, (), (), (), (), (), (), None)


def test_sync_snapshot_is_recognised_by_users() -> None:
    # FAQ-USR / JS:EX-07: clients detect the snapshot by the presence of `users`
    assert sync_snapshot_head(samples.SYNC_SNAPSHOT_D.encode()) is True
    assert sync_snapshot_head(b'{"users":[]}') is True
    assert sync_snapshot_head(payload(samples.CONTRACT_RESPONSE_FRAME[2:-1])) is False
    assert sync_snapshot_head(b"[]") is False
    assert sync_snapshot_head(None) is False


def test_sync_snapshot_refs_give_the_reconciler_its_ids() -> None:
    refs = sync_snapshot_refs(samples.SYNC_SNAPSHOT_D.encode())
    assert refs == SyncSnapshotRefs(
        orders=(OrderRef(210518, 25, 560901, "PendingNew"),),
        commands=(CommandRef(900, 210518, "intent-1"),),
        positions=(PositionRef(77, 25, 560901, -1),),
        fills=(FillRef(501, 210518),),
        skipped=0,
        accounts=(25,),
        lists=frozenset({"accounts", "orders", "commands", "positions", "fills"}),
    )


def test_sync_snapshot_refs_count_what_they_cannot_read() -> None:
    d = b'{"users":[],"orders":[{"id":1},{"accountId":2},3],"fills":{"id":4},"positions":[{"id":5,"netPos":"x"}]}'
    refs = sync_snapshot_refs(d)
    assert refs is not None
    assert refs.orders == (OrderRef(1, None, None, None),)
    assert refs.positions == (PositionRef(5, None, None, None),)
    assert refs.fills == ()
    assert refs.skipped == 3  # the order without id, the order that is a number, the fills object


def test_a_response_that_is_not_a_snapshot_has_no_refs() -> None:
    assert sync_snapshot_refs(b'{"orders":[{"id":1}]}') is None
    assert sync_snapshot_refs(b'"text"') is None
    assert sync_snapshot_refs(b'"text"', part=True) is None


def test_a_part_of_a_split_snapshot_is_read_without_users_and_says_what_it_holds() -> None:
    # P api/rest-api-endpoints/users/sync-request: SyncMessage lists are "list of objects or null".
    refs = sync_snapshot_refs(b'{"orders":[{"id":1}],"commands":[],"positions":null}', part=True)
    assert refs is not None
    assert refs.orders == (OrderRef(1, None, None, None),)
    assert (refs.lists, refs.nulls) == (frozenset({"orders", "commands"}), frozenset({"positions"}))
    # The same, read item by item after a malformed section: a section that is no list says nothing.
    refs = sync_snapshot_refs(b'{"orders":[{"id":1},7],"commands":{"id":2},"positions":null}', part=True)
    assert refs is not None
    assert (refs.lists, refs.nulls, refs.skipped) == (frozenset({"orders"}), frozenset({"positions"}), 2)


def test_shutdown_head() -> None:
    # DOCS / WSMD shutdown event
    assert shutdown_head(payload(samples.SHUTDOWN_EVENT)) == ShutdownNotice("Maintenance", "Scheduled maintenance")
    assert shutdown_head(b'{"reasonCode":"IPQuotaReached"}') == ShutdownNotice("IPQuotaReached", None)
    assert shutdown_head(b'{"reasonCode":1}') == ShutdownNotice(None, None)
    assert shutdown_head(b"[]") is None


HEADS = [md_head, chart_head, props_head, shutdown_head, sync_snapshot_head, sync_snapshot_refs]

# Payloads shaped like the documented ones, with any value in any slot.
shaped = st.fixed_dictionaries(
    {},
    optional={
        "quotes": json_values,
        "doms": st.lists(json_values, max_size=3),
        "charts": st.lists(
            st.fixed_dictionaries(
                {}, optional={"id": json_values, "eoh": json_values, "bars": json_values, "tks": json_values}
            ),
            max_size=3,
        ),
        "entityType": json_values,
        "entity": json_values,
        "users": json_values,
        "orders": json_values,
        "reasonCode": json_values,
    },
)


@pytest.mark.parametrize("head", HEADS)
@settings(max_examples=150, deadline=None)
@given(data=st.binary() | (json_values | shaped).map(lambda value: msgspec.json.encode(value)))
def test_heads_never_raise(head: object, data: bytes) -> None:
    assert callable(head)
    head(data)
