"""Connecting a module to NATS as its own user: credentials from the environment, a private inbox prefix.

Each module connects as its own NATS user (`pa`, `u`, `paper`, `oe`), in an account of its own (see `access`).
Replies come back on `_INBOX_<user>.>`, the only inboxes that user may subscribe to; a reply subject a module
chooses stays inside its own account, so no module can read, or write into, another module's replies.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import NoServersError

from platform_adapter.telemetry import get_logger, redactor

_log = get_logger("pa.nats")

USER_ENV = "PA_NATS_USER"
PASSWORD_ENV = "PA_NATS_PASSWORD"  # noqa: S105 - the variable's name, not a secret
PASSWORD_FILE_ENV = "PA_NATS_PASSWORD_FILE"  # noqa: S105 - a file holding the password, for secret mounts

ErrorCallback = Callable[[Exception], Awaitable[None]]


class NatsCredentialsError(ValueError):
    """The NATS credentials in the environment cannot be used (a password file that cannot be read)."""


def imported_jetstream(nc: NatsClient, owner: str = "PA", **options: Any) -> Any:
    """`owner` account's JetStream API as another account imports it (`$JS.<OWNER>.API`, see `access`)."""
    return nc.jetstream(prefix=f"$JS.{owner}.API", **options)


def inbox_prefix(user: str) -> str:
    """`_INBOX_<user>`: one token of its own per user, so no wildcard grant on `_INBOX.>` could ever cover it."""
    return f"_INBOX_{user}"


@dataclass(frozen=True)
class NatsAuth:
    """A module's NATS user and password; the password never appears in a repr or a log line."""

    user: str
    password: str = field(repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NatsAuth | None:
        """`PA_NATS_USER` and `PA_NATS_PASSWORD` (or `PA_NATS_PASSWORD_FILE`); None when no user is set."""
        env = os.environ if environ is None else environ
        user = env.get(USER_ENV)
        if not user:
            return None
        password = env.get(PASSWORD_ENV)
        password_file = env.get(PASSWORD_FILE_ENV)
        if password is None and password_file:
            try:
                password = Path(password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise NatsCredentialsError(
                    f"{PASSWORD_FILE_ENV}: cannot read {password_file} ({exc.strerror})"
                ) from None
        return cls(user, password or "")

    def env(self) -> dict[str, str]:
        """The environment variables that hand these credentials to a child process (never its argv)."""
        return {USER_ENV: self.user, PASSWORD_ENV: self.password}

    @property
    def inbox_prefix(self) -> str:
        """`_INBOX_<user>`: where this user's request replies and JetStream acks arrive."""
        return inbox_prefix(self.user)


async def connect(
    url: str,
    auth: NatsAuth | None,
    *,
    name: str,
    reconnect_wait_s: float = 0.25,
    connect_timeout_s: float = 2.0,
    first_connect_deadline_s: float = 10.0,
    on_error: ErrorCallback | None = None,
) -> NatsClient:
    """Connect with endless reconnects; the first connection is retried until `first_connect_deadline_s`."""
    if auth is not None:
        redactor().add([auth.password])

    async def error_cb(exc: Exception) -> None:
        _log.warning("nats_error", connection=name, error=f"{type(exc).__name__}: {exc}")
        if on_error is not None:
            await on_error(exc)

    async def disconnected_cb() -> None:
        _log.info("nats_disconnected", connection=name)  # also on a clean close; reconnect errors are warnings

    async def reconnected_cb() -> None:
        _log.info("nats_reconnected", connection=name)

    # nats-py uses one attempt limit for the first connect and for reconnects: bound the first connect,
    # then reconnect forever (a module outlives a server restart).
    attempts = max(1, int(first_connect_deadline_s / reconnect_wait_s))
    try:
        client = await nats.connect(
            url,
            name=name,
            user=auth.user if auth else None,
            password=auth.password if auth else None,
            inbox_prefix=auth.inbox_prefix if auth else "_INBOX",
            allow_reconnect=True,
            max_reconnect_attempts=attempts,
            reconnect_time_wait=reconnect_wait_s,  # seconds (nats-py annotates int)
            connect_timeout=connect_timeout_s,
            error_cb=error_cb,
            disconnected_cb=disconnected_cb,
            reconnected_cb=reconnected_cb,
        )
    except (OSError, NoServersError, TimeoutError) as exc:
        raise ConnectionError(
            f"{name}: could not connect to NATS at {url} as {auth.user if auth else 'anonymous'!r}"
            f" within {first_connect_deadline_s}s ({type(exc).__name__}: {exc})"
        ) from exc
    client.options["max_reconnect_attempts"] = -1
    return client


async def disconnect(client: NatsClient) -> None:
    """Close a client; a connection the server already dropped is closed all the same (nats-py raises then)."""
    try:
        await client.close()
    except OSError as exc:  # the socket was gone: nothing is left to flush
        _log.info("nats_close_after_connection_lost", error=repr(exc))


async def sync_with_server(client: NatsClient, timeout_s: float = 5.0) -> None:
    """Return once the server has processed every command this client sent before the call (SUBs included)."""
    # nats-py 2.16's `flush()` writes its PING straight to the socket, ahead of commands still waiting in the
    # client's buffer, so its PONG can come back before an earlier SUB reached the server (seen under load: a
    # subscriber "ready" that then missed the first messages). A message to our own inbox queues behind
    # everything sent before it, so its echo is a true barrier.
    inbox = client.new_inbox()
    subscription = await client.subscribe(inbox, max_msgs=1)
    try:
        await client.publish(inbox, b"")
        await subscription.next_msg(timeout=timeout_s)
    finally:
        await subscription.unsubscribe()
