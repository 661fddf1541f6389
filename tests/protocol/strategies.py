"""Hypothesis strategies shared by the protocol property tests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# JSON scalars msgspec and the stdlib agree on: no NaN/inf (not JSON), ints within 64 bits.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)

json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)

# Objects shaped like Tradovate messages, with the routing keys present or not and of any type.
message_heads: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "e": st.sampled_from(["props", "md", "chart", "shutdown", "clock"]) | json_values,
        "i": st.integers(min_value=0, max_value=2**31) | json_values,
        "s": st.sampled_from([200, 400, 401, 404, 429]) | json_values,
        "d": json_values,
    },
)
message_objects = st.tuples(message_heads, st.dictionaries(st.text(max_size=6), json_scalars, max_size=2)).map(
    lambda parts: {**parts[1], **parts[0]}
)


def compact(value: Any) -> str:
    """JSON text with compact separators and non-ASCII kept as is, like Tradovate sends."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loosely(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the expected value, sometimes any JSON value in its place (a wrongly typed key)."""
    return st.one_of(strategy, strategy, strategy, json_values)


_ints = st.integers(min_value=0, max_value=2**40)
_md_items = st.fixed_dictionaries(
    {},
    optional={"contractId": _loosely(_ints), "timestamp": _loosely(st.text(max_size=24)), "entries": json_values},
)
_md_bodies = st.fixed_dictionaries(
    {},
    optional={key: _loosely(st.lists(_md_items, max_size=3)) for key in ("quotes", "doms", "histograms")},
)
_chart_packets = st.fixed_dictionaries(
    {},
    optional={
        "id": _loosely(_ints),
        "eoh": _loosely(st.booleans()),
        "bt": _loosely(_ints),
        "bars": _loosely(st.lists(st.fixed_dictionaries({}, optional={"timestamp": _loosely(st.text())}), max_size=3)),
        "tks": _loosely(st.lists(st.fixed_dictionaries({}, optional={"id": _loosely(_ints)}), max_size=3)),
    },
)
_chart_bodies = st.fixed_dictionaries({}, optional={"charts": _loosely(st.lists(_chart_packets, max_size=3))})
_entities = st.fixed_dictionaries(
    {},
    optional={key: _loosely(_ints) for key in ("id", "orderId", "commandId", "accountId", "contractId")}
    | {"clOrdId": _loosely(st.text(max_size=8)), "timestamp": _loosely(st.text(max_size=24))},
)
_props_bodies = st.fixed_dictionaries(
    {},
    optional={
        "entityType": _loosely(st.sampled_from(["order", "command", "account", "contract", "fill"])),
        "eventType": _loosely(st.sampled_from(["Created", "Updated", "Deleted"])),
        "entity": _loosely(_entities | st.lists(_entities, max_size=3)),
    },
)

# Events shaped like the frequent kinds (md, chart, props), their `d` well formed or not, keys of any type.
routed_messages: st.SearchStrategy[dict[str, Any]] = st.one_of(
    *(
        st.fixed_dictionaries(
            {"e": st.just(kind)},
            optional={"d": _loosely(body), "i": _ints, "s": st.just(200)},
        )
        for kind, body in (("md", _md_bodies), ("chart", _chart_bodies), ("props", _props_bodies))
    )
)
