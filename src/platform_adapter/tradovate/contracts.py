"""Reference data loaded at start: configured symbols resolved to contract ids, and the user's accounts.

`contract/find?name=ESZ6` returns `{"id","name","contractMaturityId","status","providerTickSize"}`
(tradovate example-api-faq WhatIsTheEntitySystemAndHowDoesItWork; api-doc `/{entity}/find`);
`account/list` returns the user's accounts. An unknown symbol or account name stops the PA with an error naming
it (a `ConfigError`: `pa run` exits 2 with that one line).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from platform_adapter.config import InstrumentSettings, Settings
from platform_adapter.telemetry import get_logger
from platform_adapter.tradovate.errors import PlatformStatusError, TradovateError, UnknownAccount, UnknownSymbol
from platform_adapter.tradovate.protocol import DECODE_ERRORS, Account, Contract, decode_model
from platform_adapter.tradovate.rest import RestClient

_log = get_logger("pa.contracts")


@dataclass(frozen=True, slots=True)
class Instrument:
    """A configured symbol and what Tradovate says about it."""

    symbol: str
    contract_id: int
    tick_size: float | None
    settings: InstrumentSettings


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """Instruments by symbol and contract id, accounts by id."""

    instruments: dict[str, Instrument]
    by_contract: dict[int, Instrument]
    accounts: dict[int, Account]


async def load_reference_data(rest: RestClient, settings: Settings) -> ReferenceData:
    """Resolve every configured symbol and list the accounts; raises UnknownSymbol for a symbol Tradovate lacks."""
    instruments: dict[str, Instrument] = {}
    for configured in settings.instruments:
        try:
            content = await rest.get("contract/find", {"name": configured.symbol})
        except PlatformStatusError as exc:
            if exc.status == 404:
                raise UnknownSymbol(configured.symbol, "contract/find answered 404") from None
            raise
        contract = decode_model(Contract, content)
        if not isinstance(contract, Contract) or contract.id is None:
            raise UnknownSymbol(configured.symbol, f"contract/find answered {content[:120]!r}")
        instruments[configured.symbol] = Instrument(
            configured.symbol, contract.id, contract.provider_tick_size, configured
        )
        _log.info("instrument_resolved", symbol=configured.symbol, contract_id=contract.id)
    content = await rest.get("account/list")
    try:
        listed = msgspec.json.decode(content, type=list[Account])
    except DECODE_ERRORS:
        raise TradovateError(
            f"account/list answered something that is not a list of accounts: {content[:120]!r}"
        ) from None
    accounts = {a.id: a for a in listed if a.id is not None and (not settings.accounts or a.name in settings.accounts)}
    if settings.accounts:
        missing = set(settings.accounts) - {a.name for a in accounts.values()}
        if missing:
            raise UnknownAccount(sorted(missing))
    return ReferenceData(instruments, {i.contract_id: i for i in instruments.values()}, accounts)
