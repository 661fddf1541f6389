"""Masks secrets out of captured frames before anything is written.

Two layers, because a capture is shared with people who must never see a credential:
1. by position: the `authorize` frame's token, the credential fields of `auth/accesstokenrequest`, and the
   token fields of every token response are replaced by `[REDACTED]` (field names stay, so P1 can still
   report which fields exist);
2. by value: every known secret (password, API secret, every token seen so far) is replaced wherever it
   appears, using the same redactor as the logs (`telemetry.SecretRedactor`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from platform_adapter.telemetry import REDACTED, SecretRedactor

SECRET_FIELDS: Final = frozenset({"password", "sec", "cid", "accessToken", "mdAccessToken", "access_token"})
"""JSON fields whose values are credentials or tokens, wherever they appear in a body."""

TOKEN_FIELDS: Final = ("accessToken", "mdAccessToken", "access_token")
_HIDDEN_HEADERS: Final = frozenset({"set-cookie", "authorization", "cookie"})


class CaptureMasker:
    """Turns a frame or body into its shareable form; learns tokens as they are issued."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values = SecretRedactor(secrets)

    def learn(self, secrets: Iterable[str]) -> None:
        """Add secret values (tokens issued during the run)."""
        self._values.add(s for s in secrets if s and s != REDACTED)

    def text(self, text: str) -> str:
        """Mask every known secret value in free text (output, error messages)."""
        return self._values.redact_text(text)

    def ws_send(self, text: str) -> str:
        """A client frame: the `authorize` token by position, then every known value."""
        endpoint, sep, rest = text.partition("\n")
        if sep and endpoint.strip().lower() == "authorize":
            request_id, _, _ = rest.partition("\n")
            return f"{endpoint}\n{request_id}\n\n{REDACTED}"
        return self.text(text)

    def body(self, text: str) -> str:
        """A JSON body (REST request or response): token fields learnt and masked, then every known value."""
        try:
            value = json.loads(text)
        except ValueError:
            return self.text(text)
        self.learn(_tokens_in(value))
        if not _has_secret_field(value):
            return self.text(text)
        return self.text(json.dumps(_masked(value), separators=(",", ":"), ensure_ascii=False))

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Response headers with cookies hidden and known values masked."""
        shown: dict[str, str] = {}
        for name, value in headers:
            shown[name] = REDACTED if name.lower() in _HIDDEN_HEADERS else self.text(value)
        return shown


def _tokens_in(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TOKEN_FIELDS and isinstance(item, str):
                found.append(item)
            else:
                found.extend(_tokens_in(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_tokens_in(item))
    return found


def _has_secret_field(value: Any) -> bool:
    if isinstance(value, dict):
        return any(key in SECRET_FIELDS or _has_secret_field(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_secret_field(item) for item in value)
    return False


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: (REDACTED if key in SECRET_FIELDS else _masked(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value
