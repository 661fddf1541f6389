"""Access control: one user per module; the server refuses what a module's permissions do not grant."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from platform_adapter.transport.nats import Module, ServerConfig, generate_passwords, module_permissions
from platform_adapter.transport.nats.subjects import FACT_STREAM, HEALTH_SUBJECT, INTENT_SUBJECT

from .conftest import ConnectAs


def test_only_oe_may_publish_intents_and_only_pa_may_receive_them() -> None:
    publishers = [m for m in Module if INTENT_SUBJECT in module_permissions(m).publish]
    subscribers = [m for m in Module if INTENT_SUBJECT in module_permissions(m).subscribe]

    assert publishers == [Module.OE]
    assert subscribers == [Module.PA]
    assert [m for m in Module if module_permissions(m).allow_responses] == [Module.PA]


def test_only_pa_may_publish_facts_and_health_and_manage_its_stream() -> None:
    for module in Module:
        granted = module_permissions(module).publish
        owns = module is Module.PA
        assert ("pa.facts.>" in granted) is owns
        assert (HEALTH_SUBJECT in granted) is owns
        assert (f"$JS.API.STREAM.CREATE.{FACT_STREAM}" in granted) is owns


def test_server_config_has_a_user_per_module_and_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    passwords = generate_passwords()
    config = ServerConfig(port=4333, store_dir=tmp_path / "js", passwords=passwords)

    path = config.write(tmp_path / "nats.conf")

    document = json.loads(path.read_text())
    assert [u["user"] for u in document["authorization"]["users"]] == ["pa", "u", "paper", "oe"]
    assert (document["host"], document["port"]) == ("127.0.0.1", 4333)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert passwords[Module.PA] not in repr(config)


@pytest.mark.parametrize(
    ("module", "subject"),
    [
        (Module.U, "pa.facts.market.quote.c1"),
        (Module.OE, "pa.facts.market.quote.c1"),
        (Module.OE, HEALTH_SUBJECT),
        (Module.U, f"$JS.API.STREAM.CREATE.{FACT_STREAM}"),
        (Module.PAPER, f"$JS.API.STREAM.DELETE.{FACT_STREAM}"),
    ],
)
async def test_server_refuses_a_publish_the_module_is_not_granted(
    connect_as: ConnectAs, module: Module, subject: str
) -> None:
    refused: asyncio.Queue[Exception] = asyncio.Queue()

    async def on_error(exc: Exception) -> None:
        refused.put_nowait(exc)

    client = await connect_as(module, on_error=on_error)
    await client.publish(subject, b"{}")

    async with asyncio.timeout(5):
        error = await refused.get()
    assert f'permissions violation for publish to "{subject.lower()}"' in str(error).lower()


async def test_no_module_but_pa_may_subscribe_to_intents(connect_as: ConnectAs) -> None:
    refused: asyncio.Queue[Exception] = asyncio.Queue()

    async def on_error(exc: Exception) -> None:
        refused.put_nowait(exc)

    snoop = await connect_as(Module.U, on_error=on_error)
    await snoop.subscribe(INTENT_SUBJECT)

    async with asyncio.timeout(5):
        error = await refused.get()
    assert f'permissions violation for subscription to "{INTENT_SUBJECT}"' in str(error).lower()
