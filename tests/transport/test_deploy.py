"""Deploying on NATS as a desk does: `pa nats config`, nats-server with that file, `pa nats provision`, then the PA.

The PA creates nothing: on a server nobody provisioned it refuses to start and says what to run.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pa_harness.nats_server import NatsServer, find_nats_server, free_port
from pa_harness.process import ChildProcess
from platform_adapter.cli import app
from platform_adapter.composition import run_pa
from platform_adapter.config import Credentials, Settings
from platform_adapter.transport.nats import (
    Module,
    NatsAuth,
    ProvisioningError,
    SetupIdentity,
    connect,
    imported_jetstream,
    open_health_bucket,
    verify_fact_stream,
)
from platform_adapter.transport.nats.connection import PASSWORD_FILE_ENV, USER_ENV, NatsCredentialsError, disconnect
from platform_adapter.transport.nats.deploy import password_file
from platform_adapter.transport.nats.streams import wait_for_consumer
from platform_adapter.transport.nats.subjects import FACT_STREAM, U_FACT_CONSUMER

from .conftest import NO_SERVER_REASON

PA_COMMAND = [sys.executable, "-c", "from platform_adapter.cli import app; app()"]


def test_nats_config_writes_the_server_file_and_one_password_file_per_identity_for_their_owner_only(
    tmp_path: Path,
) -> None:
    out = tmp_path / "nats"

    first = CliRunner().invoke(app, ["nats", "config", "--out", str(out), "--port", "4444"])
    again = CliRunner().invoke(app, ["nats", "config", "--out", str(out), "--port", "4444"])

    assert first.exit_code == 0, first.output
    config = out / "nats-server.conf"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "credentials").stat().st_mode) == 0o700
    passwords = {}
    for who in (*Module, *SetupIdentity):
        path = password_file(out, who)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        passwords[who] = path.read_text().strip()
        assert passwords[who] in config.read_text()
        assert passwords[who] not in first.output + again.output  # never printed
    assert "(kept)" in again.output and "(new)" not in again.output  # a re-run keeps every secret
    assert {p.read_text().strip() for p in (out / "credentials").iterdir()} == set(passwords.values())


@pytest.mark.parametrize("user", ["pa", "oe", "nobody"])
def test_nats_provision_runs_only_as_a_setup_identity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, user: str
) -> None:
    monkeypatch.setenv(USER_ENV, user)
    monkeypatch.setenv("PA_NATS_PASSWORD", "irrelevant")

    result = CliRunner().invoke(app, ["nats", "provision", "--url", "nats://127.0.0.1:9"])

    assert result.exit_code == 2
    assert "pa_admin" in result.output


async def test_a_desk_deploys_with_the_two_commands_and_every_module_finds_what_it_needs(tmp_path: Path) -> None:
    binary = find_nats_server()
    if binary is None:
        pytest.skip(NO_SERVER_REASON)
    out, port = tmp_path / "nats", free_port()
    written = await asyncio.to_thread(
        subprocess.run,
        [*PA_COMMAND, "nats", "config", "--out", str(out), "--port", str(port)],
        capture_output=True,
        text=True,
    )
    assert written.returncode == 0, written.stderr
    server = ChildProcess("nats-server", [str(binary), "-c", str(out / "nats-server.conf")], tmp_path / "server.log")
    server.start()
    url = f"nats://127.0.0.1:{port}"
    try:
        for setup in SetupIdentity:
            env = {**os.environ, USER_ENV: setup.value, PASSWORD_FILE_ENV: str(password_file(out, setup))}
            env.pop("PA_NATS_PASSWORD", None)
            provisioned = await asyncio.to_thread(
                subprocess.run,
                [*PA_COMMAND, "nats", "provision", "--url", url],
                capture_output=True,
                text=True,
                env=env,
            )
            assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
            assert "created" in provisioned.stdout
        pa_auth = NatsAuth("pa", password_file(out, Module.PA).read_text().strip())
        u_auth = NatsAuth("u", password_file(out, Module.U).read_text().strip())
        pa, u = await connect(url, pa_auth, name="pa"), await connect(url, u_auth, name="u")
        try:
            await verify_fact_stream(pa.jetstream())
            await open_health_bucket(pa.jetstream())
            await wait_for_consumer(imported_jetstream(u), FACT_STREAM, U_FACT_CONSUMER, timeout_s=5)
        finally:
            await disconnect(pa)
            await disconnect(u)
    finally:
        await server.stop()


async def test_the_pa_refuses_to_start_on_a_server_nobody_provisioned_and_names_the_command(tmp_path: Path) -> None:
    if find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    async with NatsServer(tmp_path / "nats") as server:  # started, not provisioned
        pa = await connect(server.url, server.auth(Module.PA), name="pa")
        try:
            with pytest.raises(ProvisioningError, match=r"PA_FACTS.*does not exist.*pa nats provision"):
                await verify_fact_stream(pa.jetstream())
            with pytest.raises(ProvisioningError, match=r"pa_health.*does not exist"):
                await open_health_bucket(pa.jetstream())
        finally:
            await disconnect(pa)


def test_pa_run_over_nats_on_an_unprovisioned_server_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    server = NatsServer(tmp_path / "nats")
    asyncio.run(server.start())
    try:
        monkeypatch.setenv(USER_ENV, "pa")
        monkeypatch.setenv("PA_NATS_PASSWORD", server.passwords[Module.PA])
        settings = Settings(
            log_dir=tmp_path / "logs",
            rest_url="http://127.0.0.1:9/v1",
            trading_ws_url="ws://127.0.0.1:9",
            md_ws_url="ws://127.0.0.1:9",
        )

        code = run_pa(settings, Credentials(), tui=False, transport=server.url)

        assert code == 2
        err = capsys.readouterr().err
        assert "pa: NATS: the facts stream (PA_FACTS) does not exist" in err
        assert "Traceback" not in err
    finally:
        asyncio.run(server.stop())


def test_a_password_comes_from_the_environment_or_a_file_and_an_unreadable_file_is_one_clear_error(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "pa.password"
    secret.write_text("s3cret\n")

    assert NatsAuth.from_env({USER_ENV: "pa", PASSWORD_FILE_ENV: str(secret)}) == NatsAuth("pa", "s3cret")
    assert NatsAuth.from_env({USER_ENV: "pa", "PA_NATS_PASSWORD": "env", PASSWORD_FILE_ENV: str(secret)}) == NatsAuth(
        "pa", "env"
    )
    with pytest.raises(NatsCredentialsError, match=r"PA_NATS_PASSWORD_FILE: cannot read .*missing"):
        NatsAuth.from_env({USER_ENV: "pa", PASSWORD_FILE_ENV: str(tmp_path / "missing")})
