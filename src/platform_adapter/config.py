"""Settings: a TOML file plus `PA_*` environment overrides; credentials from env or secret files only.

Precedence (highest first): environment variables (`PA_MODE`, `PA_BACKOFF__MAX_S`, ...), the TOML file
(`--config` or `PA_CONFIG`), the embedded defaults (the simulator demo). Credentials are a separate
settings object that never reads the TOML: a `[credentials]` table there is an error.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import reprlib
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from platform_adapter.core.settings import (
    QTY_CEILING,
    CoreSettings,
    LeaseSettings,
    LedgerSettings,
    StopSettings,
    StrictModel,
)
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


class Timeframe(StrictModel):
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


class InstrumentSettings(StrictModel):
    """One configured instrument: what to subscribe to for it, and the intent gate's fat-finger limits (ADR 0010)."""

    symbol: str = Field(pattern=r"^[!-~]{1,32}$")  # a Tradovate contract name, e.g. ESZ6 (printable ASCII)
    timeframes: tuple[str, ...] = Field(default=(), max_length=16)
    quotes: bool = True
    dom: bool = False
    max_order_qty: int = Field(default=100, ge=1, le=QTY_CEILING)  # per submit / cancel-replace
    max_position: int | None = Field(default=None, ge=1, le=QTY_CEILING)  # |net position| after a submit; None: off
    price_band_pct: float | None = Field(default=None, gt=0, le=100)  # % around the last trade; None: off

    @field_validator("timeframes")
    @classmethod
    def _check_timeframes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            Timeframe.parse(text)
        return value

    @model_validator(mode="after")
    def _check_band_source(self) -> InstrumentSettings:
        if self.price_band_pct is not None and not self.quotes:
            raise ValueError(
                f"price_band_pct needs quotes = true for {self.symbol} (the last trade comes from the quote facts)"
            )
        return self

    def parsed_timeframes(self) -> tuple[Timeframe, ...]:
        """The timeframes as parsed values."""
        return tuple(Timeframe.parse(t) for t in self.timeframes)


class BackoffSettings(StrictModel):
    """Reconnect backoff: exponential from `initial_s` to `max_s` with jitter; PA_DOWN after `give_up_after_s`."""

    initial_s: float = Field(default=0.5, gt=0, le=3600)
    max_s: float = Field(default=30.0, gt=0, le=3600)
    multiplier: float = Field(default=2.0, ge=1, le=100)
    jitter: float = Field(default=0.2, ge=0, le=1)  # +/- fraction of each delay
    give_up_after_s: float = Field(default=300.0, gt=0, le=7 * 86400)

    @model_validator(mode="after")
    def _check_order(self) -> BackoffSettings:
        if self.max_s < self.initial_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= initial_s ({self.initial_s})")
        return self


class HeartbeatSettings(StrictModel):
    """Client heartbeats and liveness bounds (Tradovate expects `[]` every 2.5 s)."""

    client_interval_s: float = Field(default=2.5, gt=0, le=60)
    silence_timeout_s: float = Field(default=8.0, gt=0, le=3600)  # no frame at all for this long -> dead socket
    request_timeout_s: float = Field(default=10.0, gt=0, le=600)
    order_request_timeout_s: float = Field(default=5.0, gt=0, le=600)
    token_renew_before_s: float = Field(default=900.0, gt=0, le=86400)  # renew 15 min before expiry


class BudgetSettings(StrictModel):
    """The PA's own rolling-hour request limit, under Tradovate's 5,000 an hour (ADR 0016; discovery report §10.1).

    Reads (subscriptions, sync, look-ups) wait once `requests_per_hour - order_reserve` were sent in the last hour;
    orders are refused once `requests_per_hour` were; kill and flatten are never held back by it; logins and
    renewals are held to `auth_requests_per_minute` instead.
    """

    requests_per_hour: int = Field(default=3000, ge=10, le=100_000)
    order_reserve: int = Field(default=500, ge=0, le=100_000)
    # Logins and token renewals in a rolling minute (Tradovate publishes 10; more earn a penalty, then a captcha).
    auth_requests_per_minute: int = Field(default=5, ge=1, le=100)

    @model_validator(mode="after")
    def _check_reserve(self) -> BudgetSettings:
        if self.order_reserve >= self.requests_per_hour:
            raise ValueError(
                f"order_reserve ({self.order_reserve}) must be < requests_per_hour ({self.requests_per_hour})"
            )
        return self


class SimulatorSettings(StrictModel):
    """The built-in simulator used when `environment = "simulator"`."""

    seed: int = Field(default=1, ge=0, le=2**63 - 1)
    tick_interval_s: float = Field(default=0.25, gt=0, le=3600)
    user: str = Field(default="demo", max_length=128)
    password: str = Field(default="demo-password", max_length=128)


def _default_instruments() -> tuple[InstrumentSettings, ...]:
    return (
        InstrumentSettings(symbol="ESZ6", timeframes=("1m", "15s"), quotes=True),
        InstrumentSettings(symbol="NQZ6", timeframes=(), quotes=True, dom=True),
    )


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
SecretsPolicy = Literal["warn", "refuse"]


class Settings(BaseSettings):
    """The PA's effective configuration (no credentials: see `Credentials`)."""

    model_config = SettingsConfigDict(
        env_prefix="PA_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        validate_default=True,
        allow_inf_nan=False,
    )

    mode: Mode = Mode.LIVE
    environment: Environment = Environment.SIMULATOR
    rest_url: str | None = Field(default=None, pattern=r"^https?://\S+$")  # overrides the environment's endpoint
    trading_ws_url: str | None = Field(default=None, pattern=r"^wss?://\S+$")
    md_ws_url: str | None = Field(default=None, pattern=r"^wss?://\S+$")
    instruments: tuple[InstrumentSettings, ...] = Field(default_factory=_default_instruments)
    accounts: tuple[str, ...] = ()  # account names to trade; empty = every account of the user
    chart_history_bars: int = Field(default=100, gt=0, le=100_000)  # bars of history asked for per chart
    chart_history_ticks: int = Field(default=200, gt=0, le=100_000)  # ticks of history asked for per tick chart
    # user/syncrequest with `splitResponses: true` (B2B vendor keys must send it; ADR 0015). Off: one response,
    # the only answer whose completeness the PA can tell for sure.
    sync_split_responses: bool = False
    backoff: BackoffSettings = BackoffSettings()
    heartbeat: HeartbeatSettings = HeartbeatSettings()
    budget: BudgetSettings = BudgetSettings()
    outbox: OutboxSettings = OutboxSettings()
    ledger: LedgerSettings = LedgerSettings()
    lease: LeaseSettings = LeaseSettings()
    stop: StopSettings = StopSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    transport: str = "inproc"  # "inproc" or a nats:// URL
    log_dir: Path = Path("logs")
    state_dir: Path = Path("state")  # the intent ledger and the lease of the in-process transport (ADR 0012)
    log_level: LogLevel = "INFO"
    metrics_port: int = Field(default=0, ge=0, le=65535)  # 0 = no /metrics and /healthz endpoints
    secrets_permissions: SecretsPolicy = "warn"  # a secret file or directory open to others: warn, or refuse to start
    app_name: str = Field(default="platform-adapter", min_length=1, max_length=128)
    app_version: str = Field(default="0.1.0", min_length=1, max_length=64)

    @field_validator("transport")
    @classmethod
    def _check_transport(cls, value: str) -> str:
        if value != "inproc" and not value.startswith(("nats://", "tls://")):
            raise ValueError("transport must be 'inproc' or a nats:// URL")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_dir", "state_dir")
    @classmethod
    def _check_dir(cls, value: Path) -> Path:
        if "\x00" in str(value) or not str(value).strip():
            raise ValueError("must be a directory path (no NUL character, not empty)")
        return value

    @field_validator("instruments")
    @classmethod
    def _check_instruments(cls, value: tuple[InstrumentSettings, ...]) -> tuple[InstrumentSettings, ...]:
        if not value:
            raise ValueError(
                "configure at least one [[instruments]] table (the PA forwards configured instruments only)"
            )
        symbols = [i.symbol for i in value]
        repeated = sorted({s for s in symbols if symbols.count(s) > 1})
        if repeated:
            raise ValueError(f"each symbol may be configured once; repeated: {', '.join(repeated)}")
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
        # `load_settings` adds the TOML file's tables below the environment (see `_with_file`).
        return (init_settings, env_settings)

    def core(self) -> CoreSettings:
        """What `core` needs of the configuration (and nothing of Tradovate or the transports)."""
        return CoreSettings(mode=self.mode, outbox=self.outbox, ledger=self.ledger, lease=self.lease, stop=self.stop)

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


MASK = "**********"
"""What `pa config show` prints in place of a secret."""
SECRET_NAMES: frozenset[str] = frozenset({"password", "sec", "cid"})
"""Credential fields whose values are secrets (never shown, never logged)."""
MAX_CONFIG_BYTES = 1024 * 1024
"""A config file is a few KB; a larger one is refused before it is parsed."""
_CREDENTIAL_KEYS = frozenset({"credentials", "tradovate", "username", "password", "sec", "cid", "token"})
_ALLOWED_CREDENTIAL_PATHS = frozenset({("simulator", "user"), ("simulator", "password")})
_SECRET_WORDS = frozenset(
    {"password", "passwd", "secret", "token", "key", "apikey", "credential", "credentials", "sec", "cid"}
)
"""A key whose name is one of these, or ends in `_<one of these>` (`api_token`), holds a secret: never shown."""
_OTHER_VARIABLES = frozenset({"PA_CONFIG", "PA_SECRETS_DIR"})
_OTHER_PREFIXES = ("PA_TRADOVATE_", "PA_NATS_", "PA_BENCH_")  # credentials; the NATS user; the harness's bench
_show = reprlib.Repr()
_show.maxstring = 60
_show.maxother = 60
_show.maxlong = 40
_show.maxlevel = 2


def load_settings(config_path: Path | None = None) -> Settings:
    """Load the effective settings; raises ConfigError (one line: what is wrong, where, how to fix it)."""
    path = config_path or (Path(os.environ["PA_CONFIG"]) if os.environ.get("PA_CONFIG") else None)
    tables: dict[str, Any] = {}
    if path is not None:
        tables = _read_toml(path)
        _refuse_credentials_in_toml(tables, path)
    _refuse_unknown_environment()
    try:
        return _with_file(tables)()
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    except SettingsError as exc:  # an environment value that is not the JSON its key needs
        raise ConfigError(_describe_source_error(exc)) from None
    except RecursionError:
        raise ConfigError("a PA_* value is nested too deeply to read: check the JSON in PA_* variables") from None


def load_credentials(
    secrets_dir: Path | None = None, *, policy: SecretsPolicy = "warn", warnings: list[str] | None = None
) -> Credentials:
    """Load credentials from the environment and, if given or `PA_SECRETS_DIR` is set, a secrets directory.

    A secret file or directory that group or others may read or write is reported in `warnings`, or refused
    (ConfigError) when `policy` is "refuse". No value is ever part of an error.
    """
    directory = secrets_dir or (Path(os.environ["PA_SECRETS_DIR"]) if os.environ.get("PA_SECRETS_DIR") else None)
    if directory is not None and not directory.is_dir():
        raise ConfigError(f"secrets directory {str(directory)!r} does not exist (PA_SECRETS_DIR)")
    unknown = sorted(
        name
        for name in os.environ
        if name.upper().startswith("PA_TRADOVATE_")
        and name.upper().removeprefix("PA_TRADOVATE_").lower() not in Credentials.model_fields
    )
    if unknown:
        known = ", ".join("PA_TRADOVATE_" + f.upper() for f in Credentials.model_fields)
        raise ConfigError(f"unknown credential variable {unknown[0]} (known: {known})")
    for name, value in os.environ.items():
        if name.upper().startswith("PA_TRADOVATE_") and not _is_text(value):
            raise ConfigError(f"environment variable {name} is not valid UTF-8 text")
    if directory is not None:
        problems = _open_permissions(directory)
        if problems and policy == "refuse":
            raise ConfigError(
                f'{problems[0]}; fix with chmod go-rwx, or set secrets_permissions = "warn" to start anyway'
            )
        if warnings is not None:
            warnings.extend(f"{problem}; fix with chmod go-rwx" for problem in problems)
    try:
        return Credentials(_secrets_dir=directory)
    except ValidationError as exc:  # never echo: every value here may be a secret
        fields = ", ".join(_path(e["loc"]) for e in exc.errors())
        raise ConfigError(f"invalid credentials in {fields}: check PA_TRADOVATE_* and the secret files") from None
    except (SettingsError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"cannot read the credentials: {type(exc).__name__} (check PA_SECRETS_DIR)") from None


def shown(settings: Settings) -> dict[str, Any]:
    """The settings as JSON values with every secret-looking value masked (for `pa config show`)."""

    def mask(value: Any, key: str = "") -> Any:
        if key and _is_secret((key,)) and value is not None:
            return MASK
        if isinstance(value, dict):
            return {k: mask(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        return value

    masked: dict[str, Any] = mask(json.loads(settings.model_dump_json()))
    return masked


def _with_file(tables: dict[str, Any]) -> type[Settings]:
    """`Settings` with the TOML file's tables as a source below the environment."""

    class _FromFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=tables))

    return _FromFile


def _read_toml(path: Path) -> dict[str, Any]:
    where = f"config file {str(path)!r}"
    if not path.is_file():
        raise ConfigError(f"{where} does not exist (set --config or PA_CONFIG to a TOML file)")
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{where} is larger than {MAX_CONFIG_BYTES} bytes: is it the right file?")
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{where} nests arrays or tables too deeply to read") from None


def _refuse_credentials_in_toml(tables: dict[str, Any], path: Path) -> None:
    found = [
        key_path
        for key_path in _key_paths(tables)
        if key_path[-1].lower() in _CREDENTIAL_KEYS and key_path not in _ALLOWED_CREDENTIAL_PATHS
    ]
    if found:
        raise ConfigError(
            f"config file {str(path)!r} has {_path(found[0])}: credentials may not be in the config file; "
            "set PA_TRADOVATE_USERNAME / PA_TRADOVATE_PASSWORD / PA_TRADOVATE_APP_ID / PA_TRADOVATE_CID / "
            "PA_TRADOVATE_SEC / PA_TRADOVATE_DEVICE_ID in the environment or as files in PA_SECRETS_DIR"
        )


def _key_paths(value: Any, prefix: tuple[str, ...] = (), depth: int = 0) -> list[tuple[str, ...]]:
    """Every key path of a TOML document (tables and arrays of tables), shallowest first; bounded depth."""
    if depth > 16:  # no setting nests deeper; pydantic refuses such a value by its own path
        return []
    paths: list[tuple[str, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        here = (*prefix, key) if isinstance(key, str) else prefix
        if isinstance(key, str):
            paths.append(here)
        paths.extend(_key_paths(item, here, depth + 1))
    return paths


def _refuse_unknown_environment() -> None:
    for name, value in os.environ.items():
        upper = name.upper()
        if not upper.startswith("PA_"):
            continue
        if upper in _OTHER_VARIABLES or upper.startswith(_OTHER_PREFIXES):
            continue
        head = upper.removeprefix("PA_").split("__", 1)[0].lower()
        if head not in Settings.model_fields:
            hint = _suggest(head, Settings.model_fields)
            raise ConfigError(
                f"unknown environment variable {name}: not a PA setting{hint} "
                "(PA_<key>, PA_<table>__<key>, PA_CONFIG, PA_SECRETS_DIR, PA_TRADOVATE_*, PA_NATS_*)"
            )
        if not _is_text(value):
            raise ConfigError(f"environment variable {name} is not valid UTF-8 text")


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # os.environ holds undecodable bytes as lone surrogates
        return False
    return True


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" in {str(path)!r}" if path else ""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = _path(loc) or "(root)"
        env = _env_name(loc)
        fix = f"fix it in the TOML or via {env}" if env else "fix it in the TOML"
        if error["type"] == "extra_forbidden":
            known = _known_keys(loc[:-1])
            hint = _suggest(str(loc[-1]), known)
            problems.append(f"{field}: unknown key{hint} (known keys: {', '.join(known)}); remove or rename it")
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = "" if _is_secret(loc) else f" (got {_show.repr(error.get('input'))})"
        problems.append(f"{field}: {message}{shown}; {fix}")
    return f"invalid configuration{where}: " + "; ".join(problems)


def _describe_source_error(exc: SettingsError) -> str:
    match = re.search(r'field "([^"]+)"', str(exc))
    field = match.group(1) if match else "a setting"
    env = f"PA_{field.upper()}"
    return f'{env} is not valid JSON for {field}: give a JSON value (e.g. {env}=\'[{{"symbol":"ESZ6"}}]\')'


def _path(loc: tuple[Any, ...] | list[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _env_name(loc: tuple[Any, ...]) -> str | None:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):  # a list item: only the whole list has a variable (JSON)
            break
        parts.append(str(part))
    return "PA_" + "__".join(parts).upper() if parts else None


def _is_secret(loc: tuple[Any, ...]) -> bool:
    names = [str(part).lower() for part in loc if not isinstance(part, int)]
    return any(n in _SECRET_WORDS or n.rpartition("_")[2] in _SECRET_WORDS for n in names)


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the table at `loc` accepts."""
    model: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return sorted(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _suggest(key: str, known: Any) -> str:
    close = difflib.get_close_matches(key.lower(), [str(k) for k in known], n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _open_permissions(directory: Path) -> list[str]:
    """The secrets directory and files in it that group or others may read or write."""
    problems = []
    try:
        if directory.stat().st_mode & 0o066:
            problems.append(f"secrets directory {str(directory)!r} is open to group or others")
        for entry in sorted(directory.iterdir()):
            if entry.is_file() and entry.stat().st_mode & 0o066:
                problems.append(f"secret file {str(entry)!r} is readable or writable by group or others")
    except OSError as exc:
        problems.append(f"cannot check the permissions of {str(directory)!r}: {exc.strerror or exc}")
    return problems
