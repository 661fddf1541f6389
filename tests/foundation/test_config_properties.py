"""Property tests of the config loader: any TOML file or PA_* value is a Settings or one ConfigError line.

The strategies reach the same pathologies as the codec's (`tests/protocol/test_hostile_input.py`): nesting past the
interpreter's recursion limit, size, unicode, NaN/inf and integers past 64 bits, in the TOML file and in PA_*
values such as PA_INSTRUMENTS (issue 15: a deep array in the TOML, PA_INSTRUMENTS=notjson and log_level="LOUD"
each ended in a traceback; a refused key was echoed with its secret value).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_adapter.config import ConfigError, Settings, load_credentials, load_settings

SECRET = "s3cr3t-never-shown"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

depths = st.integers(min_value=1, max_value=4_000)


def toml_string(text: str) -> str:
    escaped = "".join(
        "\\\\" if c == "\\" else '\\"' if c == '"' else f"\\u{ord(c):04x}" if ord(c) < 0x20 or c == "\x7f" else c
        for c in text
    )
    return f'"{escaped}"'


def nested_array(depth: int, leaf: str) -> str:
    return "[" * depth + leaf + "]" * depth


def nested_table(depth: int, leaf: str) -> str:
    return "{ a = " * depth + leaf + " }" * depth


toml_scalars = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "+nan", "1e400", "-1e400", "0", "-1", "true", "1979-05-27"]),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["9" * 19, "9" * 40, "1" * 4_000]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=40).map(toml_string),
    st.sampled_from(["LOUD", "LIVE", "SIM", "ESZ6", "\U0001f4a5\u202e", "x" * 5_000]).map(toml_string),
)
toml_values = st.one_of(
    toml_scalars,
    st.builds(nested_array, depths, toml_scalars),
    st.builds(nested_table, depths, toml_scalars),
    st.lists(toml_scalars, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
)
tables = st.sampled_from(
    ["", "[backoff]", "[heartbeat]", "[outbox]", "[simulator]", '[[instruments]]\nsymbol = "ESZ6"']
)
keys = st.one_of(
    st.sampled_from(
        [
            "mode",
            "environment",
            "instruments",
            "accounts",
            "log_level",
            "log_dir",
            "metrics_port",
            "max_s",
            "initial_s",
            "capacity",
            "timeframes",
            "symbol",
            "max_order_qty",
            "price_band_pct",
            "seed",
            "password",
            "api_token",
            "Password",
            "timeframe",
            "max",
        ]
    ),
    st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True),
)
# A secret under a key that names one, in any table and wrapped in any nesting: never part of an error.
secret_values = st.one_of(
    st.just(toml_string(SECRET)),
    st.builds(nested_array, depths, st.just(toml_string(SECRET))),
    st.builds(nested_table, st.integers(1, 50), st.just(toml_string(SECRET))),
    st.just(toml_string(SECRET + "x" * 500)),
)
secret_entries = st.tuples(
    tables, st.sampled_from(["password", "Password", "api_token", "secret", "cid", "sec", "token"]), secret_values
)
documents = st.lists(st.tuples(tables, keys, toml_values) | secret_entries, min_size=1, max_size=3).map(
    lambda entries: "\n".join(f"{table}\n{key} = {value}" for table, key, value in entries) + "\n"
)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.upper().startswith("PA_")}
    os.environ.update(values)
    try:
        yield
    finally:
        for name in values:
            os.environ.pop(name, None)
        os.environ.update(saved)


def loads_or_one_line(path: Path | None = None) -> Settings | None:
    try:
        return load_settings(path)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message
        assert SECRET not in message
        assert len(message) < 4_000
        return None


@SETTINGS
@given(documents, st.booleans())
def test_any_toml_file_is_settings_or_one_config_error_line(tmp_path: Path, document: str, as_latin1: bool) -> None:
    path = tmp_path / "pa.toml"
    data = document.encode("utf-8")
    if as_latin1:  # the same text, not UTF-8 wherever it is not ASCII
        data = document.encode("latin-1", "replace") + b"# \xff\n"
    path.write_bytes(data)
    with environment({}):
        loads_or_one_line(path)


env_names = st.sampled_from(
    [
        "PA_INSTRUMENTS",
        "PA_ACCOUNTS",
        "PA_MODE",
        "PA_LOG_LEVEL",
        "PA_METRICS_PORT",
        "PA_BACKOFF__MAX_S",
        "PA_BACKOFF",
        "PA_HEARTBEAT",
        "PA_OUTBOX__CAPACITY",
        "PA_SIMULATOR__PASSWORD",
        "PA_SIMULATOR",
        "PA_CHART_HISTORY_BARS",
        "PA_BACKOF__MAX_S",
        "PA_TRADOVATE_PASWORD",
        "PA_SECRETS_PERMISSIONS",
    ]
)
json_leaves = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", str(2**64 + 5), str(-(2**70)), "null", "true", "{}"]),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(max_size=20).map(json.dumps),
    st.just('{"symbol":"ESZ6","timeframes":["1m"],"max_order_qty":' + str(2**70) + "}"),
)
env_values = st.one_of(
    json_leaves,
    st.builds(lambda depth, leaf: "[" * depth + leaf + "]" * depth, st.integers(1, 30_000), json_leaves),
    st.builds(lambda depth, leaf: '{"a":' * depth + leaf + "}" * depth, st.integers(1, 3_000), json_leaves),
    st.text(max_size=60).filter(lambda t: "\x00" not in t),
    st.sampled_from(["notjson", "LOUD", "SIM\udcff", "\udcfe\udcff", "x" * 20_000]),
)
secret_env = st.dictionaries(
    st.sampled_from(["PA_SIMULATOR__PASSWORD", "PA_TRADOVATE_PASWORD", "PA_TRADOVATE_PASSWORD", "PA_TRADOVATE_SEC"]),
    st.sampled_from([SECRET, SECRET + "x" * 500, "[" + json.dumps(SECRET) + "]", SECRET + "\udcff"]),
    max_size=2,
)


@SETTINGS
@given(st.dictionaries(env_names, env_values, min_size=1, max_size=3), secret_env)
def test_any_pa_environment_value_is_settings_or_one_config_error_line(
    values: dict[str, str], secrets: dict[str, str]
) -> None:
    with environment({**values, **secrets}):
        if loads_or_one_line() is not None:
            credentials_or_one_line()


def credentials_or_one_line() -> None:
    message = ""
    try:
        credentials = load_credentials()
    except ConfigError as exc:
        message = str(exc)
    else:  # what was loaded can go on the wire (a login body is UTF-8 JSON)
        for value in credentials.secret_values():
            value.encode("utf-8")
    assert "\n" not in message
    assert SECRET not in message
