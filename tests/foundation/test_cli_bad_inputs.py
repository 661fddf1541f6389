"""Every bad input of issue 15, through the real `pa` command: one clear line naming what to fix, exit 2, no traceback.

Issue 15: `metrics_port` in use, `log_level="LOUD"`, non-UTF-8 TOML, `PA_INSTRUMENTS=notjson`, an unwritable
`log_dir`, an unknown symbol at run time and `instruments=[]` each ended in a traceback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PA = Path(sys.executable).parent / "pa"


def pa(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 60.0) -> tuple[int, str]:
    clean = {name: value for name, value in os.environ.items() if not name.upper().startswith("PA_")}
    result = subprocess.run(  # noqa: S603 - the venv's own `pa`, fixed arguments
        [str(PA), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result.returncode, result.stderr


def assert_one_clear_line(code: int, stderr: str, *expected: str) -> None:
    assert code == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("pa: configuration error")]
    assert len(errors) == 1, stderr[-2000:]
    for text in expected:
        assert text in errors[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


STATIC_INPUTS = [
    (b'log_level = "LOUD"\n', {}, ("log_level", "'LOUD'")),
    (b'mode = "L\xffIVE"\n', {}, ("not UTF-8", "save it as UTF-8")),
    (b"", {"PA_INSTRUMENTS": "notjson"}, ("PA_INSTRUMENTS is not valid JSON",)),
    (b"instruments = []\n", {}, ("instruments", "at least one [[instruments]]")),
    (b"[backoff]\nmax = 5\n", {}, ("backoff.max: unknown key", "max_s")),
    (b'[[instruments]]\nsymbol = "ESZ6"\ntimeframe = "1m"\n', {}, ("instruments[0].timeframe: unknown key",)),
    (b'Password = "hunter2-secret"\n', {}, ("Password", "credentials may not be in the config file")),
]


@pytest.mark.parametrize("command", [["config", "show"], ["run", "--no-tui"]])
@pytest.mark.parametrize(("toml", "env", "expected"), STATIC_INPUTS)
def test_a_bad_config_is_one_line_and_exit_2_through_the_cli(
    tmp_path: Path, command: list[str], toml: bytes, env: dict[str, str], expected: tuple[str, ...]
) -> None:
    (tmp_path / "pa.toml").write_bytes(toml)
    code, stderr = pa([*command, "--config", "pa.toml"], tmp_path, env)
    assert_one_clear_line(code, stderr, *expected)
    assert "hunter2-secret" not in stderr


def test_metrics_port_in_use_is_one_line_and_exit_2(tmp_path: Path, busy_port: int) -> None:
    (tmp_path / "pa.toml").write_text(f"metrics_port = {busy_port}\n")
    code, stderr = pa(["run", "--no-tui", "--config", "pa.toml"], tmp_path)
    assert_one_clear_line(code, stderr, f"metrics_port {busy_port}", "choose a free port")


def test_an_unwritable_log_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "occupied").write_text("a file where the log directory should be")
    (tmp_path / "pa.toml").write_text('log_dir = "occupied/logs"\n')
    code, stderr = pa(["run", "--no-tui", "--config", "pa.toml"], tmp_path)
    assert_one_clear_line(code, stderr, "occupied/logs", "log_dir")


def test_an_unknown_symbol_at_run_time_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "pa.toml").write_text('[[instruments]]\nsymbol = "ZZZ9"\n')
    code, stderr = pa(["run", "--no-tui", "--config", "pa.toml"], tmp_path)
    assert_one_clear_line(code, stderr, "'ZZZ9'", "instruments")


def test_a_secret_file_open_to_others_is_warned_about_and_refused_when_configured(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "PA_TRADOVATE_PASSWORD").write_text("hunter2-secret")
    (secrets / "PA_TRADOVATE_PASSWORD").chmod(0o644)
    env = {"PA_SECRETS_DIR": str(secrets)}
    code, stderr = pa(["config", "show"], tmp_path, env)
    assert code == 0
    assert "pa: warning: secret file" in stderr
    (tmp_path / "pa.toml").write_text('secrets_permissions = "refuse"\n')
    code, stderr = pa(["config", "show", "--config", "pa.toml"], tmp_path, env)
    assert_one_clear_line(code, stderr, "PA_TRADOVATE_PASSWORD", "chmod go-rwx")
    assert "hunter2-secret" not in stderr


def test_the_demo_reports_a_metrics_port_in_use_the_same_way(tmp_path: Path, busy_port: int) -> None:
    (tmp_path / "pa.toml").write_text(f"metrics_port = {busy_port}\n")
    code, stderr = pa(["demo", "--no-tui", "--duration", "1", "--config", "pa.toml"], tmp_path)
    assert_one_clear_line(code, stderr, f"metrics_port {busy_port}")
