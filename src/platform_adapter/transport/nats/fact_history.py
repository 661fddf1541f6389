"""Where earlier PA runs' facts ended, read from the facts stream itself (the PA's `FactHistory` on NATS).

The stream keeps every fact U has not yet lost to retention, on `pa.facts.<kind>.<stream>.<scope>`: the last
message of a subject (JetStream's `last_by_subj` message get, the one read the `pa` user has besides the tail)
is the last fact of that kind and stream for that contract that U can read. A new tenure asks it where the
previous run stopped (`tradovate/resume.py`); nothing here writes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from platform_adapter.core.ports import FactHistoryUnavailable
from platform_adapter.mic import FactEnvelope, FactKind, Stream
from platform_adapter.mic.codec import DecodeError, decode_envelope
from platform_adapter.telemetry import get_logger
from platform_adapter.transport.nats.subjects import (
    FACT_STREAM,
    FACT_SUBJECT_PREFIX,
    FACT_SUBJECTS,
    MSG_ID_HEADER,
    fact_mismatch,
)

_log = get_logger("pa.nats.fact_history")


class NatsFactHistory:
    """The last fact kept in the facts stream for a (kind, stream, contract) selection."""

    def __init__(self, js: Any, stream: str = FACT_STREAM, *, timeout_s: float = 2.0) -> None:
        self._js = js
        self._stream = stream
        self._timeout_s = timeout_s

    async def last_fact(
        self, kind: FactKind | None = None, stream: Stream | None = None, contract_id: int | None = None
    ) -> FactEnvelope | None:
        """The stream's last message on the selection's subject, as a fact; None when it holds none."""
        subject = selection_subject(kind, stream, contract_id)
        try:
            async with asyncio.timeout(self._timeout_s):
                try:
                    message = await self._js.get_msg(self._stream, subject=subject)
                except NotFoundError:
                    if subject == FACT_SUBJECTS and await self._ever_stored():
                        # Interest retention: U acknowledged every fact, and the stream dropped them.
                        raise FactHistoryUnavailable(
                            f"{self._stream} no longer holds any fact (retention removed what U acknowledged): "
                            "where the previous PA run stopped is unknown"
                        ) from None
                    return None
        except (NatsError, TimeoutError) as exc:
            raise FactHistoryUnavailable(f"reading {self._stream} on {subject}: {type(exc).__name__}: {exc}") from exc
        data = message.data or b""
        try:
            envelope = decode_envelope(data)
        except DecodeError as exc:
            raise FactHistoryUnavailable(f"the last message on {subject} is not a fact ({exc})") from None
        problem = fact_mismatch(message.subject, (message.headers or {}).get(MSG_ID_HEADER), envelope)
        if problem is not None:  # the fact sink latches on such a tail too (docs/transport-nats.md §3)
            raise FactHistoryUnavailable(f"the last message on {subject} is not a fact of the PA's: {problem}")
        return envelope

    async def _ever_stored(self) -> bool:
        info = await self._js.stream_info(self._stream)
        return bool(info.state.last_seq)


def selection_subject(kind: FactKind | None, stream: Stream | None, contract_id: int | None) -> str:
    """The subject (with wildcards) of the facts a selection names: `pa.facts.>` when it names nothing."""
    if kind is None and stream is None and contract_id is None:
        return FACT_SUBJECTS
    scope = f"c{contract_id}" if contract_id is not None else "*"
    return f"{FACT_SUBJECT_PREFIX}.{kind.value if kind else '*'}.{stream.value if stream else '*'}.{scope}"
