"""The NATS server of the deployed-path benchmarks: the PA's accounts as deployed, plus a mirror for the baselines.

The server runs the configuration `access` generates (accounts PA, U, PAPER, OE, each module its own user, every
account provisioned by its setup identity before anything connects), exactly as the distributed demo does. For
baselines measured on the same server, the accounts PA, U and OE are mirrored as `RAW_PA`, `RAW_U`, `RAW_OE`:
the same exports and imports between them (so a raw request crosses the same service import as OE's intent, and
a raw fact reaches its reader through the same exported durable as U's), the same user permissions, users
`raw_pa`, `raw_pa_admin`, `raw_u`, `raw_oe`. `RAW_PA` is provisioned with the PA account's own objects. Nothing of
the mirror is visible to the PA's accounts.
"""

from __future__ import annotations

import contextlib
import copy
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pa_harness.nats_server import NatsServer
from platform_adapter.transport.nats.access import Account, Module, ServerConfig
from platform_adapter.transport.nats.connection import NatsAuth, connect, disconnect, inbox_prefix
from platform_adapter.transport.nats.provision import PaAccountObjects, provision_pa_account

RAW_PREFIX: Final = "raw_"
MIRRORED: Final = {Account.PA.value: "RAW_PA", Account.U.value: "RAW_U", Account.OE.value: "RAW_OE"}


def raw_user(name: str) -> str:
    """The mirror's user of an identity: `pa` -> `raw_pa`."""
    return RAW_PREFIX + name


def _rename_inbox(subjects: list[str], old: str, new: str) -> list[str]:
    old_inbox, new_inbox = inbox_prefix(old), inbox_prefix(new)
    return [
        new_inbox + subject.removeprefix(old_inbox) if subject.startswith(old_inbox) else subject
        for subject in subjects
    ]


def _mirror_user(user: dict[str, Any], password: str) -> dict[str, Any]:
    mirrored = copy.deepcopy(user)
    name = user["user"]
    mirrored["user"], mirrored["password"] = raw_user(name), password
    rules = mirrored.get("permissions", {})
    for direction in ("publish", "subscribe"):
        if direction in rules:
            rules[direction]["allow"] = _rename_inbox(rules[direction]["allow"], name, raw_user(name))
    return mirrored


def _mirror_exports(exports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = []
    for export in exports:
        targets = export.get("accounts", [])
        if all(target in MIRRORED for target in targets):
            kept.append({**copy.deepcopy(export), "accounts": [MIRRORED[target] for target in targets]})
    return kept


def _mirror_imports(imports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = []
    for entry in imports:
        entry = copy.deepcopy(entry)
        source = entry.get("service") or entry.get("stream") or {}
        if source.get("account") in MIRRORED:
            source["account"] = MIRRORED[source["account"]]  # the renamed `to` prefix stays: `$JS.PA.API`
            kept.append(entry)
    return kept


@dataclass(frozen=True)
class MirroredServerConfig(ServerConfig):
    """The deployed configuration plus the mirrored accounts `RAW_PA`, `RAW_U`, `RAW_OE` (for same-server baselines)."""

    raw_passwords: dict[str, str] = field(default_factory=dict, repr=False)

    def render(self) -> str:
        """The deployed configuration with the mirror added; the PA's own accounts are unchanged."""
        document = json.loads(super().render())
        accounts: dict[str, Any] = document["accounts"]
        for original, mirror in MIRRORED.items():
            block = accounts[original]
            mirrored: dict[str, Any] = {
                "users": [_mirror_user(user, self.raw_passwords[raw_user(user["user"])]) for user in block["users"]],
                "exports": _mirror_exports(block.get("exports", [])),
                "imports": _mirror_imports(block.get("imports", [])),
            }
            if "jetstream" in block:
                mirrored["jetstream"] = block["jetstream"]
            accounts[mirror] = mirrored
        return json.dumps(document, indent=2) + "\n"


class NatsRig:
    """`async with NatsRig(workdir) as rig:` a provisioned server with the mirror; stopped by pid at the end."""

    def __init__(self, workdir: Path, objects: PaAccountObjects | None = None) -> None:
        self.server = NatsServer(workdir)
        self.objects = objects or PaAccountObjects()
        names = ("pa", "pa_admin", "u", "u_admin", "oe")
        self._raw_passwords = {raw_user(name): secrets.token_urlsafe(24) for name in names}
        base = self.server.config
        self.server.config = MirroredServerConfig(
            port=base.port,
            store_dir=base.store_dir,
            passwords=base.passwords,
            host=base.host,
            max_payload=base.max_payload,
            raw_passwords=self._raw_passwords,
        )

    @property
    def url(self) -> str:
        """`nats://127.0.0.1:<port>`."""
        return self.server.url

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self.server.pid

    def auth(self, module: Module) -> NatsAuth:
        """A module's credentials in the deployed accounts."""
        return self.server.auth(module)

    def raw_auth(self, name: str) -> NatsAuth:
        """A mirror user's credentials (`pa`, `pa_admin`, `u`, `oe` give `raw_pa`, ...)."""
        return NatsAuth(raw_user(name), self._raw_passwords[raw_user(name)])

    async def connect(self, auth: NatsAuth, name: str) -> Any:
        """A client connection as `auth`."""
        return await connect(self.url, auth, name=name, first_connect_deadline_s=10.0)

    async def __aenter__(self) -> NatsRig:
        await self.server.start()
        try:
            await self.server.provision(self.objects)
            admin = await self.connect(self.raw_auth("pa_admin"), "raw_pa_admin")
            try:
                await provision_pa_account(admin.jetstream(), self.objects)
            finally:
                await disconnect(admin)
        except BaseException:
            await self.server.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.server.stop()


@contextlib.asynccontextmanager
async def nats_rig(workdir: Path, objects: PaAccountObjects | None = None) -> AsyncIterator[NatsRig]:
    """A started, provisioned NatsRig."""
    async with NatsRig(workdir, objects) as rig:
        yield rig
