"""Strict, quiet configuration (issue 15 item 4): unknown keys refused at any depth by their path, no secret value
ever echoed, secret files open to others warned about (or refused), and every bad input one ConfigError line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from platform_adapter.config import MASK, ConfigError, InstrumentSettings, load_credentials, load_settings, shown

SECRET = "hunter2-secret"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("PA_"):
            monkeypatch.delenv(name)


def refused(tmp_path: Path, toml: str | bytes) -> str:
    path = tmp_path / "pa.toml"
    if isinstance(toml, bytes):
        path.write_bytes(toml)
    else:
        path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert "\n" not in message  # one line
    return message


@pytest.mark.parametrize(
    ("toml", "path"),
    [
        ("[backoff]\nmax = 5\n", "backoff.max"),
        ('[[instruments]]\nsymbol = "ESZ6"\ntimeframe = "1m"\n', "instruments[0].timeframe"),
        ("[heartbeat]\ninterval_s = 1\n", "heartbeat.interval_s"),
        ("[outbox]\ncapacity = 10\nhigh = 0.9\n", "outbox.high"),
        ("[simulator]\nseeds = 3\n", "simulator.seeds"),
        ("[backoff.nested]\nx = 1\n", "backoff.nested"),
    ],
)
def test_an_unknown_key_at_any_depth_is_refused_by_its_path(tmp_path: Path, toml: str, path: str) -> None:
    message = refused(tmp_path, toml)
    assert f"{path}: unknown key" in message
    assert "known keys:" in message


def test_an_unknown_key_names_the_key_it_was_probably_meant_to_be(tmp_path: Path) -> None:
    assert "did you mean max_s?" in refused(tmp_path, "[backoff]\nmax = 5\n")
    assert "did you mean timeframes?" in refused(tmp_path, '[[instruments]]\nsymbol = "ES"\ntimeframe = "1m"\n')


@pytest.mark.parametrize(
    "toml",
    [
        f'Password = "{SECRET}"\n',
        f'[credentials]\npassword = "{SECRET}"\n',
        f'[backoff]\npassword = "{SECRET}"\n',
        f'[[instruments]]\nsymbol = "ESZ6"\nsec = "{SECRET}"\n',
        f'[simulator]\napi_token = "{SECRET}"\n',
        f'cid = "{SECRET}"\n',
        f'tradovate = {{ key = "{SECRET}" }}\n',
        f'[simulator]\npassword = ["{SECRET}"]\n',
    ],
)
def test_a_refused_secret_looking_key_is_never_echoed_with_its_value(tmp_path: Path, toml: str) -> None:
    message = refused(tmp_path, toml)
    assert SECRET not in message


def test_a_secret_in_an_environment_variable_that_is_refused_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PA_SIMULATOR__PASSWORD", "x" * 500)  # too long: refused by name only
    with pytest.raises(ConfigError, match=r"simulator\.password") as info:
        load_settings()
    assert "xxxx" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PA_BACKOF__MAX_S", "3", "unknown environment variable PA_BACKOF__MAX_S"),
        ("PA_BACKOFF__MAX", "3", "backoff.max: unknown key"),
        ("PA_MODEE", "SIM", "did you mean mode?"),
        ("PA_TRADOVATE_PASWORD", SECRET, "unknown credential variable PA_TRADOVATE_PASWORD"),
        ("PA_INSTRUMENTS", "notjson", "PA_INSTRUMENTS is not valid JSON"),
        ("PA_INSTRUMENTS", "[]", "at least one [[instruments]]"),
        ("PA_LOG_LEVEL", "LOUD", "log_level"),
        ("PA_BACKOFF__MAX_S", "inf", "finite"),
        ("PA_BACKOFF__MAX_S", "nan", "backoff.max_s"),
        ("PA_METRICS_PORT", "9" * 40, "metrics_port"),
        ("PA_ACCOUNTS", "[" * 3000 + "]" * 3000, "PA_"),
        ("PA_MODE", "SIM\udcff", "not valid UTF-8"),
    ],
)
def test_a_bad_environment_value_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_credentials() if name.startswith("PA_TRADOVATE_") else load_settings()
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert SECRET not in message


def test_the_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PA_LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (b'mode = "\xff\xfe"\n', "not UTF-8 text (byte 0xff at offset 8)"),
        (b"instruments = []\n", "at least one [[instruments]]"),
        (b'log_level = "LOUD"\n', "log_level"),
        (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nests arrays or tables too deeply"),
        (b"metrics_port = 99999999999999999999999999\n", "metrics_port"),
        (b"[backoff]\nmax_s = nan\n", "finite"),
        (b"[backoff]\nmax_s = inf\n", "finite"),
        (b"chart_history_bars = 10000000000000\n", "chart_history_bars"),
        (b'[[instruments]]\nsymbol = "ES Z6"\n', "instruments[0].symbol"),
        (b'[[instruments]]\nsymbol = "ESZ6"\n[[instruments]]\nsymbol = "ESZ6"\n', "repeated: ESZ6"),
        (b'[[instruments]]\nsymbol = "ESZ6"\nquotes = false\nprice_band_pct = 5\n', "needs quotes = true"),
        (b'log_dir = "a\\u0000b"\n', "log_dir"),
        (b'rest_url = "file:///etc/passwd"\n', "rest_url"),
        (b"not toml at all = = =\n", "not valid TOML"),
    ],
)
def test_a_bad_config_file_is_one_clear_line(tmp_path: Path, toml: bytes, expected: str) -> None:
    assert expected in refused(tmp_path, toml)


def test_a_config_file_too_large_to_be_one_is_refused_unread(tmp_path: Path) -> None:
    assert "larger than" in refused(tmp_path, "# " + "x" * 2_000_000 + "\n")


def test_instrument_limits_are_configurable_per_instrument(tmp_path: Path) -> None:
    path = tmp_path / "pa.toml"
    path.write_text(
        '[[instruments]]\nsymbol = "ESZ6"\nmax_order_qty = 5\nmax_position = 10\nprice_band_pct = 2.5\n'
        '[[instruments]]\nsymbol = "NQZ6"\n'
    )
    es, nq = load_settings(path).instruments
    assert (es.max_order_qty, es.max_position, es.price_band_pct) == (5, 10, 2.5)
    assert (nq.max_order_qty, nq.max_position, nq.price_band_pct) == (100, None, None)  # the defaults (ADR 0010)
    assert InstrumentSettings(symbol="X").max_order_qty == 100


# -- secrets on disk ---------------------------------------------------------------------------------------------


def secrets_dir(tmp_path: Path, dir_mode: int, file_mode: int) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    secret = directory / "PA_TRADOVATE_PASSWORD"
    secret.write_text(SECRET)
    secret.chmod(file_mode)
    directory.chmod(dir_mode)
    return directory


def test_private_secret_files_pass_without_a_word(tmp_path: Path) -> None:
    warnings: list[str] = []
    credentials = load_credentials(secrets_dir(tmp_path, 0o700, 0o600), warnings=warnings)
    assert credentials.password is not None
    assert warnings == []


@pytest.mark.parametrize(("dir_mode", "file_mode"), [(0o700, 0o644), (0o755, 0o600), (0o700, 0o660)])
def test_a_secret_file_or_directory_readable_by_others_is_warned_about(
    tmp_path: Path, dir_mode: int, file_mode: int
) -> None:
    warnings: list[str] = []
    credentials = load_credentials(secrets_dir(tmp_path, dir_mode, file_mode), warnings=warnings)
    assert credentials.password is not None  # loaded: the default policy warns
    assert warnings
    assert all("chmod go-rwx" in w and SECRET not in w for w in warnings)


def test_with_the_refuse_policy_a_secret_readable_by_others_stops_the_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"PA_TRADOVATE_PASSWORD.*readable or writable by group or others") as info:
        load_credentials(secrets_dir(tmp_path, 0o700, 0o644), policy="refuse")
    assert SECRET not in str(info.value)


def test_the_refuse_policy_is_a_setting(tmp_path: Path) -> None:
    path = tmp_path / "pa.toml"
    path.write_text('secrets_permissions = "refuse"\n')
    assert load_settings(path).secrets_permissions == "refuse"
    assert "secrets_permissions" in refused(tmp_path, 'secrets_permissions = "maybe"\n')


def test_config_show_masks_secret_keys_and_nothing_else() -> None:
    shown_settings = shown(load_settings())
    assert shown_settings["simulator"]["password"] == MASK
    assert shown_settings["heartbeat"]["token_renew_before_s"] == 900.0  # a "token" setting, not a secret
    assert shown_settings["secrets_permissions"] == "warn"
