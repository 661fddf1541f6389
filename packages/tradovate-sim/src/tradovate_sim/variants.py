"""Variant switches: one for every Tradovate behaviour the public sources leave open, and sets of them to test under.

A client written against one reading of the docs passes every test of a simulator written by the same people with
the same reading. Each switch below therefore names a question the public material does not settle (or settles
against the simulator's old habit), and each value is one answer a real Tradovate may give. docs/simulator.md
("Variants") has, per switch, the values, the sources for each, the default the evidence supports best, and what a
client must do to be right under all of them.

Defaults: `EVIDENCE_DEFAULT` is what the public evidence supports best, and it is the effective default (`DEFAULT`)
of every switch. `KEPT_UNTIL_THE_PA_HANDLES_IT` could keep an old behaviour as the effective default while the
Platform Adapter learns the evidence-based one; since issue 18 phase 2 it is empty.
"""

from __future__ import annotations

import json
import random
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple, get_args, get_type_hints

ChartHistoryId = Literal["realtime", "historical"]
ChartPacking = Literal["separate", "same_array", "merged"]
SyncEntityTypes = Literal["optional", "required"]
SyncSplit = Literal["single", "multi_same_id", "multi_null_lists"]
MdEntitlement = Literal["realtime", "delayed", "none", "minimal"]
TokenPresence = Literal["present", "absent"]
CancelChartId = Literal["either", "historical_only", "realtime_only"]
ExpirationFormat = Literal["millis", "seconds"]
TokenLifetime = Literal["80min", "90min"]
PropsOrder = Literal["er_fill_position", "fill_er_position", "er_position_fill", "shuffled"]
MdDuplicates = Literal["none", "resubscribe_doubles", "replay_on_reconnect"]
ServerHeartbeat = Literal["idle", "always", "sockjs_25s"]
ErrorD = Literal["string", "quoted_string"]

EVIDENCE_DEFAULT: Final[Mapping[str, Any]] = MappingProxyType(
    {
        # FAQ HowToHandleDataSizeLimits: eoh carries "the realtimeId"; every official JS client keeps only realtimeId packets.
        "chart_history_id": "realtime",
        # JS EX-11 README: a `db` packet and the eoh packet in one `charts` array.
        "chart_packing": "same_array",
        # Every official retail example omits entityTypes and still gets the snapshot (FAQ-USR, JS EX-07/EX-12, STRAT).
        "sync_entity_types": "optional",
        # The split format is not public; both official clients that could ask for it read one response per id.
        "sync_split": "single",
        # MD swagger: every md/* result has a required `mode` (RealTime, Delayed, None).
        "md_entitlement": "realtime",
        # DOC20 swagger (a captured accesstokenrequest response) and the FAQ large-chart example read mdAccessToken.
        "login_md_token": "present",
        # AccessTokenResponse has no mdAccessToken and no renewal example shows one.
        "renew_md_token": "absent",
        # The docs and the official clients disagree (MarketData.md vs JS TradovateSocket.js): accept both.
        "cancel_chart_id": "either",
        # Every concrete official example (Access.md, DOC20 swagger) has milliseconds and Z.
        "expiration_format": "millis",
        # partner.tradovate.com: "Access tokens expire after 80 minutes" (NT says 90; the shorter one is stricter).
        "token_lifetime": "80min",
        # Not public at all; the natural FIX order (report, then fill, then position) until a capture says otherwise.
        "props_order": "er_fill_position",
        # MarketData.md: one subscription per type per contract; subscriptions end with the socket.
        "md_duplicates": "none",
        # DOC20 heartbeats.md: a server streaming data does not send heartbeats.
        "server_heartbeat": "idle",
        # WebSockets.md: "d" is a string representation of error text (ISS#32, ISS#38 captures).
        "error_d": "string",
    }
)
"""Per switch, the value the public evidence supports best (docs/simulator.md "Variants" gives the sources)."""

KEPT_UNTIL_THE_PA_HANDLES_IT: Final[Mapping[str, Any]] = MappingProxyType({})
"""Switches whose evidence-based value the PA does not handle yet: the old behaviour stays the default for them.

Empty since issue 18 phase 2 (the PA tells history from live by position relative to `eoh` and routes each chart
packet by its own id): every default is the evidence. A switch the PA cannot follow yet goes here, with why.
"""

DEFAULT: Final[Mapping[str, Any]] = MappingProxyType({**EVIDENCE_DEFAULT, **KEPT_UNTIL_THE_PA_HANDLES_IT})
"""The effective default of every switch: the evidence, except where the PA still needs the old behaviour."""

TOKEN_LIFETIME_S: Final[Mapping[str, float]] = MappingProxyType({"80min": 80 * 60.0, "90min": 90 * 60.0})
SOCKJS_HEARTBEAT_S: Final = 25.0  # WebSockets.md (SockJS): "The typical delay is 25 seconds"


class VariantError(ValueError):
    """A switch or value that does not exist, or a variant spec or file that cannot be read."""


@dataclass(frozen=True)
class Variants:
    """One answer to every open question: the behaviour a simulator follows (defaults: `DEFAULT`)."""

    chart_history_id: ChartHistoryId = DEFAULT["chart_history_id"]
    chart_packing: ChartPacking = DEFAULT["chart_packing"]
    sync_entity_types: SyncEntityTypes = DEFAULT["sync_entity_types"]
    sync_split: SyncSplit = DEFAULT["sync_split"]
    md_entitlement: MdEntitlement = DEFAULT["md_entitlement"]
    login_md_token: TokenPresence = DEFAULT["login_md_token"]
    renew_md_token: TokenPresence = DEFAULT["renew_md_token"]
    cancel_chart_id: CancelChartId = DEFAULT["cancel_chart_id"]
    expiration_format: ExpirationFormat = DEFAULT["expiration_format"]
    token_lifetime: TokenLifetime = DEFAULT["token_lifetime"]
    props_order: PropsOrder = DEFAULT["props_order"]
    md_duplicates: MdDuplicates = DEFAULT["md_duplicates"]
    server_heartbeat: ServerHeartbeat = DEFAULT["server_heartbeat"]
    error_d: ErrorD = DEFAULT["error_d"]

    def __post_init__(self) -> None:
        for name, allowed in SWITCHES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise VariantError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")

    @classmethod
    def evidence(cls) -> Variants:
        """Every switch at the value the public evidence supports best."""
        return cls(**EVIDENCE_DEFAULT)

    @classmethod
    def parse(cls, spec: str, base: Variants | None = None) -> Variants:
        """A spec such as `evidence`, `default`, or `chart_history_id=historical+sync_split=multi_same_id`.

        Items are joined by `+` and apply left to right over `base` (default: `DEFAULT`): `default` and
        `evidence` set every switch, `switch=value` sets one.
        """
        values: dict[str, Any] = (base or cls()).as_dict()
        for raw in spec.split("+"):
            item = raw.strip()
            if item in ("", "default"):
                values.update(DEFAULT)
            elif item == "evidence":
                values.update(EVIDENCE_DEFAULT)
            elif "=" in item:
                name, _, value = item.partition("=")
                values[_switch(name.strip())] = value.strip()
            else:
                raise VariantError(f"{item!r} is not `default`, `evidence` or `switch=value` (switches: {_names()})")
        return cls(**values)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object], base: Variants | None = None) -> Variants:
        """`base` (default: `DEFAULT`) with the switches `mapping` names; an optional `base` key picks the start."""
        values: dict[str, Any] = (base or cls()).as_dict()
        for name, value in mapping.items():
            if name == "base":
                if value not in ("default", "evidence"):
                    raise VariantError(f"base must be 'default' or 'evidence', got {value!r}")
                values.update(DEFAULT if value == "default" else EVIDENCE_DEFAULT)
                continue
            if not isinstance(value, str):
                raise VariantError(f"{name}: the value must be a string, got {value!r}")
            values[_switch(name)] = value
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> Variants:
        """Read a JSON or TOML variants file: switch = value pairs at the top level or under `variants`."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
            data: object = tomllib.loads(text) if file.suffix.lower() == ".toml" else json.loads(text)
        except (OSError, ValueError) as error:
            raise VariantError(f"cannot read variants file {file}: {error}") from error
        if isinstance(data, dict) and isinstance(data.get("variants"), dict):
            data = data["variants"]
        if not isinstance(data, dict):
            raise VariantError(f"variants file {file}: expected an object of switch = value pairs")
        return cls.from_mapping(data)

    def with_changes(self, changes: Mapping[str, object]) -> Variants:
        """A copy with some switches changed (validated)."""
        return self.from_mapping(changes, base=self)

    def as_dict(self) -> dict[str, str]:
        """Switch name to value, in declaration order."""
        return {name: str(value) for name, value in asdict(self).items()}

    def differences(self, reference: Mapping[str, object] = DEFAULT) -> dict[str, str]:
        """The switches whose value differs from `reference` (by default, from the effective defaults)."""
        return {name: value for name, value in self.as_dict().items() if reference.get(name) != value}

    @property
    def label(self) -> str:
        """A spec that `parse` turns back into this value: `default`, or the changed switches joined by `+`."""
        changed = self.differences()
        return "+".join(f"{name}={value}" for name, value in changed.items()) if changed else "default"

    @property
    def token_lifetime_s(self) -> float:
        """Seconds from issue to `expirationTime`."""
        return TOKEN_LIFETIME_S[self.token_lifetime]


def _switch_values() -> dict[str, tuple[str, ...]]:
    hints = get_type_hints(Variants)
    return {item.name: tuple(get_args(hints[item.name])) for item in fields(Variants)}


SWITCHES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(_switch_values())
"""Every switch and its values, in declaration order."""


def _names() -> str:
    return ", ".join(SWITCHES)


def _switch(name: str) -> str:
    if name not in SWITCHES:
        raise VariantError(f"unknown switch {name!r}; switches: {_names()}")
    return name


def one_switch_at_a_time() -> list[Variants]:
    """The default, then every other value of every switch with the rest at their defaults (failures name a switch)."""
    found = [Variants()]
    for name, values in SWITCHES.items():
        found.extend(Variants(**{**DEFAULT, name: value}) for value in values if value != DEFAULT[name])
    return found


def covering_sample(count: int, seed: int) -> list[Variants]:
    """`count` variant sets in which switch values rotate from seeded offsets.

    Row k gives each switch its value `(k + offset) mod len(values)`, so any `count` of at least the largest
    number of values (`max_values()`) uses every value of every switch at least once; a smaller count is a
    partial sample, different for each seed.
    """
    if count < 1:
        raise VariantError(f"a sample needs at least one variant set, got {count}")
    rng = random.Random(seed)
    offsets = {name: rng.randrange(len(values)) for name, values in SWITCHES.items()}
    return [
        Variants.from_mapping({name: values[(row + offsets[name]) % len(values)] for name, values in SWITCHES.items()})
        for row in range(count)
    ]


def max_values() -> int:
    """The largest number of values any switch has: the smallest sample that covers every setting."""
    return max(len(values) for values in SWITCHES.values())


def uncovered(variant_sets: Iterable[Variants]) -> list[str]:
    """`switch=value` settings that none of `variant_sets` uses."""
    used = {(name, value) for variants in variant_sets for name, value in variants.as_dict().items()}
    return [f"{name}={value}" for name, values in SWITCHES.items() for value in values if (name, value) not in used]


class VariantState:
    """The variants a running simulator follows now: its configured ones, or what the control endpoint set."""

    def __init__(self, initial: Variants) -> None:
        self.initial = initial
        self.current = initial

    def update(self, changes: Mapping[str, object]) -> Variants:
        """Change some switches (validated as a whole: nothing changes on an error)."""
        self.current = self.current.with_changes(changes)
        return self.current

    def reset(self) -> Variants:
        """Back to the configured variants."""
        self.current = self.initial
        return self.current


class SwitchInfo(NamedTuple):
    """One switch as `--list-variants` and `GET /sim/variants` show it."""

    name: str
    values: tuple[str, ...]
    default: str
    evidence: str


def describe_switches() -> list[SwitchInfo]:
    """Every switch with its values, effective default and evidence-based default."""
    return [SwitchInfo(name, values, DEFAULT[name], EVIDENCE_DEFAULT[name]) for name, values in SWITCHES.items()]


__all__ = [
    "DEFAULT",
    "EVIDENCE_DEFAULT",
    "KEPT_UNTIL_THE_PA_HANDLES_IT",
    "SWITCHES",
    "SwitchInfo",
    "VariantError",
    "VariantState",
    "Variants",
    "covering_sample",
    "describe_switches",
    "max_values",
    "one_switch_at_a_time",
    "uncovered",
]
