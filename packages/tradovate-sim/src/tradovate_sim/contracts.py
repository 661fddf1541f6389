"""The simulated contract library: a few real futures with their real tick sizes and stable ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tradovate_sim.wire import JsonObject


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """One tradable contract and the product facts the market and P&L need."""

    id: int
    name: str
    product: str
    product_id: int
    maturity_id: int
    tick_size: float
    value_per_point: float
    start_price: float
    expiration_month: int
    expiration_date: str
    description: str
    exchange_id: int

    @property
    def price_decimals(self) -> int:
        """Decimal places of a price on this contract's tick grid (0.25 → 2, 0.01 → 2)."""
        exponent = Decimal(str(self.tick_size)).as_tuple().exponent
        return max(0, -int(exponent))

    def price(self, ticks: int) -> float | int:
        """Price of an integer number of ticks: `70.12`, not `70.12000000000001`; whole prices as ints.

        Whole prices go out as JSON integers, as in the docs' samples (`"low":2333`), so clients must
        accept both number forms.
        """
        value = round(ticks * self.tick_size, self.price_decimals)
        return int(value) if value.is_integer() else value

    def ticks(self, price: float) -> int | None:
        """Integer ticks of a price, or None when the price is off the tick grid."""
        exact = price / self.tick_size
        nearest = round(exact)
        if abs(exact - nearest) > 1e-6:
            return None
        return int(nearest)

    def as_contract(self) -> JsonObject:
        """The `contract/item` JSON (DOCS `/{entity}/item` example shape)."""
        return {
            "id": self.id,
            "name": self.name,
            "contractMaturityId": self.maturity_id,
            "status": "DefinitionChecked",
            "providerTickSize": self.tick_size,
        }

    def as_maturity(self) -> JsonObject:
        """The `contractMaturity/item` JSON."""
        return {
            "id": self.maturity_id,
            "productId": self.product_id,
            "expirationMonth": self.expiration_month,
            "expirationDate": self.expiration_date,
            "archived": False,
            "seqNo": 1,
            "isFront": True,
        }

    def as_product(self) -> JsonObject:
        """The `product/item` JSON."""
        return {
            "id": self.product_id,
            "name": self.product,
            "currencyId": 1,
            "productType": "Futures",
            "description": self.description,
            "exchangeId": self.exchange_id,
            "status": "Verified",
            "months": "HMUZ" if self.product != "CL" else "FGHJKMNQUVXZ",
            "valuePerPoint": self.value_per_point,
            "priceFormatType": "Decimal",
            "priceFormat": -self.price_decimals,
            "tickSize": self.tick_size,
        }


ESZ6 = ContractSpec(
    id=3570918,
    name="ESZ6",
    product="ES",
    product_id=2164,
    maturity_id=52150,
    tick_size=0.25,
    value_per_point=50.0,
    start_price=6850.0,
    expiration_month=202612,
    expiration_date="2026-12-18T14:30:00.000Z",
    description="E-Mini S&P 500",
    exchange_id=1,
)
NQZ6 = ContractSpec(
    id=3570925,
    name="NQZ6",
    product="NQ",
    product_id=814,
    maturity_id=52152,
    tick_size=0.25,
    value_per_point=20.0,
    start_price=25100.0,
    expiration_month=202612,
    expiration_date="2026-12-18T14:30:00.000Z",
    description="E-Mini NASDAQ 100",
    exchange_id=1,
)
MESZ6 = ContractSpec(
    id=3570931,
    name="MESZ6",
    product="MES",
    product_id=2792,
    maturity_id=52154,
    tick_size=0.25,
    value_per_point=5.0,
    start_price=6850.0,
    expiration_month=202612,
    expiration_date="2026-12-18T14:30:00.000Z",
    description="Micro E-mini S&P 500",
    exchange_id=1,
)
CLF7 = ContractSpec(
    id=3570947,
    name="CLF7",
    product="CL",
    product_id=2176,
    maturity_id=52160,
    tick_size=0.01,
    value_per_point=1000.0,
    start_price=61.50,
    expiration_month=202701,
    expiration_date="2026-12-21T19:30:00.000Z",
    description="Crude Oil",
    exchange_id=2,
)

DEFAULT_CONTRACTS: tuple[ContractSpec, ...] = (ESZ6, NQZ6, MESZ6, CLF7)

GENERATED_PREFIX = "SIM"
_GENERATED_FIRST_ID = 4_000_001  # above every real id in the catalog, so a generated id never shadows one
MAX_GENERATED = 9_999


def generated_contracts(count: int) -> tuple[ContractSpec, ...]:
    """`count` made-up contracts `SIM0001Z6`, `SIM0002Z6`, ... for load tests (`pa sim --contracts N`).

    Each is its own product (`SIM0001`, ...) with ES's tick grid and value, a start price spread so no two walk
    the same path from the same level, and ids that collide with no default contract. They are not Tradovate
    contracts: a name a client shows a person says so (`SIM`).
    """
    if not 0 <= count <= MAX_GENERATED:
        raise ValueError(f"generated contracts: 0 to {MAX_GENERATED}, not {count}")
    contracts: list[ContractSpec] = []
    for index in range(1, count + 1):
        product = f"{GENERATED_PREFIX}{index:04d}"
        contracts.append(
            ContractSpec(
                id=_GENERATED_FIRST_ID + index,
                name=f"{product}Z6",
                product=product,
                product_id=_GENERATED_FIRST_ID + MAX_GENERATED + index,
                maturity_id=_GENERATED_FIRST_ID + 2 * MAX_GENERATED + index,
                tick_size=0.25,
                value_per_point=50.0,
                start_price=1000.0 + 25.0 * index,
                expiration_month=202612,
                expiration_date="2026-12-18T14:30:00.000Z",
                description=f"Simulated contract {index}",
                exchange_id=1,
            )
        )
    return tuple(contracts)


class ContractCatalog:
    """Looks contracts up by id, by name, or by `@PRODUCT` (continuous contract → the front month)."""

    def __init__(self, contracts: Iterable[ContractSpec] = DEFAULT_CONTRACTS) -> None:
        self._contracts = tuple(contracts)
        self._by_id = {contract.id: contract for contract in self._contracts}
        self._by_name = {contract.name.upper(): contract for contract in self._contracts}
        self._front = {contract.product.upper(): contract for contract in reversed(self._contracts)}

    @property
    def contracts(self) -> tuple[ContractSpec, ...]:
        """All contracts, in catalog order (which fixes the order of per-step trades)."""
        return self._contracts

    def by_id(self, contract_id: int) -> ContractSpec | None:
        """The contract with this id."""
        return self._by_id.get(contract_id)

    def by_name(self, name: str) -> ContractSpec | None:
        """The contract with this name (case-insensitive)."""
        return self._by_name.get(name.upper())

    def resolve(self, symbol: object) -> ContractSpec | None:
        """A market-data `symbol`: contract name, contract id (int or digits), or `@ES` continuous."""
        if isinstance(symbol, bool):
            return None
        if isinstance(symbol, int):
            return self.by_id(symbol)
        if not isinstance(symbol, str) or not symbol:
            return None
        if symbol.isdigit():
            return self.by_id(int(symbol))
        if symbol.startswith("@"):
            return self._front.get(symbol[1:].upper())
        return self.by_name(symbol)

    def suggest(self, text: str, limit: int) -> list[ContractSpec]:
        """Contracts whose name starts with `text` (case-insensitive), at most `limit`."""
        prefix = text.upper()
        return [contract for contract in self._contracts if contract.name.upper().startswith(prefix)][: max(0, limit)]
