"""Where the probe connects, and the guard that keeps it off funded accounts.

Tradovate's hosts say which environment they serve: `demo.tradovateapi.com` (simulated money),
`live.tradovateapi.com` (funded), `md.tradovateapi.com` (market data for both; it tells nothing)
(example-api-faq HowIsTheTradovateApiPartitioned). The probe runs on demo; a live or unrecognised host
needs `--force-live`, and orders (P7) never run anywhere but demo or the loopback simulator.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from platform_adapter.config import TRADOVATE_ENDPOINTS, Environment


class TargetKind(StrEnum):
    """What kind of Tradovate the URLs point at."""

    SIMULATOR = "simulator"  # loopback: the built-in simulator (or a replay)
    DEMO = "demo"
    LIVE = "live"
    UNKNOWN = "unknown"  # a host the probe cannot vouch for: treated like live


class ProbeRefused(Exception):
    """The probe will not run as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """The three endpoints and what they are."""

    rest_url: str
    trading_ws_url: str
    md_ws_url: str
    kind: TargetKind

    @property
    def funded_risk(self) -> bool:
        """True unless the probe is sure this is demo or loopback."""
        return self.kind in (TargetKind.LIVE, TargetKind.UNKNOWN)

    def describe(self) -> str:
        """One line for the output and the capture header."""
        return f"{self.kind.value}: REST {self.rest_url}, trading {self.trading_ws_url}, market data {self.md_ws_url}"


def resolve_target(
    environment: str = "demo",
    *,
    rest_url: str | None = None,
    trading_ws_url: str | None = None,
    md_ws_url: str | None = None,
) -> ProbeTarget:
    """The endpoints of `environment` (demo | live) with any URL overrides, classified by host."""
    try:
        env = Environment(environment)
    except ValueError:
        raise ProbeRefused(f"--environment must be demo or live, not {environment!r}") from None
    if env is Environment.SIMULATOR and not (rest_url and trading_ws_url and md_ws_url):
        raise ProbeRefused(
            "--environment simulator needs --rest-url, --trading-ws-url and --md-ws-url (the URLs `pa sim` prints)"
        )
    base = TRADOVATE_ENDPOINTS.get(env, ("", "", ""))
    rest, trading, md = rest_url or base[0], trading_ws_url or base[1], md_ws_url or base[2]
    kinds = [_host_kind(rest), _host_kind(trading), _md_host_kind(md)]
    if env is Environment.LIVE or TargetKind.LIVE in kinds:
        kind = TargetKind.LIVE
    elif TargetKind.UNKNOWN in kinds:
        kind = TargetKind.UNKNOWN
    elif TargetKind.DEMO in kinds:
        kind = TargetKind.DEMO
    else:
        kind = TargetKind.SIMULATOR
    return ProbeTarget(rest, trading, md, kind)


def check_target(target: ProbeTarget, *, force_live: bool) -> None:
    """Refuse a live or unrecognised target unless forced."""
    if target.funded_risk and not force_live:
        raise ProbeRefused(
            f"refusing to probe a {target.kind.value} Tradovate environment ({target.rest_url}): the probe is for "
            "demo accounts. Use --environment demo, or pass --force-live if you really mean a funded account "
            "(read-only steps only; P7 never places orders there)"
        )


def orders_refusal(target: ProbeTarget, *, allow_orders: bool) -> str | None:
    """Why P7 may not place its test order here, or None when it may."""
    if not allow_orders:
        return "not run: P7 places an order only with --allow-orders"
    if target.kind not in (TargetKind.DEMO, TargetKind.SIMULATOR):
        return f"not run: P7 places orders only on demo or the loopback simulator, never on {target.kind.value}"
    return None


def _hostname(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_kind(url: str) -> TargetKind:
    host = _hostname(url)
    if _is_loopback(host):
        return TargetKind.SIMULATOR
    if host.startswith("live"):
        return TargetKind.LIVE
    if host.startswith("demo"):
        return TargetKind.DEMO
    return TargetKind.UNKNOWN


def _md_host_kind(url: str) -> TargetKind:
    host = _hostname(url)
    if _is_loopback(host):
        return TargetKind.SIMULATOR
    # The market-data host is shared by demo and live (md.tradovateapi.com): it is neutral.
    return TargetKind.DEMO if host.startswith("md") else _host_kind(url)
