"""With real-looking credentials configured, neither `pa config show` nor the demo prints or writes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from platform_adapter.cli import app

PASSWORD = "hunter2-secret"
SEC = "hunter2-sec-value"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    import os

    for name in list(os.environ):
        if name.startswith("PA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PA_TRADOVATE_USERNAME", "trader")
    monkeypatch.setenv("PA_TRADOVATE_PASSWORD", PASSWORD)
    monkeypatch.setenv("PA_TRADOVATE_SEC", SEC)
    monkeypatch.setenv("PA_TRADOVATE_CID", "8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _assert_nowhere(text: str, root: Path) -> None:
    for secret in (PASSWORD, SEC):
        assert secret not in text
        for path in root.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret!r} written to {path}"


def test_config_show_and_its_output_hold_no_secret(secret_env: Path) -> None:
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    _assert_nowhere(result.output, secret_env)


def test_the_demo_logs_in_with_the_secret_and_never_prints_or_writes_it(secret_env: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-tui", "--duration", "0"])
    assert result.exit_code == 0, result.output
    assert "demo finished" in result.output  # the login with the configured secret worked end to end
    files = list(secret_env.rglob("*"))
    assert any(p.name == "pa.jsonl" for p in files)  # the log exists, and it is clean
    _assert_nowhere(result.output, secret_env)
