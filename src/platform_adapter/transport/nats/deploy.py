"""Deploying on NATS: the server configuration and credentials a desk runs (`pa nats config`), and provisioning.

`write_deployment` writes `nats-server.conf` (the accounts, users and exports of `access`; mode 0600, it holds the
passwords) and one password file per identity under `credentials/` (mode 0600, directory 0700). A password file
that exists is kept, so re-running after an upgrade changes the layout and not the secrets. Nothing is printed
or logged with a password in it. `provision` connects as a setup identity and creates its account's objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platform_adapter.transport.nats.access import (
    IDENTITIES,
    Identity,
    ServerConfig,
    SetupIdentity,
    generate_passwords,
    identity,
)
from platform_adapter.transport.nats.connection import NatsAuth, connect, disconnect
from platform_adapter.transport.nats.provision import PaAccountObjects, provision_account
from platform_adapter.transport.nats.streams import Provisioned

CONFIG_NAME = "nats-server.conf"
CREDENTIALS_DIR = "credentials"


@dataclass(frozen=True)
class Deployment:
    """What `write_deployment` wrote."""

    config: Path
    credentials: dict[Identity, Path]
    kept: tuple[Identity, ...]  # identities whose existing password file was kept


def password_file(out_dir: Path, who: Identity) -> Path:
    """Where `who`'s password is kept: hand it to that module as `PA_NATS_PASSWORD_FILE`."""
    return out_dir / CREDENTIALS_DIR / f"{who.value}.password"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def write_deployment(
    out_dir: Path, *, port: int = 4222, host: str = "127.0.0.1", store_dir: Path | None = None
) -> Deployment:
    """Write the server configuration and the per-identity password files into `out_dir`."""
    credentials_dir = out_dir / CREDENTIALS_DIR
    credentials_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(credentials_dir, 0o700)
    fresh = generate_passwords()
    passwords: dict[Identity, str] = {}
    kept: list[Identity] = []
    for who in IDENTITIES:
        path = password_file(out_dir, who)
        existing = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
        if existing:
            passwords[who] = existing
            kept.append(who)
        else:
            passwords[who] = fresh[who]
            _write_private(path, fresh[who] + "\n")
    config = ServerConfig(
        port=port, host=host, store_dir=(store_dir or out_dir / "jetstream").resolve(), passwords=passwords
    )
    config_path = config.write(out_dir / CONFIG_NAME)
    return Deployment(config_path, {who: password_file(out_dir, who) for who in IDENTITIES}, tuple(kept))


class NotASetupIdentity(ValueError):
    """Provisioning was asked of a module's user: only an account's setup identity may create its objects."""


def setup_identity_of(auth: NatsAuth | None) -> SetupIdentity:
    """The setup identity `auth` names; NotASetupIdentity for a module user, an unknown name or none."""
    names = ", ".join(s.value for s in SetupIdentity)
    if auth is None:
        raise NotASetupIdentity(f"no NATS user set: run as a setup identity ({names}) via PA_NATS_USER")
    try:
        who = identity(auth.user)
    except ValueError as exc:
        raise NotASetupIdentity(str(exc)) from None
    if not isinstance(who, SetupIdentity):
        raise NotASetupIdentity(f"{auth.user!r} is a module's user: provisioning runs as {names}")
    return who


async def provision(
    url: str, auth: NatsAuth | None, objects: PaAccountObjects | None = None
) -> list[tuple[str, Provisioned]]:
    """Connect as a setup identity and provision its account; what was done to each object."""
    setup = setup_identity_of(auth)
    client = await connect(url, auth, name=setup.value)
    try:
        return await provision_account(client.jetstream(), setup, objects)
    finally:
        await disconnect(client)
