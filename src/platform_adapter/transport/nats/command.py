"""`pa nats config` and `pa nats provision`: the two steps that deploy the PA (and its neighbours) on NATS."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from nats.js.api import RetentionPolicy
from nats.js.errors import APIError

from platform_adapter.transport.nats.access import SetupIdentity
from platform_adapter.transport.nats.connection import PASSWORD_FILE_ENV, USER_ENV, NatsAuth, NatsCredentialsError
from platform_adapter.transport.nats.deploy import NotASetupIdentity, provision, write_deployment
from platform_adapter.transport.nats.lease import DEFAULT_TTL_S
from platform_adapter.transport.nats.provision import PaAccountObjects
from platform_adapter.transport.nats.streams import FactStreamConfig

nats_app = typer.Typer(
    help="Deploy on NATS: the server's accounts and credentials, then each account's streams and buckets.",
    no_args_is_help=True,
)

_DEFAULTS = FactStreamConfig()


@nats_app.command("config")
def config_command(
    out: Annotated[Path, typer.Option(help="Directory for nats-server.conf and credentials/.")] = Path("nats"),
    port: Annotated[int, typer.Option(help="The server's client port.")] = 4222,
    host: Annotated[str, typer.Option(help="The address the server listens on.")] = "127.0.0.1",
    store_dir: Annotated[Path | None, typer.Option(help="JetStream store (default: <out>/jetstream).")] = None,
) -> None:
    """Write the server configuration (one account per module) and a password file per identity."""
    written = write_deployment(out, port=port, host=host, store_dir=store_dir)
    typer.echo(f"wrote {written.config} (mode 0600: it holds the passwords)")
    for who, path in written.credentials.items():
        state = "kept" if who in written.kept else "new"
        typer.echo(f"  {who.value:<12} {path} ({state})")
    admin = written.credentials[SetupIdentity.PA_ADMIN]
    typer.echo(f"next: run `nats-server -c {written.config}`, then provision each account as its setup identity:")
    typer.echo(f"  {USER_ENV}=pa_admin {PASSWORD_FILE_ENV}={admin} pa nats provision --url nats://{host}:{port}")
    typer.echo("  (and u_admin, paper_admin for the modules' relays); each module then runs as its own user.")


@nats_app.command("provision")
def provision_command(
    url: Annotated[str, typer.Option(help="The NATS server, nats://host:port.")] = "nats://127.0.0.1:4222",
    retention: Annotated[
        str, typer.Option(help="Facts stream retention: limits or interest (docs/transport-nats.md §2).")
    ] = _DEFAULTS.retention.value,
    max_bytes: Annotated[int, typer.Option(help="Facts stream size bound.")] = _DEFAULTS.max_bytes,
    max_age_s: Annotated[float, typer.Option(help="Facts stream age bound, seconds.")] = _DEFAULTS.max_age_s,
    lease_ttl_s: Annotated[float, typer.Option(help="The PA lease's TTL, seconds.")] = DEFAULT_TTL_S,
) -> None:
    """Create or update the JetStream objects of the account whose setup identity PA_NATS_USER names."""
    try:
        policy = RetentionPolicy(retention)
    except ValueError:
        typer.echo(f"pa: --retention must be limits or interest, not {retention!r}", err=True)
        raise typer.Exit(2) from None
    objects = PaAccountObjects(
        facts=FactStreamConfig(retention=policy, max_bytes=max_bytes, max_age_s=max_age_s), lease_ttl_s=lease_ttl_s
    )
    try:
        auth = NatsAuth.from_env()
        done = asyncio.run(provision(url, auth, objects))
    except (NotASetupIdentity, NatsCredentialsError) as exc:
        typer.echo(f"pa: {exc}", err=True)
        raise typer.Exit(2) from None
    except (ConnectionError, APIError, TimeoutError) as exc:
        typer.echo(f"pa: provisioning failed: {exc}", err=True)
        raise typer.Exit(1) from None
    for name, what in done:
        typer.echo(f"  {name}: {what.value}")
    typer.echo("provisioned" if done else "nothing to provision for this account")
