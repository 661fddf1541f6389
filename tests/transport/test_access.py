"""The server configuration: one account per module, exact grants, explicit flows, and a file only its owner reads.

What the server then refuses, as each module and anonymously, is tests/transport/test_hostile.py's.
"""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from pa_harness.nats_server import find_nats_server
from platform_adapter.transport.nats import Account, Module, ServerConfig, SetupIdentity, generate_passwords
from platform_adapter.transport.nats.access import IDENTITIES, exports, imports, permissions
from platform_adapter.transport.nats.subjects import HEALTH_SUBJECT, INTENT_SUBJECT, LEDGER_STREAM

from .conftest import NO_SERVER_REASON

ADMINISTRATION = (".STREAM.CREATE", ".STREAM.UPDATE", ".STREAM.DELETE", ".STREAM.PURGE", ".STREAM.MSG.DELETE")
CONSUMERS = (".CONSUMER.CREATE", ".CONSUMER.DURABLE.CREATE", ".CONSUMER.DELETE", ".CONSUMER.PAUSE")


@pytest.mark.parametrize("module", list(Module))
def test_no_module_may_administer_a_stream_or_create_or_delete_a_consumer(module: Module) -> None:
    granted = permissions(module).publish
    assert not [s for s in granted if any(op in s for op in ADMINISTRATION)]
    # The one exception: the PA's scan of its own ledger bucket (a KV watch, inside the PA's own account).
    consumers = [s for s in granted if any(op in s for op in CONSUMERS)]
    assert all(LEDGER_STREAM in s for s in consumers), consumers
    assert module is Module.PA or not consumers
    assert not [s for s in granted if s in (">", "$JS.API.>", "$JS.>") or s.endswith(".API.>")]


@pytest.mark.parametrize("setup", list(SetupIdentity))
def test_a_setup_identity_administers_its_own_account_s_jetstream_and_nothing_else(setup: SetupIdentity) -> None:
    granted = permissions(setup)
    assert granted.publish == ("$JS.API.>", f"_INBOX_{setup.value}.>")
    assert granted.subscribe == (f"_INBOX_{setup.value}.>",)


def test_every_identity_has_an_inbox_token_of_its_own_and_no_other() -> None:
    for who in IDENTITIES:
        granted = permissions(who)
        inboxes = [s for s in (*granted.publish, *granted.subscribe) if s.startswith("_INBOX")]
        assert set(inboxes) == {f"_INBOX_{who.value}.>"}, who


def test_only_the_pa_answers_and_only_to_one_reply_for_a_bounded_time() -> None:
    answering = [who for who in IDENTITIES if permissions(who).responses is not None]
    assert answering == [Module.PA]
    responses = permissions(Module.PA).responses
    assert responses is not None and responses.max == 1


def test_intents_are_a_service_of_the_pa_for_account_oe_alone_stamped_with_the_caller() -> None:
    services = [e for a in Account for e in exports(a) if e.get("service") == INTENT_SUBJECT]
    assert services == [{"service": INTENT_SUBJECT, "accounts": ["OE"], "response_type": "singleton"}]
    importers = [a for a in Account if any(i.get("service", {}).get("subject") == INTENT_SUBJECT for i in imports(a))]
    assert importers == [Account.OE]
    assert {"service": {"account": "PA", "subject": INTENT_SUBJECT}, "share": True} in imports(Account.OE)
    assert [m for m in Module if INTENT_SUBJECT in permissions(m).publish] == [Module.OE]
    assert [m for m in Module if INTENT_SUBJECT in permissions(m).subscribe] == [Module.PA]


def test_health_flows_out_of_the_pa_account_as_a_stream_and_one_pinned_key_never_in() -> None:
    assert {"stream": HEALTH_SUBJECT, "accounts": ["U", "OE"]} in exports(Account.PA)
    key_reads = [e["service"] for e in exports(Account.PA) if "DIRECT.GET" in str(e.get("service"))]
    assert key_reads == ["$JS.API.DIRECT.GET.KV_pa_health.$KV.pa_health.current"]
    writers = [m for m in Module if any(s.startswith(("pa.health", "$KV.pa_health")) for s in permissions(m).publish)]
    assert writers == [Module.PA]


def test_a_pull_export_serves_a_whole_fetch_and_other_accounts_jetstream_is_imported_under_its_own_prefix() -> None:
    for account in Account:
        for entry in exports(account):
            if ".CONSUMER.MSG.NEXT." in str(entry.get("service")):
                assert entry["response_type"] == "stream"  # "singleton" hands a fetch of n one message
        for entry in imports(account):
            subject = str(entry.get("service", {}).get("subject", ""))
            if subject.startswith("$JS.API."):
                assert entry["to"] == subject.replace("$JS.API.", f"$JS.{entry['service']['account']}.API.")
            elif subject.startswith("$JS.ACK."):
                assert "to" not in entry  # a delivery's reply subject is literal


def test_server_config_has_an_account_per_module_no_anonymous_user_and_is_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    passwords = generate_passwords()
    config = ServerConfig(port=4333, store_dir=tmp_path / "js", passwords=passwords)
    path = tmp_path / "nats.conf"
    path.write_text("an earlier, world-readable file")
    path.chmod(0o644)

    config.write(path)

    document = json.loads(path.read_text())
    assert (document["host"], document["port"]) == ("127.0.0.1", 4333)
    accounts = document["accounts"]
    assert {name: [u["user"] for u in block["users"]] for name, block in accounts.items()} == {
        "PA": ["pa", "pa_admin"],
        "U": ["u", "u_admin"],
        "PAPER": ["paper", "paper_admin"],
        "OE": ["oe"],
    }
    assert [name for name, block in accounts.items() if block.get("jetstream") == "enabled"] == ["PA", "U", "PAPER"]
    assert "no_auth_user" not in path.read_text()
    assert "authorization" not in document
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert passwords[Module.PA] not in repr(config)


def test_nats_server_accepts_the_generated_configuration(tmp_path: Path) -> None:
    binary = find_nats_server()
    if binary is None:
        pytest.skip(NO_SERVER_REASON)
    path = ServerConfig(port=4333, store_dir=tmp_path / "js", passwords=generate_passwords()).write(tmp_path / "c")

    checked = subprocess.run([str(binary), "-t", "-c", str(path)], capture_output=True, text=True, check=False)  # noqa: S603

    assert checked.returncode == 0, checked.stdout + checked.stderr
