"""The hostile-neighbour suite: every attack of issue 15 and of the prototype study's matrix, against a real nats-server.

Each cell runs one attack as one module's user (U, Paper, OE, or the PA's own user where that is the threat) on a
fresh server with the accounts layout, then drives the legitimate traffic and checks every invariant
(`Neighbourhood.after_attack`): the PA's next facts stored and not deduplicated away, U holding exactly the PA's
facts with no hole, OE's intent answered by the PA and no other intent executed, OE's health and the health bucket
the PA's, nothing in OE's replies, no stream, bucket or consumer added, changed or removed. An attack is either
refused by the server (`refused`: a permissions violation or a JetStream API error), or accepted and contained in
the attacker's own account (`contained`: a reply or delivery subject of its choosing stays there), or a right the
module has (`granted`).

`make test` runs a representative cell or more of every attack class; `pytest -m hostile` runs the whole matrix
(about 200 cells).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from pa_harness.nats_server import NatsServer, find_nats_server
from platform_adapter.mic.codec import encode
from platform_adapter.transport.nats import Module, connect
from platform_adapter.transport.nats.connection import NatsAuth
from platform_adapter.transport.nats.subjects import (
    FACT_STREAM,
    FACT_SUBJECTS,
    HEALTH_KEY_SUBJECT,
    HEALTH_STREAM,
    HEALTH_SUBJECT,
    INTENT_QUEUE_GROUP,
    INTENT_SUBJECT,
    LEASE_BUCKET,
    LEASE_STREAM,
    LEDGER_STREAM,
    MSG_ID_HEADER,
    PAPER_EVENT_STREAM,
    U_EVENT_STREAM,
    U_FACT_CONSUMER,
    fact_subject,
)

from .conftest import NO_SERVER_REASON
from .envelopes import RUN_ID
from .neighbours import (
    FORGED_INTENT,
    OE_VICTIM_INBOX,
    Answer,
    Neighbourhood,
    Probe,
    forged_fill,
    forged_health,
    neighbourhood,
    order,
)

U, PAPER, OE, PA = Module.U, Module.PAPER, Module.OE, Module.PA
Expect = Literal["refused", "contained", "granted"]
# Each attacker's own output stream (OE has none: it goes for Paper's), and the durable it reads.
OWN_STREAM = {
    U: (U_EVENT_STREAM, "u.events"),
    PAPER: (PAPER_EVENT_STREAM, "paper.events"),
    OE: (PAPER_EVENT_STREAM, "paper.events"),
}
OWN_DURABLE = {
    U: (FACT_STREAM, U_FACT_CONSUMER, "PA"),
    PAPER: (U_EVENT_STREAM, "paper", "U"),
    OE: (PAPER_EVENT_STREAM, "oe", "PAPER"),
}
OWNER = {
    FACT_STREAM: "PA",
    HEALTH_STREAM: "PA",
    LEASE_STREAM: "PA",
    LEDGER_STREAM: "PA",
    U_EVENT_STREAM: "U",
    PAPER_EVENT_STREAM: "PAPER",
}
FILL = forged_fill(5)


def apis(stream: str) -> tuple[str, ...]:
    """The JetStream API prefixes an attacker can try for `stream`: its own account's, and the owner's import."""
    return ("$JS.API", f"$JS.{OWNER[stream]}.API")


def stream_body(stream: str, subjects: list[str], **extra: object) -> dict[str, object]:
    return {"name": stream, "subjects": subjects, "storage": "file", "duplicate_window": 600_000_000_000, **extra}


# -- A. stream administration ------------------------------------------------------------------------------------


async def capture_intents_with_a_new_stream(world: Neighbourhood, probe: Probe) -> list[Answer]:
    body = {"name": "EVIL", "subjects": [INTENT_SUBJECT], "storage": "memory"}
    return [await probe.request("$JS.API.STREAM.CREATE.EVIL", body)]


async def capture_intents_with_own_stream(world: Neighbourhood, probe: Probe) -> list[Answer]:
    stream, prefix = OWN_STREAM[probe.who]  # type: ignore[index]
    body = stream_body(stream, [f"{prefix}.>", INTENT_SUBJECT])
    return [await probe.request(f"{api}.STREAM.UPDATE.{stream}", body) for api in apis(stream)]


def republish_into(
    dest: str, payload: bytes, headers: dict[str, str] | None = None
) -> Callable[..., Awaitable[list[Answer]]]:
    async def attack(world: Neighbourhood, probe: Probe) -> list[Answer]:
        stream, prefix = OWN_STREAM[probe.who]  # type: ignore[index]
        body = stream_body(stream, [f"{prefix}.>"], republish={"src": f"{prefix}.LIVE", "dest": dest})
        answers = [await probe.request(f"{api}.STREAM.UPDATE.{stream}", body) for api in apis(stream)]
        await probe.publish(f"{prefix}.LIVE", payload, headers=headers)  # its own stream: allowed, and stays there
        return answers

    return attack


async def fake_fills_with_the_pa_s_next_ids(world: Neighbourhood, probe: Probe) -> list[Answer]:
    # The finding: fills republished onto pa.facts with the PA's own next ids, so JetStream would
    # deduplicate the PA's real facts away. The PA's next id is taken in U_EVENTS already; this is the one after.
    next_but_one = f"{RUN_ID}-{len(world.delivered) + 2}"
    attack = republish_into(fact_subject(FILL), encode(FILL), {MSG_ID_HEADER: next_but_one})
    return await attack(world, probe)


async def reconfigure_the_facts_stream(world: Neighbourhood, probe: Probe) -> list[Answer]:
    body = stream_body(FACT_STREAM, [FACT_SUBJECTS, INTENT_SUBJECT], republish={"src": ">", "dest": "stolen.>"})
    return [await probe.request(f"{api}.STREAM.UPDATE.{FACT_STREAM}", body) for api in apis(FACT_STREAM)]


def stream_operation(operation: str, stream: str, body: object = None) -> Callable[..., Awaitable[list[Answer]]]:
    async def attack(world: Neighbourhood, probe: Probe) -> list[Answer]:
        return [await probe.request(f"{api}.STREAM.{operation}.{stream}", body) for api in apis(stream)]

    return attack


async def copy_the_facts_with_a_sourcing_stream(world: Neighbourhood, probe: Probe) -> list[Answer]:
    source = {"name": FACT_STREAM, "external": {"api": "$JS.PA.API", "deliver": "copy.deliver"}}
    body = {"name": "COPY", "subjects": [], "storage": "memory", "sources": [source]}
    return [await probe.request("$JS.API.STREAM.CREATE.COPY", body)]


async def take_the_pa_s_lease(world: Neighbourhood, probe: Probe) -> list[Answer]:
    # Holding the lease key would depose the active PA (issue 17): only PA instances may write it.
    return [
        await probe.request(
            f"$KV.{LEASE_BUCKET}.pa", b"intruder", headers={"Nats-Expected-Last-Subject-Sequence": "0"}
        ),
        *[await probe.request(f"{api}.STREAM.PURGE.{LEASE_STREAM}", {}) for api in apis(LEASE_STREAM)],
        *[await probe.request(f"{api}.STREAM.DELETE.{LEDGER_STREAM}") for api in apis(LEDGER_STREAM)],
    ]


# -- B. consumers -------------------------------------------------------------------------------------------------


def consumer_api(operation: str, stream: str, name: str, body: object = None) -> Callable[..., Awaitable[list[Answer]]]:
    async def attack(world: Neighbourhood, probe: Probe) -> list[Answer]:
        return [await probe.request(f"{api}.CONSUMER.{operation}.{stream}.{name}", body) for api in apis(stream)]

    return attack


async def narrow_u_s_durable(world: Neighbourhood, probe: Probe) -> list[Answer]:
    config = {
        "durable_name": "u",
        "name": "u",
        "ack_policy": "all",
        "deliver_policy": "all",
        "filter_subject": "pa.facts.gap.>",
    }
    body = {"stream_name": FACT_STREAM, "config": config, "action": ""}
    answers = []
    for api in apis(FACT_STREAM):
        answers.append(await probe.request(f"{api}.CONSUMER.CREATE.{FACT_STREAM}.u", body))
        answers.append(await probe.request(f"{api}.CONSUMER.DURABLE.CREATE.{FACT_STREAM}.u", body))
    return answers


async def own_durable_on_the_facts(world: Neighbourhood, probe: Probe) -> list[Answer]:
    body = {"stream_name": FACT_STREAM, "config": {"name": "evil", "durable_name": "evil", "ack_policy": "explicit"}}
    return [await probe.request(f"{api}.CONSUMER.CREATE.{FACT_STREAM}.evil", body) for api in apis(FACT_STREAM)]


def push_onto_intents(stream: str) -> Callable[..., Awaitable[list[Answer]]]:
    async def attack(world: Neighbourhood, probe: Probe) -> list[Answer]:
        # A push consumer's deliver subject is not checked against its creator's permissions: in one account this
        # delivered a U-authored intent (or the health bucket) to the PA's queue group on pa.intents.
        config = {"deliver_subject": INTENT_SUBJECT, "deliver_group": INTENT_QUEUE_GROUP, "ack_policy": "none"}
        body = {"stream_name": stream, "config": config}
        return [await probe.request(f"{api}.CONSUMER.CREATE.{stream}", body) for api in apis(stream)]

    return attack


async def watch_the_health_bucket(world: Neighbourhood, probe: Probe) -> list[Answer]:
    # What a KV watch sends: the right OE had before, and the one that let it deliver the bucket anywhere.
    config = {"deliver_subject": OE_VICTIM_INBOX, "ack_policy": "none", "deliver_policy": "last_per_subject"}
    body = {"stream_name": HEALTH_STREAM, "config": {**config, "filter_subject": HEALTH_KEY_SUBJECT}}
    return [await probe.request(f"{api}.CONSUMER.CREATE.{HEALTH_STREAM}", body) for api in apis(HEALTH_STREAM)]


async def steal_u_s_facts(world: Neighbourhood, probe: Probe) -> list[Answer]:
    inbox = probe.nc.new_inbox()
    return [
        await probe.publish(f"{api}.CONSUMER.MSG.NEXT.{FACT_STREAM}.u", b'{"batch":10,"no_wait":true}', reply=inbox)
        for api in apis(FACT_STREAM)
    ]


async def ack_u_s_facts_for_it(world: Neighbourhood, probe: Probe) -> list[Answer]:
    # A guessed ack subject acks everything before it (AckPolicy.ALL) in U's place.
    return [await probe.publish(f"$JS.ACK.{FACT_STREAM}.u.1.9.9.0.0", b"+ACK")]


async def pause_u_s_durable(world: Neighbourhood, probe: Probe) -> list[Answer]:
    body = {"pause_until": "2099-01-01T00:00:00Z"}
    return [await probe.request(f"{api}.CONSUMER.PAUSE.{FACT_STREAM}.u", body) for api in apis(FACT_STREAM)]


async def redirect_u_s_durable_to_oe(world: Neighbourhood, probe: Probe) -> list[Answer]:
    answers = await consumer_api("DELETE", FACT_STREAM, "u")(world, probe)
    config = {"durable_name": "u", "name": "u", "ack_policy": "none", "deliver_subject": OE_VICTIM_INBOX}
    body = {"stream_name": FACT_STREAM, "config": config, "action": ""}
    for api in apis(FACT_STREAM):
        answers.append(await probe.request(f"{api}.CONSUMER.CREATE.{FACT_STREAM}.u", body))
    return answers


# -- C. writing where only another module may ------------------------------------------------------------------


async def fake_fill_with_the_pa_s_next_id(world: Neighbourhood, probe: Probe) -> list[Answer]:
    headers = {MSG_ID_HEADER: f"{RUN_ID}-{len(world.delivered) + 1}"}
    return [await probe.request(fact_subject(FILL), encode(FILL), headers=headers)]


async def fake_pa_up_in_the_bucket(world: Neighbourhood, probe: Probe) -> list[Answer]:
    return [await probe.request(HEALTH_KEY_SUBJECT, forged_health())]


async def fake_pa_up_on_the_subject(world: Neighbourhood, probe: Probe) -> list[Answer]:
    return [await probe.publish(HEALTH_SUBJECT, forged_health())]


async def forged_intent(world: Neighbourhood, probe: Probe) -> list[Answer]:
    return [await probe.request(INTENT_SUBJECT, FORGED_INTENT)]


async def forged_receipt_into_oe_s_reply(world: Neighbourhood, probe: Probe) -> list[Answer]:
    return [await probe.publish(OE_VICTIM_INBOX, b'{"status":"accepted","forged":true}')]


async def write_into_another_module_s_stream(world: Neighbourhood, probe: Probe) -> list[Answer]:
    subject = "paper.events.LIVE" if probe.who is U else "u.events.LIVE"
    return [await probe.request(subject, FORGED_INTENT)]


# -- D. listening -------------------------------------------------------------------------------------------------


def listen(subject: str, queue: str = "") -> Callable[..., Awaitable[list[Answer]]]:
    async def attack(world: Neighbourhood, probe: Probe) -> list[Answer]:
        answer, _ = await probe.subscribe(subject, queue)
        return [answer]

    return attack


# -- E. reading ---------------------------------------------------------------------------------------------------


async def read_the_health_key(world: Neighbourhood, probe: Probe) -> list[Answer]:
    return [await probe.request(f"$JS.PA.API.DIRECT.GET.{HEALTH_STREAM}.{HEALTH_KEY_SUBJECT}")]


async def read_facts_off_the_stream(world: Neighbourhood, probe: Probe) -> list[Answer]:
    answers = []
    for api in apis(FACT_STREAM):
        answers.append(await probe.request(f"{api}.DIRECT.GET.{FACT_STREAM}", {"seq": 1}))
        answers.append(await probe.request(f"{api}.STREAM.MSG.GET.{FACT_STREAM}", {"seq": 1}))
    return answers


async def reconnoitre(world: Neighbourhood, probe: Probe) -> list[Answer]:
    return [
        await probe.request("$JS.PA.API.STREAM.NAMES", {}),
        await probe.request(f"$JS.PA.API.STREAM.INFO.{FACT_STREAM}"),
        await probe.request("$JS.PA.API.INFO"),
        await probe.request("$JS.API.STREAM.NAMES", {}),
    ]


# -- F. reflection: the server (or the PA) answers to a subject the attacker chose ----------------------------------

TARGETS = {
    "facts": fact_subject(FILL),
    "health-bucket": HEALTH_KEY_SUBJECT,
    "intents": INTENT_SUBJECT,
    "health-subject": HEALTH_SUBJECT,
}


def reflect(via: str, target: str) -> Callable[..., Awaitable[list[Answer]]]:
    reply = TARGETS[target]

    async def attack(world: Neighbourhood, probe: Probe) -> list[Answer]:
        if via == "puback":
            _, prefix = OWN_STREAM[probe.who]  # type: ignore[index]
            return [await probe.publish(f"{prefix}.LIVE", b'{"x":1}', reply=reply)]
        if via in ("pull", "consumer-info"):
            stream, durable, owner = OWN_DURABLE[probe.who]  # type: ignore[index]
            operation = "MSG.NEXT" if via == "pull" else "INFO"
            body = b'{"batch":1,"no_wait":true}' if via == "pull" else b""
            return [await probe.publish(f"$JS.{owner}.API.CONSUMER.{operation}.{stream}.{durable}", body, reply=reply)]
        if via == "direct-get":
            subject = f"$JS.PA.API.DIRECT.GET.{HEALTH_STREAM}.{HEALTH_KEY_SUBJECT}"
            return [await probe.publish(subject, b"", reply=reply)]
        # via the PA's own receipt-ack: OE's intent is OE's right; its answer must stay in OE's account
        world.genuine.append("reflected")
        return [await probe.publish(INTENT_SUBJECT, encode(order("reflected")), reply=reply)]

    return attack


# -- the matrix ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    """One row of the matrix: who tries it, what must come of it, and which cells `make test` runs."""

    id: str
    title: str
    run: Callable[[Neighbourhood, Probe], Awaitable[list[Answer]]]
    attackers: tuple[Module, ...]
    representative: tuple[Module, ...]
    expect: Expect = "refused"
    granted_to: tuple[Module, ...] = ()
    reads_own_durable: bool = False  # a cell where U reads its own durable: only U's own view can suffer

    def expected(self, who: Module) -> Expect:
        return "granted" if who in self.granted_to else self.expect


MODULES_ = (U, PAPER, OE)
ATTACKS = [
    Attack(
        "A1", "create a stream capturing pa.intents", capture_intents_with_a_new_stream, (U, PAPER, OE, PA), (U, PAPER)
    ),
    Attack("A1b", "add pa.intents to one's own output stream", capture_intents_with_own_stream, MODULES_, (U,)),
    Attack(
        "A2",
        "republish one's own stream into the health bucket (fake PA_UP)",
        republish_into(HEALTH_KEY_SUBJECT, forged_health()),
        MODULES_,
        (PAPER,),
    ),
    Attack(
        "A3",
        "republish fake fills onto pa.facts with the PA's own next ids",
        fake_fills_with_the_pa_s_next_ids,
        MODULES_,
        (U, PAPER),
    ),
    Attack(
        "A4",
        "republish one's own stream onto pa.intents (forged intent)",
        republish_into(INTENT_SUBJECT, FORGED_INTENT),
        MODULES_,
        (U,),
    ),
    Attack(
        "A5",
        "reconfigure PA_FACTS (capture pa.intents, republish the facts)",
        reconfigure_the_facts_stream,
        MODULES_,
        (OE,),
    ),
    Attack("A6", "delete PA_FACTS", stream_operation("DELETE", FACT_STREAM), MODULES_, (U,)),
    Attack("A7", "delete the health bucket", stream_operation("DELETE", HEALTH_STREAM), MODULES_, (OE,)),
    Attack("A8", "purge PA_FACTS", stream_operation("PURGE", FACT_STREAM, {}), MODULES_, (PAPER,)),
    Attack("A9", "delete a fact from PA_FACTS", stream_operation("MSG.DELETE", FACT_STREAM, {"seq": 1}), MODULES_, ()),
    Attack(
        "A10", "copy the facts into one's own stream (sources)", copy_the_facts_with_a_sourcing_stream, MODULES_, (U,)
    ),
    Attack("A11", "take the PA's lease, purge it, delete the intent ledger", take_the_pa_s_lease, MODULES_, (U, OE)),
    Attack("B1", "delete U's durable", consumer_api("DELETE", FACT_STREAM, "u"), MODULES_, (U,)),
    Attack("B2", "narrow U's durable's filter", narrow_u_s_durable, MODULES_, (U,)),
    Attack("B3", "a durable of one's own on PA_FACTS", own_durable_on_the_facts, MODULES_, (PAPER,)),
    Attack(
        "B4",
        "push consumer on the health bucket delivering onto pa.intents",
        push_onto_intents(HEALTH_STREAM),
        MODULES_,
        (OE,),
    ),
    Attack(
        "B5",
        "push consumer on U_EVENTS delivering a U-authored intent onto pa.intents",
        push_onto_intents(U_EVENT_STREAM),
        MODULES_,
        (PAPER,),
    ),
    Attack(
        "B6",
        "push consumer on PAPER_EVENTS delivering onto pa.intents",
        push_onto_intents(PAPER_EVENT_STREAM),
        MODULES_,
        (),
    ),
    Attack("B7", "take facts off U's durable", steal_u_s_facts, (PAPER, OE), (PAPER,)),
    Attack("B8", "ack U's facts in U's place (forged ack)", ack_u_s_facts_for_it, (PAPER, OE), (OE,)),
    Attack("B9", "pause U's durable", pause_u_s_durable, MODULES_, ()),
    Attack(
        "B10",
        "recreate U's durable as a push consumer into OE's reply inbox",
        redirect_u_s_durable_to_oe,
        MODULES_,
        (U,),
    ),
    Attack("B11", "watch the health bucket (create a consumer on it)", watch_the_health_bucket, MODULES_, (OE,)),
    Attack(
        "C1",
        "publish a fake fill with the PA's next Nats-Msg-Id",
        fake_fill_with_the_pa_s_next_id,
        MODULES_,
        (U, PAPER, OE),
    ),
    Attack("C2", "put a fake PA_UP into the health bucket", fake_pa_up_in_the_bucket, MODULES_, (U, OE)),
    Attack("C3", "publish a fake PA_UP on pa.health", fake_pa_up_on_the_subject, MODULES_, (U,)),
    Attack("C4", "send an intent", forged_intent, (U, PAPER, PA), (U, PA)),
    Attack("C5", "write a receipt-ack into OE's reply inbox", forged_receipt_into_oe_s_reply, (U, PAPER, PA), (PAPER,)),
    Attack(
        "C6", "write into another module's relay stream", write_into_another_module_s_stream, (U, PAPER, OE, PA), (OE,)
    ),
    Attack("D1", "subscribe to pa.intents", listen(INTENT_SUBJECT), MODULES_, (U,)),
    Attack(
        "D2", "join the PA's queue group on pa.intents", listen(INTENT_SUBJECT, INTENT_QUEUE_GROUP), MODULES_, (OE,)
    ),
    Attack("D3", "read OE's replies", listen(f"{OE_VICTIM_INBOX.split('.')[0]}.>"), (U, PAPER, PA), (U,)),
    Attack("D4", "read every inbox", listen("_INBOX.>"), (U, PAPER, OE, PA), (PAPER,)),
    Attack("D5", "read everything", listen(">"), (U, PAPER, OE, PA), (PA,)),
    Attack("D6", "read the JetStream API traffic", listen("$JS.API.>"), MODULES_, ()),
    Attack("D7", "read the acks", listen("$JS.ACK.>"), MODULES_, (OE,)),
    Attack("D8", "read the facts on the core subjects", listen(FACT_SUBJECTS), MODULES_, (PAPER,)),
    Attack("D9", "read the health bucket on its core subjects", listen(f"$KV.{HEALTH_STREAM[3:]}.>"), MODULES_, ()),
    Attack("E1", "read the health key", read_the_health_key, MODULES_, (PAPER, OE), granted_to=(U, OE)),
    Attack("E2", "read facts off the stream, not through U's durable", read_facts_off_the_stream, MODULES_, (U,)),
    Attack("E3", "list and inspect the PA's streams", reconnoitre, MODULES_, ()),
]
for via, readers in (
    ("puback", (U, PAPER)),
    ("pull", MODULES_),
    ("direct-get", (U, OE)),
    ("consumer-info", MODULES_),
    ("intent-service", (OE,)),
):
    for target in TARGETS:
        representative = {
            ("pull", "facts"): (PAPER,),  # the prototype's dedupe pre-emption: a pull delivery of the PA's next id
            ("puback", "health-bucket"): (U,),
            ("direct-get", "intents"): (OE,),
            ("intent-service", "facts"): (OE,),
            ("consumer-info", "health-subject"): (U,),
        }.get((via, target), ())
        ATTACKS.append(
            Attack(
                f"F-{via}-{target}",
                f"reflect {via} answers into {target}",
                reflect(via, target),
                readers,
                representative,
                expect="contained",
                reads_own_durable=via == "pull",
            )
        )


def _cells() -> list[Any]:
    cells = []
    for attack in ATTACKS:
        for who in attack.attackers:
            marks = [pytest.mark.hostile] + ([] if who in attack.representative else [pytest.mark.hostile_full])
            cells.append(pytest.param(attack, who, id=f"{attack.id}-{who.value}", marks=marks))
    return cells


@pytest.mark.parametrize(("attack", "who"), _cells())
async def test_a_hostile_neighbour_is_refused_or_contained_and_nothing_forged_reaches_oe_or_u(
    tmp_path: Path, attack: Attack, who: Module
) -> None:
    if find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    async with neighbourhood(tmp_path / "nats") as world:
        probe = await world.probe(who)

        answers = await attack.run(world, probe)

        expected = attack.expected(who)
        if expected == "refused":
            assert answers and all(a.refused for a in answers), [str(a) for a in answers]
        elif expected == "granted":
            assert answers and not any(a.refused for a in answers), [str(a) for a in answers]
        await world.after_attack(who, own_durable_touched=attack.reads_own_durable and who is U)


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("user", "password"),
    [(None, None), ("u", "not-u-s-password"), ("pa", "not-the-pa-s"), ("pa_admin", "not-the-admin-s")],
    ids=["no-credentials", "u-wrong-password", "pa-wrong-password", "pa_admin-wrong-password"],
)
async def test_a_connection_without_valid_credentials_is_refused(
    tmp_path: Path, user: str | None, password: str | None
) -> None:
    if find_nats_server() is None:
        pytest.skip(NO_SERVER_REASON)
    async with NatsServer(tmp_path / "nats") as server:
        auth = NatsAuth(user, password or "") if user is not None else None
        with pytest.raises(ConnectionError, match="could not connect"):
            await connect(server.url, auth, name="anonymous", first_connect_deadline_s=0.3)


def test_the_matrix_covers_every_attack_class_in_the_default_run() -> None:
    default = {attack.id[0] for attack in ATTACKS if attack.representative}
    assert default == {"A", "B", "C", "D", "E", "F"}
    assert {who for attack in ATTACKS for who in attack.representative} == {U, PAPER, OE, PA}
