"""Settings: a TOML file plus `PA_*` environment overrides; credentials from env or secret files only.

Precedence (highest first): environment variables (`PA_MODE`, `PA_BACKOFF__MAX_S`, ...), the TOML file
(`--config` or `PA_CONFIG`), the embedded defaults (the simulator demo). Credentials are a separate
settings object that never reads the TOML: a `[credentials]` table there is an error.
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from platform_adapter.core.settings import CoreSettings
from platform_adapter.core.settings import Mode as Mode  # re-exported: the mode is configuration
from platform_adapter.core.settings import OutboxSettings as OutboxSettings  # re-exported: configuration


class ConfigError(Exception):
    """A configuration problem, phrased so a person can fix it (field, problem, fix)."""


class Environment(StrEnum):
    """Which Tradovate to talk to."""

    SIMULATOR = "simulator"  # the built-in simulator on 127.0.0.1 (the default; never a real host)
    DEMO = "demo"
    LIVE = "live"


# Public hosts (tradovate/example-api-faq docs/HowIsTheTradovateApiPartitioned.md). Used only when a user
# configures `environment = "demo"` or `"live"`; nothing in the tests or the demo ever selects them.
TRADOVATE_ENDPOINTS: dict[Environment, tuple[str, str, str]] = {
    Environment.DEMO: (
        "https://demo.tradovateapi.com/v1",
        "wss://demo.tradovateapi.com/v1/websocket",
        "wss://md.tradovateapi.com/v1/websocket",
    ),
    Environment.LIVE: (
        "https://live.tradovateapi.com/v1",
        "wss://live.tradovateapi.com/v1/websocket",
        "wss://md.tradovateapi.com/v1/websocket",
    ),
}

_TIMEFRAME = re.compile(r"^(?P<size>[1-9][0-9]*)(?P<unit>s|m|h|d)$")


class Timeframe(BaseModel, frozen=True):
    """A configured timeframe such as `1s`, `15s`, `1m`, `5m`, `1h`, `1d`."""

    size: int
    unit: Literal["s", "m", "h", "d"]

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        """Parse `15s` / `1m` / `1h` / `1d`; raises ValueError naming the accepted forms."""
        match = _TIMEFRAME.match(text.strip())
        if match is None:
            raise ValueError(f"timeframe {text!r} is not of the form <n>s, <n>m, <n>h or <n>d (e.g. 15s, 1m, 1d)")
        return cls(size=int(match["size"]), unit=match["unit"])

    def __str__(self) -> str:
        return f"{self.size}{self.unit}"

    @property
    def seconds(self) -> int:
        """Length of the timeframe in seconds."""
        return self.size * {"s": 1, "m": 60, "h": 3600, "d": 86400}[self.unit]


class InstrumentSettings(BaseModel, frozen=True):
    """One configured instrument: what to subscribe to for it."""

    symbol: str = Field(min_length=1)
    timeframes: tuple[str, ...] = ()
    quotes: bool = True
    dom: bool = False

    @field_validator("timeframes")
    @classmethod
    def _check_timeframes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            Timeframe.parse(text)
        return value

    def parsed_timeframes(self) -> tuple[Timeframe, ...]:
        """The timeframes as parsed values."""
        return tuple(Timeframe.parse(t) for t in self.timeframes)


class BackoffSettings(BaseModel, frozen=True):
    """Reconnect backoff: exponential from `initial_s` to `max_s` with jitter; PA_DOWN after `give_up_after_s`."""

    initial_s: float = Field(default=0.5, gt=0)
    max_s: float = Field(default=30.0, gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.2, ge=0, le=1)  # +/- fraction of each delay
    give_up_after_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _check_order(self) -> BackoffSettings:
        if self.max_s < self.initial_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= initial_s ({self.initial_s})")
        return self


class HeartbeatSettings(BaseModel, frozen=True):
    """Client heartbeats and liveness bounds (Tradovate expects `[]` every 2.5 s)."""

    client_interval_s: float = Field(default=2.5, gt=0)
    silence_timeout_s: float = Field(default=8.0, gt=0)  # no frame at all for this long -> dead socket
    request_timeout_s: float = Field(default=10.0, gt=0)
    order_request_timeout_s: float = Field(default=5.0, gt=0)
    token_renew_before_s: float = Field(default=900.0, gt=0)  # renew 15 min before expiry


class SimulatorSettings(BaseModel, frozen=True):
    """The built-in simulator used when `environment = "simulator"`."""

    seed: int = 1
    tick_interval_s: float = Field(default=0.25, gt=0)
    user: str = "demo"
    password: str = "demo-password"  # noqa: S105 - the simulator's documented default, not a secret


def _default_instruments() -> tuple[InstrumentSettings, ...]:
    return (
        InstrumentSettings(symbol="ESZ6", timeframes=("1m", "15s"), quotes=True),
        InstrumentSettings(symbol="NQZ6", timeframes=(), quotes=True, dom=True),
    )


class Settings(BaseSettings):
    """The PA's effective configuration (no credentials: see `Credentials`)."""

    model_config = SettingsConfigDict(
        env_prefix="PA_", env_nested_delimiter="__", extra="forbid", frozen=True, validate_default=True
    )

    mode: Mode = Mode.LIVE
    environment: Environment = Environment.SIMULATOR
    rest_url: str | None = None  # overrides the environment's endpoint
    trading_ws_url: str | None = None
    md_ws_url: str | None = None
    instruments: tuple[InstrumentSettings, ...] = Field(default_factory=_default_instruments)
    accounts: tuple[str, ...] = ()  # account names to trade; empty = every account of the user
    chart_history_bars: int = Field(default=100, gt=0)  # bars of history asked for with each chart subscription
    chart_history_ticks: int = Field(default=200, gt=0)  # ticks of history asked for with each tick chart
    backoff: BackoffSettings = BackoffSettings()
    heartbeat: HeartbeatSettings = HeartbeatSettings()
    outbox: OutboxSettings = OutboxSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    transport: str = "inproc"  # "inproc" or a nats:// URL
    log_dir: Path = Path("logs")
    log_level: str = "INFO"
    metrics_port: int = Field(default=0, ge=0, le=65535)  # 0 = no /metrics endpoint
    app_name: str = "platform-adapter"
    app_version: str = "0.1.0"

    @field_validator("transport")
    @classmethod
    def _check_transport(cls, value: str) -> str:
        if value != "inproc" and not value.startswith(("nats://", "tls://")):
            raise ValueError("transport must be 'inproc' or a nats:// URL")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file (if any) is set per load by `load_settings`, through `model_config["toml_file"]`.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def core(self) -> CoreSettings:
        """What `core` needs of the configuration (and nothing of Tradovate or the transports)."""
        return CoreSettings(mode=self.mode, outbox=self.outbox)

    def endpoints(self) -> tuple[str, str, str]:
        """(REST base, trading socket, market-data socket) after overrides."""
        base = TRADOVATE_ENDPOINTS.get(self.environment, ("", "", ""))
        return (self.rest_url or base[0], self.trading_ws_url or base[1], self.md_ws_url or base[2])


class Credentials(BaseSettings):
    """Tradovate credentials: from `PA_TRADOVATE_*` variables or files in the secrets directory only."""

    model_config = SettingsConfigDict(env_prefix="PA_TRADOVATE_", extra="ignore", frozen=True)

    username: str | None = None
    password: SecretStr | None = None
    app_id: str | None = None
    app_version: str | None = None
    cid: SecretStr | None = None
    sec: SecretStr | None = None
    device_id: str | None = None

    def secret_values(self) -> list[str]:
        """Every secret value, for the log redactor."""
        return [s.get_secret_value() for s in (self.password, self.cid, self.sec) if s is not None]


def load_settings(config_path: Path | None = None) -> Settings:
    """Load the effective settings; raises ConfigError naming the field and the fix."""
    path = config_path or (Path(os.environ["PA_CONFIG"]) if os.environ.get("PA_CONFIG") else None)
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist (set --config or PA_CONFIG to a TOML file)")
        _refuse_credentials_in_toml(path)
    settings_cls: type[Settings] = Settings
    if path is not None:

        class _FromFile(Settings):
            model_config = SettingsConfigDict(toml_file=path)

        settings_cls = _FromFile
    try:
        return settings_cls()
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def load_credentials(secrets_dir: Path | None = None) -> Credentials:
    """Load credentials from the environment and, if given or `PA_SECRETS_DIR` is set, a secrets directory."""
    directory = secrets_dir or (Path(os.environ["PA_SECRETS_DIR"]) if os.environ.get("PA_SECRETS_DIR") else None)
    if directory is not None and not directory.is_dir():
        raise ConfigError(f"secrets directory {str(directory)!r} does not exist (PA_SECRETS_DIR)")
    try:
        return Credentials(_secrets_dir=directory)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, None)) from None


def _refuse_credentials_in_toml(path: Path) -> None:
    import tomllib

    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    forbidden = {"credentials", "tradovate", "password", "sec", "cid", "username"} & set(data)
    if forbidden:
        raise ConfigError(
            f"config file {str(path)!r} has {sorted(forbidden)}: credentials may not be in the config file; "
            "set PA_TRADOVATE_USERNAME / PA_TRADOVATE_PASSWORD / PA_TRADOVATE_APP_ID / PA_TRADOVATE_CID / "
            "PA_TRADOVATE_SEC / PA_TRADOVATE_DEVICE_ID in the environment or as files in PA_SECRETS_DIR"
        )


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" in {str(path)!r}" if path else ""
    lines = [f"invalid configuration{where}:"]
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "(root)"
        env = "PA_" + "__".join(str(p) for p in error["loc"] if not isinstance(p, int)).upper()
        lines.append(f"  - {field}: {error['msg']} (got {error.get('input')!r}; fix it in the TOML or via {env})")
    return "\n".join(lines)
