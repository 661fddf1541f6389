"""Access tokens: requested with the app's credentials, renewed ahead of expiry, shared by REST and both sockets.

`POST auth/accesstokenrequest` with name, password, appId, appVersion, deviceId, cid, sec; a 200 with
`errorText` is a refusal; a penalty is waited out and the same body re-sent with its ticket (`RestClient`);
a captcha cannot be solved by a program. `GET auth/renewaccesstoken` extends the session before
`expirationTime` (partner.tradovate.com api/rest-api-endpoints/authentication/*; tradovate/api#50).
Getting and renewing are single-flight: concurrent callers share one request.

A refused login latches (ADR 0011): PA_DOWN `auth_rejected`, and no further login is sent until `release`
(the operator reloaded the credentials: SIGHUP, or a restart), because every refused login counts towards
Tradovate's captcha lock-out and the same credentials will be refused again.
"""

from __future__ import annotations

import asyncio
import hashlib
import platform as host_platform
from datetime import datetime
from typing import NoReturn

from platform_adapter.config import Credentials, Settings
from platform_adapter.core.clock import Clock
from platform_adapter.core.health import HealthMonitor
from platform_adapter.mic import HealthReason, HealthState
from platform_adapter.telemetry import get_logger, redactor
from platform_adapter.tradovate.errors import AuthFailed, AuthRejected, CaptchaRequired, RateLimited, Unauthorized
from platform_adapter.tradovate.protocol import AccessTokenResponse, decode_model
from platform_adapter.tradovate.rest import RestClient

_log = get_logger("pa.auth")
_AUTH_KEY = "auth"
_DEFAULT_LIFETIME_S = 80 * 60.0  # used only if expirationTime cannot be read (official pages say 80 or 90 min)


def stable_device_id(credentials: Credentials) -> str:
    """The configured device id, else a hash of user and host: stable across restarts (FAQ UnderstandingDeviceId)."""
    if credentials.device_id:
        return credentials.device_id
    seed = f"platform-adapter:{credentials.username or ''}:{host_platform.node()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


class TokenManager:
    """Holds the current access token and its market-data twin; renews before expiry."""

    def __init__(
        self, rest: RestClient, credentials: Credentials, settings: Settings, clock: Clock, health: HealthMonitor
    ) -> None:
        self._rest = rest
        self._credentials = credentials
        self._settings = settings
        self._clock = clock
        self._health = health
        self._token: str | None = None
        self._md_token: str | None = None
        self._expires_at = 0.0  # monotonic
        self._lifetime_s = _DEFAULT_LIFETIME_S
        self._inflight: asyncio.Task[None] | None = None
        self._rejected: AuthRejected | None = None  # the latched refusal: no login until `release`
        self._released = asyncio.Event()
        self.user_id: int | None = None
        self.user_name: str | None = None
        self.requests = 0
        self.renewals = 0

    @property
    def rejected(self) -> bool:
        """True while a refused login is latched (no login is sent until `release`)."""
        return self._rejected is not None

    async def access_token(self) -> str:
        """A valid access token, requesting one if there is none or it has lapsed (waits while latched)."""
        while self._token is None or self._clock.monotonic() >= self._expires_at:
            if self._rejected is not None:
                await self._released.wait()
                continue
            await self._single_flight(self._request)
        return self._token

    def release(self, credentials: Credentials | None = None) -> bool:
        """Take reloaded credentials and, if a refused login is latched, allow one new login; True if latched."""
        if credentials is not None:
            self._credentials = credentials
        if self._rejected is None:
            return False
        self._rejected = None
        self._released.set()
        self._health.raise_condition(
            _AUTH_KEY,
            HealthReason.AUTH_REJECTED,
            HealthState.DOWN,
            detail="credentials reloaded: logging in once more",
        )
        _log.warning("login_released", user=self._credentials.username or self._settings.simulator.user)
        return True

    async def md_token(self) -> str:
        """The market-data token: the `mdAccessToken` of the latest token response, else the access token."""
        token = await self.access_token()
        return self._md_token or token

    def invalidate(self, token: str | None = None) -> None:
        """Forget a token the platform refused (revoked, expired), so the next caller gets a fresh one.

        `token` may be the access token or its market-data twin: either one refused means the pair is dead.
        """
        if token is None or token in (self._token, self._md_token):
            self._token = None
            self._md_token = None
            self._rest.token = None

    async def renew_forever(self) -> None:
        """Renew the token `token_renew_before_s` before it expires, until cancelled."""
        while True:
            if self._token is None:
                await self._clock.sleep(1.0)
                continue
            # Renew `token_renew_before_s` ahead, but never sooner than half-way through the token's life:
            # a short-lived token must not be renewed in a loop.
            ahead = min(self._settings.heartbeat.token_renew_before_s, self._lifetime_s / 2)
            wait = self._expires_at - self._clock.monotonic() - ahead
            if wait > 0:
                await self._clock.sleep(min(wait, 60.0))
                continue
            try:
                await self._single_flight(self._renew)
            except (Unauthorized, AuthFailed) as exc:
                _log.warning("token_renewal_failed", error=str(exc))
                self.invalidate()
            except (CaptchaRequired, RateLimited) as exc:  # health already reports PA_DOWN
                _log.error("token_renewal_blocked", error=str(exc))
                await self._clock.sleep(60.0)
            except OSError as exc:
                _log.warning("token_renewal_failed", error=str(exc))
                await self._clock.sleep(5.0)

    async def _single_flight(self, action: object) -> None:
        if self._inflight is None or self._inflight.done():
            assert callable(action)
            self._inflight = asyncio.ensure_future(action())
            # Callers may be cancelled while it runs; the outcome is then read by the next caller or nobody.
            self._inflight.add_done_callback(lambda t: t.cancelled() or t.exception())
        await asyncio.shield(self._inflight)

    def _body(self) -> dict[str, object]:
        c = self._credentials
        cid = c.cid.get_secret_value() if c.cid else None
        body: dict[str, object] = {
            "name": c.username or self._settings.simulator.user,
            "password": (c.password.get_secret_value() if c.password else self._settings.simulator.password),
            "appId": c.app_id or self._settings.app_name,
            "appVersion": c.app_version or self._settings.app_version,
            "deviceId": stable_device_id(c),
        }
        if cid is not None:
            body["cid"] = int(cid) if cid.isdigit() else cid
        if c.sec is not None:
            body["sec"] = c.sec.get_secret_value()
        return body

    async def _request(self) -> None:
        self.requests += 1
        try:
            content = await self._rest.post("auth/accesstokenrequest", self._body(), auth=False)
        except (CaptchaRequired, RateLimited):
            raise
        self._accept(content, renewal=False)

    async def _renew(self) -> None:
        self.renewals += 1
        content = await self._rest.get("auth/renewaccesstoken")
        self._accept(content, renewal=True)

    def _reject(self, error_text: str) -> NoReturn:
        error = AuthRejected(error_text)
        self._rejected = error
        self._released.clear()
        self._health.raise_condition(
            _AUTH_KEY, HealthReason.AUTH_REJECTED, HealthState.DOWN, detail=_rejection_detail(error)
        )
        _log.error("login_rejected", error_text=error_text, latched=True)
        raise error

    def _accept(self, content: bytes, *, renewal: bool) -> None:
        response = decode_model(AccessTokenResponse, content)
        if not isinstance(response, AccessTokenResponse):
            raise AuthFailed(f"unreadable token response ({response})")
        if response.error_text and not renewal:
            self._reject(response.error_text)
        if response.error_text or not response.access_token:
            error = AuthFailed(response.error_text or "no accessToken in the response")
            self._health.raise_condition(
                _AUTH_KEY,
                HealthReason.AUTH_FAILED,
                HealthState.DOWN,
                detail=f"{error}: check PA_TRADOVATE_USERNAME / PASSWORD / APP_ID / CID / SEC",
            )
            raise error
        self._token = response.access_token
        # A renewal without `mdAccessToken` (its schema has none) leaves the login's md token to lapse at the login's
        # expiry: (re)connecting md sockets then authorize with the renewed access token (the official tutorials
        # authorize the md socket with `accessToken`), never with a stale md token that would cost a new session.
        self._md_token = response.md_access_token or None
        redactor().add(t for t in (self._token, self._md_token) if t)  # tokens are secrets too
        self._rest.token = self._token
        self._lifetime_s = _lifetime_s(response.expiration_time, self._clock)
        self._expires_at = self._clock.monotonic() + self._lifetime_s
        if response.user_id is not None:
            self.user_id = response.user_id
        if response.name:
            self.user_name = response.name
        self._health.clear(_AUTH_KEY)
        event = "token_renewed" if renewal else "token_acquired"
        _log.info(event, user_id=self.user_id, expires=response.expiration_time)


def _rejection_detail(error: AuthRejected) -> str:
    return (
        f"{error}. No further login is sent (each refused login counts towards Tradovate's captcha lock-out): fix "
        "PA_TRADOVATE_USERNAME / PASSWORD / APP_ID / CID / SEC, then restart the PA, or update the files in "
        "PA_SECRETS_DIR and send SIGHUP (kill -HUP <pid>) to log in once more"
    )


def _lifetime_s(expiration_time: str | None, clock: Clock) -> float:
    if not expiration_time:
        return _DEFAULT_LIFETIME_S
    try:
        expires = datetime.fromisoformat(expiration_time.replace("Z", "+00:00"))
    except ValueError:
        return _DEFAULT_LIFETIME_S
    return max(0.0, expires.timestamp() - clock.now_ns() / 1e9)
