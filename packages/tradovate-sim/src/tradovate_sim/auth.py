"""Credentials and access tokens: `auth/accesstokenrequest`, `auth/renewaccesstoken`, token checks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from tradovate_sim.config import SimConfig
from tradovate_sim.variants import VariantState
from tradovate_sim.wire import JsonObject, format_timestamp, format_timestamp_s

BAD_CREDENTIALS_TEXT = "Incorrect username or password. Please try again."


class TokenState(Enum):
    """Why a token is (not) usable."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass
class _Grant:
    user_id: int
    expires_at: float
    md_only: bool
    revoked: bool = False


class Authenticator:
    """Issues and checks tokens for the one configured user; tokens are seeded, so runs repeat."""

    def __init__(self, config: SimConfig, variants: VariantState) -> None:
        self._config = config
        self._variants = variants
        self._clock = config.clock
        self._rng = random.Random(f"{config.seed}:tokens")
        self._grants: dict[str, _Grant] = {}
        self.failed_logins = 0

    def credentials_ok(self, body: JsonObject) -> bool:
        """True when `name` and `password` match the configured user."""
        return body.get("name") == self._config.user and body.get("password") == self._config.password

    def login(self, body: JsonObject) -> JsonObject:
        """The AccessTokenResponse: tokens on good credentials, else only `errorText` (still HTTP 200)."""
        if not self.credentials_ok(body):
            self.failed_logins += 1
            return {"errorText": BAD_CREDENTIALS_TEXT}
        self.failed_logins = 0
        md_token = self._variants.current.login_md_token == "present"  # noqa: S105 - a switch value, not a secret
        return self._issue(with_md_token=md_token)

    def renew(self) -> JsonObject:
        """A fresh access token, for a caller whose token was already checked (the old one stays valid).

        Whether a new `mdAccessToken` comes with it is the `renew_md_token` variant; without one, the old md
        token keeps its old expiry.
        """
        md_token = self._variants.current.renew_md_token == "present"  # noqa: S105 - a switch value, not a secret
        return self._issue(with_md_token=md_token)

    def _issue(self, with_md_token: bool) -> JsonObject:
        variants = self._variants.current
        lifetime = self._config.token_lifetime_s
        expires_at = self._clock.wall() + (lifetime if lifetime is not None else variants.token_lifetime_s)
        stamp = format_timestamp if variants.expiration_format == "millis" else format_timestamp_s
        access = self._new_token()
        self._grants[access] = _Grant(self._config.user_id, expires_at, md_only=False)
        tokens: JsonObject = {"accessToken": access}
        if with_md_token:
            md_access = self._new_token()
            self._grants[md_access] = _Grant(self._config.user_id, expires_at, md_only=True)
            tokens["mdAccessToken"] = md_access
        return {
            **tokens,
            "expirationTime": stamp(int(expires_at * 1000)),
            "passwordExpirationTime": stamp(int((expires_at + 365 * 86400) * 1000)),
            "userStatus": "Active",
            "userId": self._config.user_id,
            "name": self._config.user,
            "hasLive": False,
        }

    def _new_token(self) -> str:
        return "sim" + "".join(f"{self._rng.getrandbits(32):08x}" for _ in range(8))

    def check(self, token: str | None, md_socket: bool = False) -> tuple[TokenState, int | None]:
        """State of a token and its user; `mdAccessToken` is accepted only on the market-data socket."""
        grant = self._grants.get(token) if token else None
        if grant is None or (grant.md_only and not md_socket):
            return TokenState.UNKNOWN, None
        if grant.revoked:
            return TokenState.REVOKED, grant.user_id
        if self._clock.wall() >= grant.expires_at:
            return TokenState.EXPIRED, grant.user_id
        return TokenState.VALID, grant.user_id

    def revoke(self, token: str | None = None) -> int:
        """Revoke one token, or every token when None; returns how many."""
        grants = [self._grants[token]] if token in self._grants else [] if token else list(self._grants.values())
        for grant in grants:
            grant.revoked = True
        return len(grants)

    def expire(self) -> int:
        """Make every token expire now; returns how many."""
        now = self._clock.wall()
        for grant in self._grants.values():
            grant.expires_at = min(grant.expires_at, now)
        return len(self._grants)
