"""Config: TOML + PA_* overrides, credentials only from env or secret files, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_adapter.config import (
    ConfigError,
    Environment,
    Mode,
    Timeframe,
    load_credentials,
    load_settings,
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("PA_"):
            monkeypatch.delenv(name)


def test_embedded_default_is_the_simulator_in_live_mode_and_never_a_real_host() -> None:
    settings = load_settings()
    assert settings.environment is Environment.SIMULATOR
    assert settings.mode is Mode.LIVE
    assert all("tradovateapi.com" not in url for url in settings.endpoints())


def test_toml_values_apply_and_environment_overrides_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pa.toml"
    path.write_text('mode = "SIM"\n[backoff]\nmax_s = 5\n[[instruments]]\nsymbol = "CLF7"\ntimeframes = ["5m"]\n')
    settings = load_settings(path)
    assert (settings.mode, settings.backoff.max_s, settings.instruments[0].symbol) == (Mode.SIM, 5.0, "CLF7")
    monkeypatch.setenv("PA_BACKOFF__MAX_S", "7")
    monkeypatch.setenv("PA_MODE", "LIVE")
    settings = load_settings(path)
    assert (settings.mode, settings.backoff.max_s) == (Mode.LIVE, 7.0)


def test_config_path_may_come_from_pa_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pa.toml"
    path.write_text('mode = "SIM"\n')
    monkeypatch.setenv("PA_CONFIG", str(path))
    assert load_settings().mode is Mode.SIM


def test_a_bad_value_names_the_field_and_the_variable_that_fixes_it(tmp_path: Path) -> None:
    path = tmp_path / "pa.toml"
    path.write_text("[backoff]\ninitial_s = -1\n")
    with pytest.raises(ConfigError, match=r"backoff\.initial_s.*PA_BACKOFF__INITIAL_S"):
        load_settings(path)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pa.toml"
    path.write_text("instrumnets = []\n")
    with pytest.raises(ConfigError, match="instrumnets"):
        load_settings(path)


def test_a_bad_timeframe_names_the_accepted_forms(tmp_path: Path) -> None:
    path = tmp_path / "pa.toml"
    path.write_text('[[instruments]]\nsymbol = "ESZ6"\ntimeframes = ["90x"]\n')
    with pytest.raises(ConfigError, match="15s, 1m"):
        load_settings(path)


def test_credentials_in_the_toml_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "pa.toml"
    path.write_text('password = "hunter2-secret"\n')
    with pytest.raises(ConfigError, match="credentials may not be in the config file") as info:
        load_settings(path)
    assert "hunter2-secret" not in str(info.value)


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_credentials_come_from_the_environment_as_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PA_TRADOVATE_USERNAME", "trader")
    monkeypatch.setenv("PA_TRADOVATE_PASSWORD", "hunter2-secret")
    credentials = load_credentials()
    assert credentials.username == "trader"
    assert credentials.password is not None
    assert credentials.password.get_secret_value() == "hunter2-secret"
    assert "hunter2-secret" not in repr(credentials)
    assert "hunter2-secret" not in credentials.model_dump_json()


def test_credentials_come_from_secret_files(tmp_path: Path) -> None:
    (tmp_path / "PA_TRADOVATE_SEC").write_text("file-secret-value")
    credentials = load_credentials(tmp_path)
    assert credentials.sec is not None
    assert credentials.sec.get_secret_value() == "file-secret-value"
    assert credentials.secret_values() == ["file-secret-value"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("1s", 1), ("15s", 15), ("1m", 60), ("5m", 300), ("1h", 3600), ("1d", 86400)]
)
def test_timeframes_parse(text: str, seconds: int) -> None:
    timeframe = Timeframe.parse(text)
    assert timeframe.seconds == seconds
    assert str(timeframe) == text


@pytest.mark.parametrize("text", ["", "0m", "15", "m", "1w", "-1m", "1.5m"])
def test_bad_timeframes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="timeframe"):
        Timeframe.parse(text)
