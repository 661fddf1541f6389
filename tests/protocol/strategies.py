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
