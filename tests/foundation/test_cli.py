"""The CLI: version, config show with secrets redacted, REPLAY refusal, clear config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from platform_adapter import __version__
from platform_adapter.cli import app

SECRET = "hunter2-secret"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("PA_"):
            monkeypatch.delenv(name)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize("command", ["run", "demo", "sim", "probe", "bench", "acceptance", "soak", "config"])
def test_every_subcommand_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_config_show_prints_effective_config_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PA_TRADOVATE_PASSWORD", SECRET)
    monkeypatch.setenv("PA_TRADOVATE_SEC", SECRET + "-sec")
    monkeypatch.setenv("PA_TRADOVATE_USERNAME", "trader")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    shown = json.loads(result.output)
    assert shown["credentials"]["username"] == "trader"
    assert shown["credentials"]["password"] == "**********"
    assert shown["settings"]["mode"] == "LIVE"


@pytest.mark.parametrize("how", ["toml", "env"])
def test_run_refuses_replay_mode_naming_it(how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["run", "--no-tui"]
    if how == "toml":
        path = tmp_path / "pa.toml"
        path.write_text('mode = "REPLAY"\n')
        args += ["--config", str(path)]
    else:
        monkeypatch.setenv("PA_MODE", "REPLAY")
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "REPLAY" in result.output


def test_a_bad_config_exits_non_zero_with_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "pa.toml"
    path.write_text('mode = "LIVEE"\n')
    result = runner.invoke(app, ["config", "show", "--config", str(path)])
    assert result.exit_code == 2
    assert "mode" in result.output
    assert "PA_MODE" in result.output
