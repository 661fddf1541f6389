"""Which of the simulator's variants an account showed: one answer per open question of the public sources.

The simulator has a switch for every Tradovate behaviour the public material leaves open (docs/simulator.md
"Variants"; `tradovate_sim/variants.py`). The probe's steps answer each switch's question on the account they run
against (`ProbeContext.showed`); the report lists, per switch, the value the account showed and why, and a
`pa sim --variant` spec that makes the simulator behave as the account did. The product does not import the
simulator: the switch names and values are repeated here, and `tests/probe` checks that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SWITCHES: Final[dict[str, tuple[str, ...]]] = {
    "chart_history_id": ("realtime", "historical"),
    "chart_packing": ("separate", "same_array", "merged"),
    "sync_entity_types": ("optional", "required"),
    "sync_split": ("single", "multi_same_id", "multi_null_lists"),
    "md_entitlement": ("realtime", "delayed", "none", "minimal"),
    "login_md_token": ("present", "absent"),
    "renew_md_token": ("present", "absent"),
    "cancel_chart_id": ("either", "historical_only", "realtime_only"),
    "expiration_format": ("millis", "seconds"),
    "token_lifetime": ("80min", "90min"),
    "props_order": ("er_fill_position", "fill_er_position", "er_position_fill", "shuffled"),
    "md_duplicates": ("none", "resubscribe_doubles", "replay_on_reconnect"),
    "server_heartbeat": ("idle", "always", "sockjs_25s"),
    "error_d": ("string", "quoted_string"),
}
"""Every switch of the simulator and its values (the same names and order as `tradovate_sim.variants.SWITCHES`)."""

QUESTIONS: Final[dict[str, str]] = {
    "chart_history_id": "Which id do chart history and `eoh` carry?",
    "chart_packing": "Do chart packets share a `charts` array (history with `eoh`; several subscriptions)?",
    "sync_entity_types": "Does `user/syncrequest` without `entityTypes` still hold the account's entities?",
    "sync_split": "What does `splitResponses: true` return?",
    "md_entitlement": "What do md subscriptions answer (`mode`, `errorText`)?",
    "login_md_token": "Does the login return `mdAccessToken`?",
    "renew_md_token": "Does the renewal return `mdAccessToken`?",
    "cancel_chart_id": "Which id does `md/cancelChart` take?",
    "expiration_format": "Does `expirationTime` have milliseconds?",
    "token_lifetime": "How long does a token live?",
    "props_order": "In what order do one fill's executionReport, fill and position events come?",
    "md_duplicates": "Is market data repeated (a second subscribe; after a reconnect)?",
    "server_heartbeat": "When does the server send `h`?",
    "error_d": "Is an error response's `d` a string, or a JSON-encoded string?",
}


@dataclass(frozen=True)
class VariantShown:
    """The answer the account gave to one switch's question (`value` None: the run could not tell)."""

    switch: str
    value: str | None
    step: str  # the probe step whose observation decided it
    observation: str

    def __post_init__(self) -> None:
        if self.switch not in SWITCHES:
            raise ValueError(f"unknown switch {self.switch!r}")
        if self.value is not None and self.value not in SWITCHES[self.switch]:
            raise ValueError(f"{self.switch}: {self.value!r} is not one of {', '.join(SWITCHES[self.switch])}")


def variant_spec(shown: list[VariantShown]) -> str:
    """A `pa sim --variant` spec with every switch the account showed a value for (`default` if none)."""
    values = {item.switch: item.value for item in shown if item.value is not None}
    return "+".join(f"{name}={values[name]}" for name in SWITCHES if name in values) or "default"


def completed(shown: list[VariantShown]) -> list[VariantShown]:
    """One answer per switch, in the switches' order: the first answer each got, else "not observed"."""
    first: dict[str, VariantShown] = {}
    for item in shown:
        if item.switch not in first or (first[item.switch].value is None and item.value is not None):
            first[item.switch] = item
    return [first.get(name) or VariantShown(name, None, "-", "not observed in this run") for name in SWITCHES]
