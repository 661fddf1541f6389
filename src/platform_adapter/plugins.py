"""What other installed packages add to the PA, found through Python entry points (never imported by name).

The product knows three entry-point groups and nothing of who fills them:

* ``platform_adapter.commands`` — ``register(app)`` adds commands to the ``pa`` CLI (the harness adds
  ``pa demo``, ``pa sim``, ``pa acceptance``, ...);
* ``platform_adapter.environments`` — an ``EnvironmentProvider`` by environment name, for an environment
  whose endpoints are not configured (the harness provides ``simulator``: a simulator on 127.0.0.1);
* ``platform_adapter.modules`` — ``ModulesProvider``: U / Paper / OE to run in this process beside a PA
  on the in-process transport (the harness provides ``reference``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Protocol

from platform_adapter.config import Credentials, Settings
from platform_adapter.telemetry import get_logger

COMMANDS = "platform_adapter.commands"
ENVIRONMENTS = "platform_adapter.environments"
MODULES = "platform_adapter.modules"

Endpoints = tuple[str, str, str]
"""REST base URL, trading socket URL, market-data socket URL."""

_log = get_logger("pa.plugins")


class EnvironmentProvider(Protocol):
    """Starts an environment (e.g. a simulator) and yields its endpoints while it runs."""

    def __call__(self, settings: Settings, credentials: Credentials) -> AbstractAsyncContextManager[Endpoints]: ...


class ModulesProvider(Protocol):
    """Runs U / Paper / OE in this process on the in-process channels of a PA, while the context is open."""

    def __call__(
        self, *, facts: Any, health: Any, intents: Any, state_dir: Path
    ) -> AbstractAsyncContextManager[Any]: ...


class PluginMissing(LookupError):
    """No installed package provides what the configuration asks for."""


def _group(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def command_registrars() -> list[Callable[[Any], None]]:
    """Every installed ``register(app)`` of the commands group; one that fails to import is skipped (logged)."""
    registrars = []
    for name, ep in sorted(_group(COMMANDS).items()):
        try:
            registrars.append(ep.load())
        except ImportError as exc:  # a half-installed extra must not take the product's own commands down
            _log.warning("plugin_commands_unavailable", plugin=name, error=str(exc))
    return registrars


def environment(name: str) -> EnvironmentProvider:
    """The provider of environment `name`; PluginMissing when no installed package provides it."""
    ep = _group(ENVIRONMENTS).get(name)
    if ep is None:
        raise PluginMissing(
            f"environment {name!r} has no endpoints configured and no installed package provides it: set "
            "rest_url / trading_ws_url / md_ws_url, or install the harness (`make install`) for the built-in simulator"
        )
    provider: EnvironmentProvider = ep.load()
    return provider


def modules(name: str = "reference") -> ModulesProvider:
    """The in-process U / Paper / OE called `name`; PluginMissing when none is installed."""
    ep = _group(MODULES).get(name)
    if ep is None:
        raise PluginMissing(
            "the in-process transport runs U / Paper / OE inside this process, and none is installed: "
            "run the PA on NATS (`pa run --transport nats://...`), or install the harness for the reference modules"
        )
    provider: ModulesProvider = ep.load()
    return provider
