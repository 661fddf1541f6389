"""Facts for transport tests: small envelopes with a known run id and delivery_seq."""

from __future__ import annotations

import msgspec

from platform_adapter.mic import FactEnvelope, FactKind, FactMode, Stream

RUN_ID = "run0001"


def fact(
    seq: int, *, run_id: str = RUN_ID, contract_id: int | None = 3512, account_id: int | None = None
) -> FactEnvelope:
    """One envelope; every fifth is an account-scoped platform event, the rest are quotes of one contract."""
    event = seq % 5 == 0
    return FactEnvelope(
        kind=FactKind.PLATFORM_EVENT if event else FactKind.MARKET,
        stream=Stream.PROPS if event else Stream.QUOTE,
        mode=FactMode.LIVE,
        recv_ts=1_764_081_000_000_000_000 + seq,
        connection="trading" if event else "md",
        connection_id="trading-1" if event else "md-1",
        epoch=1,
        delivery_seq=seq,
        run_id=run_id,
        payload=msgspec.Raw(b'{"e":"md","d":{"seq":%d}}' % seq),
        contract_id=None if event else contract_id,
        account_id=701234 if event else account_id,
    )


def facts(first: int, last: int, *, run_id: str = RUN_ID) -> list[FactEnvelope]:
    """Envelopes `first`..`last` inclusive."""
    return [fact(seq, run_id=run_id) for seq in range(first, last + 1)]
